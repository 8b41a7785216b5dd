#!/usr/bin/env node
// The `jcs-redis` binary: runs the CLI bundled into one file in dist/ (`npm run build`, bin/build-cli.js;
// `npm start` and the e2e tests build first). No TypeScript compiler at run time.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Nothing else to load for the version (bench:cli measures this against `node -e 0`).
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}
const entry = new URL('../dist/cli/run-cli.bundle.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`jcs-redis: ${new URL('../dist/', import.meta.url).pathname} is missing: run \`npm run build\` in the clone first\n`);
  process.exit(1);
}
const { runCli } = await import(entry.href);
// A command that returns is done (`serve` never returns: it exits from its signal handlers). Exit now
// rather than when idle keep-alive sockets to the API time out, which took about a second.
process.exit(await runCli(process.argv));
