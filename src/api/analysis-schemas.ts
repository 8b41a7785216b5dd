import { Type } from '@sinclair/typebox';
import { SIZE_MAX, TOP_MAX, TOP_MIN } from '../domain/analysis/analysis-rules.ts';
import { envelope } from './schemas.ts';

/**
 * Wire model of cache analysis (reference §5 ops 13-17, 41-59; JD's CacheAnalysis, RedisKey, RedisCmd,
 * RedisBigKey, ClusterCacheAnalysis, BigKeyAnalysisNode, HotKeyAnalysisNode, RedisHotKey). Types and
 * lengths here; ranges and formats in the domain, whose refusals name the field and the rule.
 */
const size = (what: string) => Type.Optional(Type.Integer({ description: `the ${what} threshold, an integer of at most ${SIZE_MAX}` }));
export const ThresholdsBody = Type.Object({
  stringSize: size('string (bytes)'),
  listSize: size('list (elements)'),
  hashSize: size('hash (fields)'),
  setSize: size('set (members)'),
  zsetSize: size('zset (members)'),
  top: Type.Optional(Type.Integer({ description: `an integer from ${TOP_MIN} to ${TOP_MAX}` })),
});
export const AnalysisTimeBody = Type.Object({
  analysisTime: Type.String({ maxLength: 64, description: '- (off) or a daily window such as "01:00-02:00 +0800"' }),
});
export const DateQuery = Type.Object({ date: Type.String({ maxLength: 32, description: 'a day yyyy-MM-dd' }) });
export const TaskIdQuery = Type.Object({ taskId: Type.String({ minLength: 1, maxLength: 100, description: 'a taskId from the analysis list' }) });
export const TaskIdParams = Type.Object({
  regionId: Type.String({ minLength: 1, maxLength: 32, description: 'region id, e.g. cn-north-1' }),
  cacheInstanceId: Type.String({ minLength: 1, maxLength: 64, description: 'instance id, e.g. redis-abc123xyz0' }),
  taskId: Type.String({ minLength: 1, maxLength: 100, description: 'a taskId from the analysis list' }),
});
const pageNumber = Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'an integer from 1 to 1000000' }));
const pageSize = Type.Optional(Type.Integer({ minimum: 10, maximum: 100, description: 'an integer from 10 to 100' }));
const time = (what: string) => Type.Optional(Type.String({ maxLength: 64, description: `${what}, an RFC 3339 time such as 2026-01-02T03:04:05Z` }));
export const PageQuery = Type.Object({ pageNumber, pageSize });
export const HotKeyDetailQuery = Type.Object({ nodeId: Type.String({ minLength: 1, maxLength: 128, description: 'a nodeId from the hot key result' }), pageNumber, pageSize });
export const WindowQuery = Type.Object({ startTime: time('the window start'), endTime: time('the window end') });
export const HotKeyWindowDetailQuery = Type.Object({ ...HotKeyDetailQuery.properties, ...WindowQuery.properties });

const analysisItem = Type.Object({ analysisTime: Type.String(), taskId: Type.String(), status: Type.String() });
const redisKey = Type.Object({ name: Type.String(), db: Type.Integer(), size: Type.Integer(), keyType: Type.String(), frequency: Type.Integer() });
const redisCmd = Type.Object({ name: Type.String(), data: Type.Integer() });
const bigKey = Type.Object({ name: Type.String(), db: Type.Integer(), size: Type.Integer() });
const counts = Type.Record(Type.String(), Type.Integer());
const sizes = {
  stringSize: Type.Integer(),
  listSize: Type.Integer(),
  hashSize: Type.Integer(),
  setSize: Type.Integer(),
  zsetSize: Type.Integer(),
};
const hotNode = Type.Object({ nodeId: Type.String(), nodeRole: Type.String(), hotKeyNum: Type.Integer() });
const hotKey = Type.Object({ key: Type.String(), accessTime: Type.String(), accessCount: Type.Integer(), db: Type.Integer() });

export const AnalysisResponses = {
  time: envelope(Type.Object({ time: Type.String() })),
  started: envelope(Type.Object({ taskId: Type.String() })),
  list: envelope(Type.Object({ analyses: Type.Array(analysisItem) })),
  result: envelope(
    Type.Object({
      startTime: Type.String(),
      finishTime: Type.String(),
      analysisType: Type.Integer(),
      stringBigKeys: Type.Array(redisKey),
      otherBigKeys: Type.Array(redisKey),
      hotKeys: Type.Array(redisKey),
      cmdCallTimesTop: Type.Array(redisCmd),
      cmdUseCpuTop: Type.Array(redisCmd),
      keyTypeDistribution: counts,
      keySizeDistribution: counts,
    }),
  ),
  bigKeyDetail: envelope(
    Type.Object({
      startTime: Type.String(),
      finishTime: Type.String(),
      analysisType: Type.Integer(),
      stringBigKeys: Type.Array(bigKey),
      hashBigKeys: Type.Array(bigKey),
      listBigKeys: Type.Array(bigKey),
      zsetBigKeys: Type.Array(bigKey),
      setBigKeys: Type.Array(bigKey),
    }),
  ),
  thresholds: envelope(Type.Object({ ...sizes, topSize: Type.Integer() })),
  thresholds2: envelope(Type.Object(sizes)),
  list2: envelope(
    Type.Object({
      cacheAnalysisList: Type.Array(
        Type.Object({ analysisTime: Type.String(), taskId: Type.String(), analysisDuration: Type.String(), downloadUrl: Type.String(), status: Type.String() }),
      ),
      totalCount: Type.Integer(),
    }),
  ),
  detail2: envelope(
    Type.Object({
      taskId: Type.String(),
      ...sizes,
      status: Type.String(),
      analysisTime: Type.String(),
      analysisDuration: Type.String(),
      bigKeyAnalysisNodesList: Type.Array(
        Type.Object({
          nodeId: Type.String(),
          nodeRole: Type.String(),
          stringTypeNum: Type.String(),
          listTypeNum: Type.String(),
          setTypeNum: Type.Integer(),
          hashTypeNum: Type.Integer(),
          zsetTypeNum: Type.Integer(),
        }),
      ),
    }),
  ),
  hotNodes: envelope(Type.Object({ hotKeyAnalysisNodesList: Type.Array(hotNode) })),
  hotKeys: envelope(Type.Object({ hotHeys: Type.Array(hotKey), totalCount: Type.Integer() })),
};
