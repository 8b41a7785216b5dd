import type { Redis } from 'ioredis';
import type { InstanceSpec } from '../driver.ts';
import { recoverStuckAof } from './aof-problem.ts';
import { nodePaths } from './instance-paths.ts';
import { nodeSettings, type LocalContext } from './local-context.ts';
import {
  applyNodePassword,
  applyNodeSettings,
  passwordMatches,
  readNodeState,
  settingsMatch,
  type NodeState,
} from './node-state.ts';
import { POLL_MS, sleep } from './redis-node.ts';

/**
 * Brings a running node's class settings and password to the spec, live, touching only what differs:
 * an adopted healthy node costs no writes. Returns whether anything was changed.
 */
export async function convergeNode(
  ctx: LocalContext,
  client: Redis,
  state: NodeState,
  spec: InstanceSpec,
  port: number,
): Promise<boolean> {
  let changed = false;
  const settings = nodeSettings(ctx, spec);
  if (!settingsMatch(state, settings)) {
    await applyNodeSettings(client, settings);
    ctx.logger.info({ instanceId: spec.id, port, ...settings }, 'node settings converged');
    changed = true;
  }
  if (await recoverStuckAof(client, state, nodePaths(ctx.dataDir, spec.id, port).dir)) {
    ctx.logger.warn({ instanceId: spec.id, port }, 'AOF write error persisted with free disk space; AOF restarted');
    changed = true;
  }
  if (!passwordMatches(state, spec.passwordSha256)) {
    await applyNodePassword(client, spec.passwordSha256);
    ctx.logger.info({ instanceId: spec.id, port }, 'node password converged');
    changed = true;
  }
  return changed;
}

/** Polls a node until `done(state)` holds; throws naming `what` after `timeoutMs`. */
export async function waitForNodeState(
  client: Redis,
  done: (state: NodeState) => boolean,
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<NodeState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await readNodeState(client);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS, signal);
  }
}
