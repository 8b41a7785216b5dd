import { eventDetail } from '../../../src/client/event-detail.ts';
import type { InstanceEvent } from '../api/console-api.ts';
import { ApiErrorView } from './api-error-view.tsx';

/** How many events the detail page asks for and shows (the API keeps up to 200 per instance). */
export const EVENTS_SHOWN = 15;

/**
 * The instance's recent events (status changes with their reasons, tasks, health findings, repairs),
 * newest first. The detail page fetches them in its own refresh, so they update on its polling.
 */
export function InstanceEvents({ events, error }: { events: InstanceEvent[] | null; error: unknown }) {
  const newestFirst = events ? [...events].reverse() : null;
  return (
    <section aria-labelledby="events-title" className="events">
      <h2 id="events-title">Recent events</h2>
      <ApiErrorView error={error} />
      {newestFirst === null ? (
        error ? null : <p>Loading…</p>
      ) : newestFirst.length === 0 ? (
        <p>No events yet.</p>
      ) : (
        <table aria-labelledby="events-title" aria-describedby="events-caption">
          <caption id="events-caption" className="muted">Latest {newestFirst.length}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {newestFirst.map((e, i) => (
              <tr key={`${e.time}/${i}/${e.type}`}>
                <td>
                  <time dateTime={e.time} title={e.time}>
                    {shortTime(e.time)}
                  </time>
                </td>
                <td className="event-type">{e.type}</td>
                <td className="event-detail">{eventDetail(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** `2026-12-03 20:01:02` in the browser's time zone: short enough for a phone; the exact UTC time is the title. */
function shortTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
