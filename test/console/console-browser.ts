import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;

/** Builds the console with the project's own script into `outDir` (a test never uses a stale build). */
export async function buildConsole(outDir: string): Promise<void> {
  // NODE_ENV: vitest sets it to `test`, which would give Vite React's development build.
  await promisify(execFile)('npm', ['run', '--silent', 'build:console'], { cwd: root, env: { ...process.env, NODE_ENV: 'production', JCS_CONSOLE_OUT_DIR: outDir } });
}

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** The fresh profile directory: what the browser kept on disk. */
  userDataDir: string;
  /** Closes the browser (idempotent); the profile directory stays until `remove()`. */
  close(): Promise<void>;
  remove(): Promise<void>;
}

/** Debian's Chromium, headless, in a fresh profile, with nothing that talks to the network on its own. */
export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'jcs-console-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.JCS_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await context.close();
  };
  return {
    context,
    page: context.pages()[0] ?? (await context.newPage()),
    userDataDir,
    close,
    async remove() {
      await close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const axeSource: string = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

/** axe-core's violations of impact serious or critical on the page as it is now (WCAG 2 A/AA rules). */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  // Evaluated through DevTools, not as a page script, so the console's CSP needs no exception for it.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** How far the page is wider than the viewport (0: no sideways scrolling). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}
