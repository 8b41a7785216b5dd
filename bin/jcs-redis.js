#!/usr/bin/env node
// The `jcs-redis` binary: runs the compiled CLI in dist/ (`npm run build`; `npm start` and the e2e
// tests build first). No TypeScript compiler at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/run-cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`jcs-redis: ${new URL('../dist/', import.meta.url).pathname} is missing: run \`npm run build\` in the clone first\n`);
  process.exit(1);
}
const { runCli } = await import(entry.href);
process.exitCode = await runCli(process.argv);
