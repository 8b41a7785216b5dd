import { useState } from 'react';
import type { CacheInstance } from '../../../src/client/api-types.ts';
import type { ConsoleApi, InstanceEvent } from '../api/console-api.ts';
import { ApiErrorView } from '../components/api-error-view.tsx';
import { InstanceActions } from '../components/instance-actions.tsx';
import { InstanceCharts } from '../components/instance-charts.tsx';
import { EVENTS_SHOWN, InstanceEvents } from '../components/instance-events.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { connectionSnippets } from '../snippets.ts';
import { go } from '../use-hash-route.ts';
import { usePoll } from '../use-poll.ts';

/**
 * One instance: status (with the reason in `error`), endpoint, snippets, class, recent events, live
 * charts and actions. The instance and its events are fetched together every 2 s (one polling loop);
 * either failing shows its own API error and keeps the other.
 */
export function InstanceDetail({ api, region, id }: { api: ConsoleApi; region: string; id: string }) {
  const [instance, setInstance] = useState<CacheInstance | null>(null);
  const [error, setError] = useState<unknown>();
  const [events, setEvents] = useState<InstanceEvent[] | null>(null);
  const [eventsError, setEventsError] = useState<unknown>();
  const [copied, setCopied] = useState(false);

  const refresh = async (): Promise<void> => {
    const [described, listed] = await Promise.allSettled([api.describe(region, id), api.events(region, id, EVENTS_SHOWN)]);
    if (described.status === 'fulfilled') {
      setInstance(described.value.cacheInstance);
      setError(undefined);
    } else {
      setError(described.reason);
    }
    if (listed.status === 'fulfilled') {
      setEvents(listed.value.events);
      setEventsError(undefined);
    } else {
      setEventsError(listed.reason);
    }
  };
  usePoll(refresh, 2_000, [api, region, id]);

  if (!instance) {
    return (
      <section>
        <h1>{id}</h1>
        {error ? <ApiErrorView error={error} /> : <p>Loading…</p>}
      </section>
    );
  }
  const endpoint = `${instance.connectionDomain}:${instance.port}`;
  const reason = (instance.extension as { statusReason?: string } | undefined)?.statusReason;
  const copy = async (): Promise<void> => {
    await navigator.clipboard.writeText(endpoint);
    setCopied(true);
  };
  return (
    <section aria-labelledby="detail-title">
      <div className="title-row">
        <h1 id="detail-title">{instance.cacheInstanceName}</h1>
        <StatusBadge status={instance.cacheInstanceStatus} />
      </div>
      {instance.cacheInstanceStatus === 'error' && reason ? (
        <p className="error" role="status">
          Reason: {reason}
        </p>
      ) : null}
      <ApiErrorView error={error} />
      <dl className="facts">
        <dt>ID</dt>
        <dd>{instance.cacheInstanceId}</dd>
        <dt>Endpoint</dt>
        <dd>
          <code data-testid="endpoint">{endpoint}</code>{' '}
          <button type="button" onClick={() => void copy()}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        </dd>
        <dt>Class</dt>
        <dd data-testid="class">{instance.cacheInstanceClass}</dd>
        <dt>Memory</dt>
        <dd>
          {instance.cacheInstanceMemoryMB} MB{instance.shardNumber && instance.shardNumber > 1 ? ` in ${instance.shardNumber} shards` : ''}
        </dd>
        <dt>Version</dt>
        <dd>{instance.redisVersion}</dd>
        <dt>Password</dt>
        <dd data-testid="auth">{instance.auth === false ? 'password-free' : 'required'}</dd>
        {instance.cacheInstanceDescription ? (
          <>
            <dt>Description</dt>
            <dd>{instance.cacheInstanceDescription}</dd>
          </>
        ) : null}
      </dl>
      <details className="snippets">
        <summary>Connect</summary>
        {connectionSnippets(instance.connectionDomain, instance.port, instance.auth !== false).map((s) => (
          <div key={s.label}>
            <h3>{s.label}</h3>
            {/* Focusable: a snippet wider than a phone scrolls, and a keyboard must reach it (axe: scrollable-region-focusable). */}
            <pre tabIndex={0} aria-label={`${s.label} snippet`}>
              <code>{s.code}</code>
            </pre>
          </div>
        ))}
      </details>
      <InstanceEvents events={events} error={eventsError} />
      <InstanceCharts api={api} region={region} id={id} />
      <InstanceActions api={api} region={region} instance={instance} onChanged={refresh} onDeleted={() => go()} />
    </section>
  );
}
