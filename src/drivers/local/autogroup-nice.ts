/**
 * Lowers a running node's CPU priority for a while: its scheduling autogroup to nice 19, then back. With
 * the kernel's autogroup scheduler (on by default on Debian) every session is one group and groups share
 * the CPU equally whatever their threads' nice, so a replica's BGSAVE child (forked in the replica's
 * session, hence its group) took a whole group's share from the master on a 2-core host even at nice 19.
 * Every node runs in a session of its own (redis-node.ts spawns it detached), so its group is the node
 * and its forks, nothing else; a group shared with the service or with `avoid` (the master) is left alone.
 *
 * Bounded: the group goes back to nice 0 (the kernel's value for a new session, where every node starts)
 * when the caller restores it, and at the latest after `maxMs`, so a replica is never starved for long
 * (it still applies its master's stream in the same group). A service killed in between leaves the group
 * at 19 until the node's next lowered turn restores it to 0.
 */
import { readFile, writeFile } from 'node:fs/promises';

/** The nice value that gives a group the smallest CPU weight (15 against 1024 at nice 0). */
export const LOWEST_NICE = 19;
/** What a new session's autogroup starts with, and what a lowered one goes back to. */
const NORMAL_NICE = 0;

export interface Autogroup {
  /** The group's name in /proc (`/autogroup-<n>`), the same for every process of one session. */
  name: string;
  nice: number;
}

/** The autogroup of `pid`, or null without autogroups (kernel option off, or not Linux) or when the process is gone. */
export async function readAutogroup(pid: number): Promise<Autogroup | null> {
  const text = await readFile(`/proc/${pid}/autogroup`, 'utf8').catch(() => null);
  const m = text === null ? null : /^(\/autogroup-\d+) nice (-?\d+)/.exec(text);
  return m ? { name: m[1]!, nice: Number(m[2]) } : null;
}

async function setAutogroupNice(pid: number, nice: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/autogroup`, String(nice)).then(
    () => true,
    () => false, // gone, or no permission (only root may lower a group's nice below what it has)
  );
}

export interface LoweredAutogroup {
  /** Whether the group was lowered (false: no autogroups, a shared group, or the write was refused). */
  lowered: boolean;
  /** Puts the group back to nice 0 (idempotent); only while `pid` is still in the group that was lowered. */
  restore(): Promise<void>;
}

/**
 * Sets the autogroup of `pid` to nice 19 until `restore()` or `maxMs`, whichever comes first. Not when the
 * group is the service's own or that of one of `avoid` (lowering it would slow those too).
 */
export async function lowerAutogroup(pid: number, opts: { maxMs: number; avoid?: readonly number[] }): Promise<LoweredAutogroup> {
  const noop: LoweredAutogroup = { lowered: false, restore: async () => undefined };
  const group = await readAutogroup(pid);
  if (!group) return noop;
  for (const other of [process.pid, ...(opts.avoid ?? [])]) {
    if ((await readAutogroup(other))?.name === group.name) return noop;
  }
  if (!(await setAutogroupNice(pid, LOWEST_NICE))) return noop;
  let done = false;
  const restore = async (): Promise<void> => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    // A pid reused by another process of another session is not ours to change.
    if ((await readAutogroup(pid))?.name === group.name) await setAutogroupNice(pid, NORMAL_NICE);
  };
  const timer = setTimeout(() => void restore(), opts.maxMs);
  timer.unref();
  return { lowered: true, restore };
}
