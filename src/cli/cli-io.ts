/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  /** Reads all of standard input (for `--password-stdin`). */
  readStdin: () => Promise<string>;
}

export interface OutputStream {
  write(text: string): unknown;
  /** True on a terminal: only then does `--wait` draw a spinner. */
  isTTY?: boolean;
}

export function processIo(): CliIo {
  // `jcs-redis list | head -1` closes the pipe early: stop quietly, as Unix tools do, instead of
  // crashing with an unhandled EPIPE.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, readStdin: () => readAll(process.stdin) };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
