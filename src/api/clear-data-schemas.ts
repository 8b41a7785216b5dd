import { Type } from '@sinclair/typebox';
import {
  CLEAR_TYPES,
  FILTER_OPERATORS,
  FILTER_TYPES,
  MAX_FILTER_VALUE,
  MAX_KEY_FILTERS,
  MAX_KEY_PATTERN,
  QPS_MAX,
  QPS_MIN,
} from '../domain/clear-data/clear-data-request.ts';

/**
 * Wire model of the data purge (reference §5 ops 38-40; JD's StartClearDataRequest, KeyFilter and
 * ClearDataTaskInfo). Types and lengths here; values (clearType, ranges) in the domain, whose refusals
 * name the field and the rule. `description` is the rule a validation error names.
 */
const keyFilter = Type.Object(
  {
    filterType: Type.String({ maxLength: 16, description: `one of ${FILTER_TYPES.join(', ')}` }),
    operator: Type.String({ maxLength: 16, description: `one of ${FILTER_OPERATORS.join(', ')}` }),
    value: Type.Integer({ description: `an integer from 0 to ${MAX_FILTER_VALUE} (seconds)` }),
  },
  { description: 'an object with filterType, operator and value' },
);

export const StartClearDataBody = Type.Object({
  clearType: Type.String({ maxLength: 32, description: `one of ${CLEAR_TYPES.join(', ')}` }),
  keyPattern: Type.Optional(Type.String({ maxLength: MAX_KEY_PATTERN, description: `a Redis glob such as test*, at most ${MAX_KEY_PATTERN} characters` })),
  keyFilter: Type.Optional(Type.Array(keyFilter, { maxItems: MAX_KEY_FILTERS, description: `at most ${MAX_KEY_FILTERS} filters` })),
  qpsLimit: Type.Optional(Type.Integer({ description: `an integer from ${QPS_MIN} to ${QPS_MAX}` })),
});

const ClearDataTaskInfo = Type.Object({
  clearType: Type.String(),
  keyPattern: Type.String(),
  keyFilter: Type.Array(Type.Object({ filterType: Type.String(), operator: Type.String(), value: Type.Integer() })),
  qpsLimit: Type.Integer(),
  progress: Type.Integer(),
  effectKeys: Type.Integer(),
  status: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String(),
});

/**
 * describeClearData's result: the JS SDK (redis 2.6.24) documents it as `clearDataTaskInfo`, the Go SDK
 * (2.7.x) reads the same fields from `result` itself; both are sent. Empty when no purge ever ran.
 */
export const DescribeClearDataResponse = {
  200: Type.Object({
    requestId: Type.String(),
    result: Type.Object({ ...Type.Partial(ClearDataTaskInfo).properties, clearDataTaskInfo: Type.Optional(ClearDataTaskInfo) }),
  }),
};
