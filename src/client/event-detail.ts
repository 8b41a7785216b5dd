import type { InstanceEvent } from './api-types.ts';

/**
 * One line saying what an event of GET …/events was about: a status change's `from → to: reason`, a
 * task's kind and outcome, a health finding's problems. Shared by `jcs-redis events` and the web
 * console, so both word an event the same way. Unknown types show their fields as JSON.
 */
export function eventDetail(e: InstanceEvent): string {
  const d = e.data;
  const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
  switch (e.type) {
    case 'status':
      return `${str(d.from)} → ${str(d.to)}: ${str(d.reason)}`;
    case 'task-started':
      return `${str(d.kind)} (attempt ${str(d.attempt)})`;
    case 'task-finished':
      return `${str(d.kind)} in ${str(d.ms)} ms`;
    case 'task-failed':
      return `${str(d.kind)} attempt ${str(d.attempts)}${d.final ? ', gave up' : ''}: ${str(d.error)}`;
    case 'task-progressing':
      return `${str(d.kind)}: ${str(d.reason)}`;
    case 'unhealthy':
    case 'repaired':
      return Array.isArray(d.problems) ? d.problems.map(str).join('; ') : '';
    case 'repair-failed':
      return `${str(d.failures)}x: ${str(d.error)}`;
    default:
      return JSON.stringify(d);
  }
}
