import type { Redis } from 'ioredis';
import { type LocalSpec } from './local-spec.ts';
import { recoverStuckAof } from './aof-problem.ts';
import { nodePaths } from './instance-paths.ts';
import { nodeSettings, type LocalContext } from './local-context.ts';
import { aclDifference } from './acl-rules.ts';
import { luaMemoryProblems } from './lua-memory.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { expectedAclRules } from './node-conf.ts';
import { tenantAclOf } from './topology-handler.ts';
import {
  applyAclUsers,
  applyNodePassword,
  applyNodeSettings,
  passwordMatches,
  readNodeState,
  settingsMatch,
  tenantConfigDifference,
  type NodeState,
} from './node-state.ts';
import { POLL_MS, sleep } from './redis-node.ts';

/**
 * Brings a running node's class settings, password, ACL users and TLS files to the spec, live, touching
 * only what differs: an adopted healthy node costs no writes. Returns whether anything was changed.
 */
export async function convergeNode(
  ctx: LocalContext,
  client: Redis,
  state: NodeState,
  spec: LocalSpec,
  port: number,
  creds: InstanceCredentials,
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
  const config = tenantConfigDifference(state, spec.redisConfig);
  if (config.size > 0) {
    // One CONFIG SET for all of them: Redis 7 applies them together or not at all.
    await client.call('CONFIG', 'SET', ...[...config].flat());
    ctx.logger.info({ instanceId: spec.id, port, parameters: [...config.keys()] }, 'node parameters converged to what the tenant set');
    changed = true;
  }
  const rules = expectedAclRules(spec.passwordSha256, creds, tenantAclOf(spec));
  const acl = aclDifference(state.aclList, await ctx.aclCanon(rules));
  if (acl !== null) {
    await applyAclUsers(client, rules);
    ctx.logger.warn({ instanceId: spec.id, port, difference: acl }, 'node ACL users differed from what the control plane wrote; restored');
    changed = true;
  } else if (!passwordMatches(state, spec.passwordSha256)) {
    await applyNodePassword(client, spec.passwordSha256);
    ctx.logger.info({ instanceId: spec.id, port }, 'node password converged');
    changed = true;
  }
  if (luaMemoryProblems(state.info, state.maxmemoryBytes).some((p) => p.action === 'script-flush')) {
    // ASYNC: the heap is freed in the background; scripts a client calls again are simply reloaded.
    await client.call('SCRIPT', 'FLUSH', 'ASYNC');
    ctx.logger.warn({ instanceId: spec.id, port, luaBytes: Number(state.info.get('used_memory_vm_eval')) }, 'Lua scripts held more memory than the class allows; script cache flushed');
    changed = true;
  }
  if (state.tlsCertFile !== creds.tls.certFile) {
    // Redis rebuilds its TLS context on this CONFIG SET; links already up keep their sessions.
    await client.call('CONFIG', 'SET', 'tls-cert-file', creds.tls.certFile, 'tls-key-file', creds.tls.keyFile, 'tls-ca-cert-file', creds.tls.caFile);
    ctx.logger.info({ instanceId: spec.id, port, generation: creds.tls.generation }, 'node TLS certificate converged');
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
