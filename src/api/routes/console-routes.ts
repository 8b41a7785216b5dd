import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { DomainError } from '../../domain/domain-error.ts';

/**
 * What the console's pages may do (docs/console.md): load only this origin's own scripts and styles,
 * call only this origin's API, and never be framed (no clickjacking of the delete button).
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

function consoleHeaders(reply: FastifyReply, immutable: boolean): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  // Asset names carry a content hash; index.html is asked for again on every load.
  reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
}

/**
 * The web console at /console/: static files built by `npm run build:console`, public (they hold no
 * data and no secret). Every call the console makes goes to the signed API like any SDK's. When the
 * files are missing the answer says how to build them.
 */
export async function registerConsoleRoutes(app: FastifyInstance, dir: string): Promise<void> {
  // serve: false: the routes below add the headers and the `public` flag the auth hook reads.
  await app.register(fastifyStatic, { root: dir, serve: false, index: false, preCompressed: true, dotfiles: 'deny', etag: true, lastModified: false, cacheControl: false });
  const built = (): void => {
    if (!existsSync(join(dir, 'index.html'))) {
      throw new DomainError('UNAVAILABLE', 'the web console is not built: run `npm run build:console` (npm start does it when the files are missing)');
    }
  };
  const opts = { config: { public: true }, schema: { hide: true } } as const;
  app.get('/console', opts, async (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', opts, async (_request, reply) => {
    built();
    consoleHeaders(reply, false);
    return reply.sendFile('index.html');
  });
  app.get('/console/assets/:file', opts, async (request, reply) => {
    built();
    const { file } = request.params as { file: string };
    // Built asset names only (name-hash.ext): nothing with a slash or a leading dot reaches the file system.
    if (!ASSET_NAME.test(file)) throw new DomainError('NOT_FOUND', `no such console file: ${file.slice(0, 64)}`);
    consoleHeaders(reply, true);
    return reply.sendFile(join('assets', file));
  });
}
