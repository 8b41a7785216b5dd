import { type LocalSpec } from './local-spec.ts';
import { aclDifference } from './acl-rules.ts';
import { aofProblem } from './aof-problem.ts';
import { nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { nodeSettings, type LocalContext } from './local-context.ts';
import { passwordMatches, settingsMatch, tenantConfigDifference, type NodeState } from './node-state.ts';
import { expectedAclRules } from './node-conf.ts';
import { tenantAclOf } from './topology-handler.ts';
import { luaMemoryProblems } from './lua-memory.ts';

/**
 * What is wrong with one running node, whatever its topology: identity (port and conf), class settings,
 * password and ACL users (a user the control plane did not write is a backdoor), data still loading,
 * persistence failing, Lua heap over budget; and, as drift that does not make it unhealthy, a TLS
 * certificate of an older CA generation (after a rotation).
 */
export async function nodeProblems(
  ctx: LocalContext,
  spec: LocalSpec,
  creds: InstanceCredentials,
  label: string,
  port: number,
  state: NodeState,
): Promise<{ problems: string[]; drift: string[] }> {
  const problems: string[] = [];
  const drift: string[] = [];
  const paths = nodePaths(ctx.dataDir, spec.id, port);
  if (state.configFile === paths.conf && state.tcpPort === 0) {
    // A restore closes the client port while it loads (tenants refused); one cut short leaves it closed.
    problems.push(`${label} ${port}: its client port is closed (a restore did not reopen it)`);
  } else if (state.tcpPort !== port || state.configFile !== paths.conf) {
    problems.push(`${label} ${port}: the node behind its socket runs port ${state.tcpPort} with ${state.configFile || 'no conf'}`);
  }
  const settings = nodeSettings(ctx, spec);
  if (!settingsMatch(state, settings)) {
    problems.push(
      `${label} ${port} settings differ: maxmemory ${state.maxmemoryBytes}/${settings.maxmemoryBytes}, ` +
        `maxclients ${state.maxclients}/${settings.maxClients}, policy ${state.maxmemoryPolicy}/${settings.maxmemoryPolicy}`,
    );
  }
  // The tenant's parameters, accounts and disabled commands are part of what the node must run: a
  // difference is repaired like any other, and the users the control plane wrote are never a backdoor.
  const config = tenantConfigDifference(state, spec.redisConfig);
  if (config.size > 0) problems.push(`${label} ${port}: parameter(s) ${[...config.keys()].join(', ')} differ from what the tenant set`);
  const acl = aclDifference(state.aclList, await ctx.aclCanon(expectedAclRules(spec.passwordSha256, creds, tenantAclOf(spec))));
  if (acl !== null) problems.push(`${label} ${port}: ${acl}`);
  else if (!passwordMatches(state, spec.passwordSha256)) problems.push(`${label} ${port} password differs from the spec`);
  if (state.tlsCertFile !== creds.tls.certFile) drift.push(`${label} ${port} runs TLS certificate ${state.tlsCertFile}, not generation ${creds.tls.generation}`);
  if (state.loading) problems.push(`${label} ${port} is still loading its data`);
  // Scripts' heap lives outside maxmemory: above its budget the cache is flushed by the repair. The
  // functions heap only a restart empties; it is left to the memory cgroup and not called unhealthy.
  for (const lua of luaMemoryProblems(state.info, state.maxmemoryBytes)) if (lua.action === 'script-flush') problems.push(`${label} ${port}: ${lua.message}`);
  const aof = await aofProblem(label, state, paths.dir);
  if (aof) problems.push(aof);
  return { problems, drift };
}
