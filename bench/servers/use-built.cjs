// Required after tsx by the gateway benchmarks' servers: resolves the
// library's TypeScript sources (src/, instrumentations/) to their build in
// dist/, as an application gets them from the package, so that the
// benchmarks measure the code we ship. Compiled on the fly by tsx, every
// export of a module is a getter (esbuild's CommonJS output), and each
// call from one of the library's modules to another reads one: in a CPU
// profile of the gateway, about half of the library's own time per
// request (Node 22, 2026-12-03). The gateway example itself stays
// TypeScript; `npm run bench` builds dist/ first.
'use strict';

const Module = require('node:module');
const { existsSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const SOURCES = ['src', 'instrumentations'];
const resolve = Module._resolveFilename;

Module._resolveFilename = function resolveToBuild(request, ...rest) {
  const resolved = resolve.call(this, request, ...rest);
  if (!resolved.endsWith('.ts')) return resolved;
  const path = relative(ROOT, resolved);
  if (!SOURCES.includes(path.split(sep)[0])) return resolved;
  const built = join(ROOT, 'dist', path.replace(/\.ts$/, '.js'));
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  return built;
};
