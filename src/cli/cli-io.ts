/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
}

export interface OutputStream {
  write(text: string): unknown;
  /** True on a terminal: only then does `--wait` draw a spinner. */
  isTTY?: boolean;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
