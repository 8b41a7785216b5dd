import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ApiError, ConnectionError } from '../client/api-error.ts';
import { WaitFailedError } from '../client/wait-for-instance.ts';
import { registerApiCommands } from './api-commands.ts';
import { processIo, type CliIo } from './cli-io.ts';
import { EXIT, UsageError } from './exit-codes.ts';
import { registerServeCommands } from '../serve-commands.ts';

export interface RunCliOptions {
  /** Default: the process's stdout, stderr and environment. */
  io?: CliIo;
  /** Adds commands that are not API calls (`serve`, `accounts`, `admin`). Default: `registerServeCommands` (which loads nothing of the server until one runs). */
  registerExtraCommands?: (program: Command) => void;
}

const PROGRAM_HELP = `
Exit codes: 0 ok, 2 usage error, 3 API error, 4 service unreachable, 5 --wait failed or timed out.
Settings: flags, then JCS_ENDPOINT / JCS_ACCESS_KEY / JCS_SECRET_KEY / JCS_REGION, then ~/.jcs-redis/config.

Example:
  $ export JCS_ACCESS_KEY=… JCS_SECRET_KEY=…
  $ jcs-redis create --name demo --password Passw0rd1 --wait
`;

/** The package's version, from package.json (two levels up from src/cli/ and from dist/cli/ alike). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Builds the `jcs-redis` command tree with the API commands, without running it. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('jcs-redis')
    .description('Self-hosted Redis as a service, speaking the JD Cloud "JCS for Redis" API')
    .version(packageVersion())
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    // Commander would call process.exit; we turn its exits into return codes instead.
    .exitOverride()
    .addHelpText('after', PROGRAM_HELP);
  registerApiCommands(program, io);
  return program;
}

/**
 * Runs the CLI on `argv` (as in process.argv: node, script, arguments…) and returns the exit code.
 * Never throws; every failure becomes a message on stderr and one of the codes in exit-codes.ts.
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<number> {
  const io = options.io ?? processIo();
  const program = buildProgram(io);
  (options.registerExtraCommands ?? registerServeCommands)(program);
  try {
    await program.parseAsync(argv);
    // Extra commands (`accounts delete`, `serve`) report failure through process.exitCode; keep it,
    // since the bin script sets process.exitCode from our return value.
    const code = process.exitCode;
    return typeof code === 'number' && code !== 0 ? code : EXIT.OK;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  if (err instanceof CommanderError) {
    // Commander has already printed its message (or the help / version).
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (err instanceof UsageError) {
    say(`error: ${err.message}`);
    return EXIT.USAGE;
  }
  if (err instanceof ApiError) {
    say(`error: ${err.status} (HTTP ${err.httpStatus}): ${err.message}${err.requestId ? ` [requestId ${err.requestId}]` : ''}`);
    return EXIT.API_ERROR;
  }
  if (err instanceof ConnectionError) {
    say(`error: ${err.message}`);
    return EXIT.CONNECTION;
  }
  if (err instanceof WaitFailedError) {
    say(`error: ${err.message}`);
    return EXIT.WAIT_FAILED;
  }
  say(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.UNEXPECTED;
}
