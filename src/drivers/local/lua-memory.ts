/**
 * The Lua heap check of observe. Redis 7.0 keeps a script's garbage after it returns (or fails) until
 * enough later allocations trigger its collector, and none of it counts against `maxmemory`: measured
 * on 7.0.15, a script that built a 500 MB table left `used_memory_vm_eval` at 512 MB and the node's RSS
 * at 543 MB with maxmemory 100 MB. `SCRIPT FLUSH ASYNC` drops that VM and frees it at once (RSS back to
 * 18 MB); the cost is that cached scripts are forgotten, and clients re-send them after NOSCRIPT as
 * every Redis client library does. FUNCTION libraries run in a second VM that no command empties
 * (FUNCTION FLUSH and FUNCTION RESTORE … FLUSH left the 256 MB measured there), so that one is only
 * reported; the node's memory cgroup is what bounds it.
 */
import { nodeMemoryBudget } from './memory-guard.ts';

export interface LuaMemoryProblem {
  /** `eval`: EVAL/EVALSHA scripts (`used_memory_vm_eval`); `functions`: FUNCTION libraries (`used_memory_vm_functions`). */
  vm: 'eval' | 'functions';
  usedBytes: number;
  budgetBytes: number;
  /** What observe should do: send `SCRIPT FLUSH ASYNC` on the admin channel, or only report. */
  action: 'script-flush' | 'report';
  /** One line for the log and the instance's problems. */
  message: string;
}

const MiB = 1024 * 1024;
const mb = (bytes: number): string => `${Math.round(bytes / MiB)} MB`;

/**
 * Problems in a node's `INFO memory` (parsed into name → value) for a node of `maxmemoryBytes`: a Lua VM
 * over the scripts budget of memory-guard.ts. Empty when within budget or when the fields are absent.
 */
export function luaMemoryProblems(info: ReadonlyMap<string, string>, maxmemoryBytes: number): LuaMemoryProblem[] {
  const budgetBytes = nodeMemoryBudget(maxmemoryBytes).scriptsBytes;
  const problems: LuaMemoryProblem[] = [];
  const evalBytes = Number(info.get('used_memory_vm_eval'));
  if (Number.isFinite(evalBytes) && evalBytes > budgetBytes) {
    problems.push({
      vm: 'eval',
      usedBytes: evalBytes,
      budgetBytes,
      action: 'script-flush',
      message: `Lua scripts hold ${mb(evalBytes)}, above the ${mb(budgetBytes)} budget of a ${mb(maxmemoryBytes)} node; the script cache is flushed`,
    });
  }
  const functionBytes = Number(info.get('used_memory_vm_functions'));
  if (Number.isFinite(functionBytes) && functionBytes > budgetBytes) {
    problems.push({
      vm: 'functions',
      usedBytes: functionBytes,
      budgetBytes,
      action: 'report',
      message: `Lua functions hold ${mb(functionBytes)}, above the ${mb(budgetBytes)} budget of a ${mb(maxmemoryBytes)} node`,
    });
  }
  return problems;
}
