import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/** Writes `.gz` and `.br` beside each built file: @fastify/static sends them (preCompressed) to browsers that take them. */
function precompress(outDir: string): Plugin {
  return {
    name: 'jcs-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
      for (const file of walk(outDir).filter((f) => /\.(js|css|html|svg)$/.test(f))) {
        const data = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data));
      }
    },
  };
}

const outDir = process.env.JCS_CONSOLE_OUT_DIR ?? fileURLToPath(new URL('./dist', import.meta.url));

// The console is static files served by the service at /console/ (src/api/routes/console-routes.ts).
// No React plugin: esbuild compiles the JSX (tsconfig "jsx": "react-jsx"), so the build adds nothing
// to the server's own vite/vitest setup. JCS_CONSOLE_OUT_DIR lets a test build into its own temp dir.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  plugins: [precompress(outDir)],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    // Hashed file names: served with a long cache lifetime; index.html is never cached.
    assetsDir: 'assets',
  },
});
