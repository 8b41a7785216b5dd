import { spawn } from 'node:child_process';
import { type DriverCapabilities } from '../../driver.ts';
import { type LocalSpec } from '../local-spec.ts';
import type { DriverLogger } from '../../driver-logger.ts';
import {
  FAMILY,
  TABLE,
  instanceRules,
  removalScript,
  ruleNames,
  ruleProblems,
  tableName,
  tableObjects,
  type InstanceObjects,
} from './nft-ruleset.ts';

export interface NftFirewallOptions {
  /** The nft binary (path, or a name looked up on PATH). */
  nft: string;
  logger: DriverLogger;
  /** Sources always admitted (see InstanceFirewallInput.trustedSources). */
  trustedSources: readonly string[];
  /** How long one listing of the table serves `problems` calls. Default 1000 ms. */
  listingTtlMs?: number;
  /**
   * The table (family inet). Default `{ name: 'jcs_redis', own: false }`: shared by every service of the
   * host and kept by `close`, since instances outlive the service and their rules must stay. `own: true`
   * (the ephemeral mode, with a name no other service uses): `close` deletes the table and all in it.
   */
  table?: { name: string; own: boolean };
}

/** IP white lists of the local driver's instances, enforced by nftables in the service's table. */
export interface NftFirewall {
  /** Finds out, changing nothing, whether nft exists and this process may change rules. Never throws. */
  probe(signal: AbortSignal): Promise<DriverCapabilities['ipWhiteList']>;
  /** The last probe's answer (not enforced before the first probe). */
  readonly capability: DriverCapabilities['ipWhiteList'];
  /** Makes the table hold exactly the rules `spec` needs, in one transaction (an open list: none). */
  apply(spec: LocalSpec, signal: AbortSignal): Promise<void>;
  /** Removes every rule and set of the instance; nothing is written when there is nothing to remove. */
  remove(instanceId: string, signal: AbortSignal): Promise<void>;
  /** What differs between the table and what `spec` needs, in words; empty when they agree. */
  problems(spec: LocalSpec, signal: AbortSignal): Promise<string[]>;
  /** Deletes the table with everything in it when it is this service's own (options.table); else nothing. */
  close(signal: AbortSignal): Promise<void>;
}

