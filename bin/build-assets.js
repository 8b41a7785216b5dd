#!/usr/bin/env node
// Part of `npm run build:server`: copies what src/ reads at run time besides code (the class catalogue
// JSON) into dist/, and stamps the build so tests can tell a dist/ older than src/ (test/helpers/fresh-build.ts).
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const file of walk(src).filter((f) => f.endsWith('.json'))) cpSync(file, join(root, 'dist', relative(src, file)));
writeFileSync(join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
