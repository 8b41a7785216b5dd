/**
 * What the engine reports as it works: typed events that metrics, the event history and a console can
 * subscribe to. Each is also kept in the store (instance_events), so an instance's recent history is
 * queryable after a restart and from every service process. Status changes are recorded where they happen
 * (domain/instances/instance-status.ts), in the same transaction.
 */
export type EngineEvent =
  | { type: 'task-started'; instanceId: string; taskId: number; kind: string; attempt: number }
  | { type: 'task-finished'; instanceId: string; taskId: number; kind: string; ms: number }
  | { type: 'task-progressing'; instanceId: string; taskId: number; kind: string; reason: string; retryAfterMs: number }
  | { type: 'task-failed'; instanceId: string; taskId: number; kind: string; attempts: number; error: string; final: boolean }
  | { type: 'unhealthy'; instanceId: string; problems: string[] }
  | { type: 'repaired'; instanceId: string; problems: string[]; ms: number }
  | { type: 'repair-failed'; instanceId: string; failures: number; error: string };

export type EngineEventListener = (event: EngineEvent) => void;
