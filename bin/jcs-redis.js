#!/usr/bin/env node
// The `jcs-redis` binary: loads the TypeScript CLI through tsx (no build step needed from a clone).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/run-cli.ts');
process.exitCode = await runCli(process.argv);
