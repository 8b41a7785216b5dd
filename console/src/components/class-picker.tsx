import { useEffect, useState } from 'react';
import type { InstanceClass } from '../../../src/client/api-types.ts';
import type { ConsoleApi } from '../api/console-api.ts';
import { ApiErrorView } from './api-error-view.tsx';

/** Classes from describeInstanceClass for one region, version and type, as radio buttons with memory and connections. */
export function ClassPicker(props: { api: ConsoleApi; region: string; redisVersion: string; instanceType: string; value: string; onChange: (cls: string) => void }) {
  const { api, region, redisVersion, instanceType, value, onChange } = props;
  const [classes, setClasses] = useState<InstanceClass[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    api.instanceClasses(region, redisVersion).then(
      (r) => current && setClasses(r.instanceClasses),
      (err: unknown) => current && setError(err),
    );
    return () => {
      current = false;
    };
  }, [api, region, redisVersion]);
  const shown = classes.filter((c) => c.instanceType === instanceType);
  return (
    <fieldset className="class-picker">
      <legend>Instance class</legend>
      <ApiErrorView error={error} />
      {shown.map((c) => (
        <label key={c.instanceClass} className="class-option">
          <input type="radio" name="cacheInstanceClass" value={c.instanceClass} checked={value === c.instanceClass} onChange={() => onChange(c.instanceClass)} />
          <span className="class-name">{c.instanceClass}</span>
          <span className="muted">
            {c.memoryMB >= 1024 ? `${c.memoryMB / 1024} GB` : `${c.memoryMB} MB`} · {c.maxConnection} connections
          </span>
        </label>
      ))}
      {shown.length === 0 && !error ? <p className="muted">No {instanceType} classes for Redis {redisVersion} here.</p> : null}
    </fieldset>
  );
}
