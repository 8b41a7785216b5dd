/**
 * Commands a tenant may disable for every account of an instance (setDisableCommands): JD's choices of
 * dangerous or slow commands. Everything the fixed deny list already refuses (CONFIG, ACL, SHUTDOWN, …)
 * stays refused whatever is chosen here.
 */
import { DomainError } from '../domain-error.ts';

export const DISABLEABLE_COMMANDS = ['KEYS', 'FLUSHALL', 'FLUSHDB', 'HGETALL', 'SMEMBERS', 'EVAL', 'EVALSHA', 'SCRIPT'] as const;

/** A disabled command as stored: upper-case name and when it was disabled (JD time format). */
export interface DisabledCommand {
  command: string;
  disableTime: string;
}

/**
 * The new list: the commands asked for (case-insensitive, duplicates folded), each keeping the time it
 * was first disabled. Anything outside DISABLEABLE_COMMANDS is refused naming the entry.
 */
export function nextDisabledCommands(asked: readonly string[], current: readonly DisabledCommand[], now: string): DisabledCommand[] {
  const since = new Map(current.map((c) => [c.command, c.disableTime]));
  const out = new Map<string, DisabledCommand>();
  asked.forEach((raw, i) => {
    const command = raw.trim().toUpperCase();
    if (!(DISABLEABLE_COMMANDS as readonly string[]).includes(command)) {
      throw new DomainError('INVALID_ARGUMENT', `disableCommands[${i}]: must be one of ${DISABLEABLE_COMMANDS.join(', ')}, got "${raw}"`);
    }
    out.set(command, { command, disableTime: since.get(command) ?? now });
  });
  return [...out.values()];
}