interface NftResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A failed nft run; `missing` when the binary does not exist. */
class NftError extends Error {
  override readonly name = 'NftError';
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

const clientPorts = (spec: LocalSpec): number[] => [...spec.shards.flatMap((s) => [s.master, s.replica]), ...(spec.proxies ?? []).map((p) => p.port)];
const isOpen = (spec: LocalSpec): boolean => spec.ipWhiteList.includes('0.0.0.0/0');

export function createNftFirewall(opts: NftFirewallOptions): NftFirewall {
  const ttl = opts.listingTtlMs ?? 1000;
  const table = tableName(opts.table?.name ?? TABLE);
  let capability: DriverCapabilities['ipWhiteList'] = { enforced: false, reason: 'the firewall has not been checked yet' };
  let listing: { at: number; objects: Promise<Map<string, InstanceObjects>> } | null = null;

  function run(args: string[], input: string | null, signal: AbortSignal): Promise<NftResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(opts.nft, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new NftError(`nft not found at "${opts.nft}"`, true) : new NftError(`nft: ${err.message}`)),
      );
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.on('error', () => undefined); // nft may exit before reading; its exit code tells
      child.stdin.end(input ?? '');
    });
  }

  /** Runs a script as one transaction; throws with nft's own message when it is refused. */
  async function runScript(script: string, signal: AbortSignal, check = false): Promise<void> {
    const res = await run(check ? ['-c', '-f', '-'] : ['-f', '-'], script, signal);
    if (res.code !== 0) throw new NftError(`nft refused the rules: ${firstLine(res.stderr)}`);
  }

  function objects(signal: AbortSignal): Promise<Map<string, InstanceObjects>> {
    const now = Date.now();
    if (listing && now - listing.at < ttl) return listing.objects;
    const objects = (async () => {
      const res = await run(['-j', 'list', 'table', FAMILY, table], null, signal);
      // No table yet: no instance has rules. Anything else is a real failure.
      if (res.code !== 0) {
        if (/No such file or directory/.test(res.stderr)) return new Map<string, InstanceObjects>();
        throw new NftError(`nft could not list table ${FAMILY} ${table}: ${firstLine(res.stderr)}`);
      }
      return tableObjects(JSON.parse(res.stdout) as unknown);
    })();
    listing = { at: now, objects };
    objects.catch(() => {
      if (listing?.objects === objects) listing = null;
    });
    return objects;
  }

  const forget = (): void => {
    listing = null;
  };

  function notEnforced(spec: LocalSpec): string {
    return `the IP white list of ${spec.id} cannot be enforced: ${capability.reason}`;
  }

  async function remove(instanceId: string, signal: AbortSignal): Promise<void> {
    if (!capability.enforced) return; // without nft there can be no rules of ours to remove
    const names = ruleNames(instanceId, table);
    forget();
    const present = (await objects(signal)).get(instanceId) ?? {};
    const script = removalScript(names, present);
    if (!script) return;
    try {
      await runScript(script, signal);
    } finally {
      forget();
    }
    opts.logger.info({ instanceId }, 'firewall rules removed');
  }

  return {
    get capability() {
      return capability;
    },

    async probe(signal) {
      try {
        const version = await run(['--version'], null, signal);
        if (version.code !== 0) {
          capability = { enforced: false, reason: `"${opts.nft} --version" failed: ${firstLine(version.stderr)}` };
        } else {
          // -c: the kernel checks the transaction (privilege included) and applies nothing.
          await runScript(`add table ${FAMILY} ${table}\n`, signal, true);
          capability = { enforced: true, reason: `enforced by nftables (table ${FAMILY} ${table})` };
        }
      } catch (err) {
        const e = err as NftError;
        capability = {
          enforced: false,
          reason: e.missing
            ? `nftables is not installed (${e.message})`
            : `this process may not change nftables rules (${e.message}); run the service as root or with CAP_NET_ADMIN`,
        };
      }
      opts.logger[capability.enforced ? 'info' : 'warn']({ nft: opts.nft, enforced: capability.enforced, reason: capability.reason }, 'IP white lists');
      return capability;
    },

    async apply(spec, signal) {
      if (isOpen(spec)) return remove(spec.id, signal);
      if (!capability.enforced) throw new Error(notEnforced(spec));
      const rules = instanceRules({ instanceId: spec.id, ports: clientPorts(spec), ipWhiteList: spec.ipWhiteList, trustedSources: opts.trustedSources, table });
      if (rules.open) return;
      // Level-based: a fresh listing that already shows these rules needs no write.
      forget();
      if (ruleProblems(spec.id, rules, (await objects(signal)).get(spec.id) ?? {}).length === 0) return;
      try {
        await runScript(rules.script, signal);
      } finally {
        forget();
      }
    },

    remove,

    async problems(spec, signal) {
      if (!capability.enforced) return isOpen(spec) ? [] : [notEnforced(spec)];
      const rules = instanceRules({ instanceId: spec.id, ports: clientPorts(spec), ipWhiteList: spec.ipWhiteList, trustedSources: opts.trustedSources, table });
      return ruleProblems(spec.id, rules, (await objects(signal)).get(spec.id) ?? {});
    },

    async close(signal) {
      if (!opts.table?.own || !capability.enforced) return;
      forget();
      const res = await run(['delete', 'table', FAMILY, table], null, signal);
      // Never created (no instance had a white list): nothing to remove.
      if (res.code !== 0 && !/No such file or directory/.test(res.stderr)) throw new NftError(`nft could not delete table ${FAMILY} ${table}: ${firstLine(res.stderr)}`);
      if (res.code === 0) opts.logger.info({ table: `${FAMILY} ${table}` }, 'firewall table removed');
    },
  };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
