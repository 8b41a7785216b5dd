import type { OutputStream } from './cli-io.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line progress indicator, e.g. `⠹ redis-abc: creating (12s)`. It draws only when the stream is
 * a terminal, so piped output never contains control characters or progress noise.
 */
export class Spinner {
  private frame = 0;
  private text = '';
  private timer: NodeJS.Timeout | undefined;
  readonly enabled: boolean;

  constructor(private readonly out: OutputStream) {
    this.enabled = out.isTTY === true;
  }

  /** Replaces the text and starts animating if not already. */
  update(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    this.draw();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 100);
      // The spinner alone must never keep the process alive.
      this.timer.unref();
    }
  }

  /** Stops and erases the line, leaving the cursor at its start for the final output. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled) this.out.write('\r\x1b[2K');
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.out.write(`\r\x1b[2K${FRAMES[this.frame]} ${this.text}`);
  }
}

/** `75s` → `1m15s`. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
