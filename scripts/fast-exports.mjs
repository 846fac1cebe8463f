// Keeps the CommonJS build's `exports` objects in V8's fast mode.
//
// TypeScript declares every export of a module up front
// (`exports.a = exports.b = void 0;`), re-exports included, and then
// defines each re-export as a getter (`Object.defineProperty(exports, "a",
// { enumerable: true, get })`). Turning a data property into an accessor
// moves the whole object to dictionary mode, and every later read of any
// of its exports from optimised code becomes a hash lookup in the generic
// load stub: about 10 ns per `lib.timing.leaveContext()` for a TypeScript
// application compiled to CommonJS (three times the call itself, on the
// path that must cost nothing while no request is debugged), and three
// lookups per timing context inside the library.
//
// This step removes the re-exported names from that first declaration,
// so that each is defined once, as the getter. Nothing reads an export
// before its definition runs (the getters are defined right after the
// `require` of their module). test/package/fast-exports.test.ts checks
// every module of the build.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DECLARATION = /^((?:exports\.[\w$]+ = )+)void 0;\n/m;
const GETTER = /^Object\.defineProperty\(exports, "([\w$]+)", \{ enumerable: true, get: /gm;

/** `source` without re-exported names in its up-front declaration; unchanged if it has none. */
function withoutDeclaredReexports(source) {
  const declaration = DECLARATION.exec(source);
  if (declaration === null) return source;
  const getters = new Set([...source.matchAll(GETTER)].map((match) => match[1]));
  if (getters.size === 0) return source;
  const names = declaration[1].split(' = ').filter((name) => name !== '');
  const kept = names.filter((name) => !getters.has(name.slice('exports.'.length)));
  if (kept.length === names.length) return source;
  // An empty line rather than none, so that the source map's lines still match.
  const replacement = kept.length === 0 ? '\n' : `${kept.join(' = ')} = void 0;\n`;
  return source.slice(0, declaration.index) + replacement + source.slice(declaration.index + declaration[0].length);
}

function* javascriptFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* javascriptFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}

let changed = 0;
for (const path of javascriptFiles(join(root, 'dist'))) {
  const source = readFileSync(path, 'utf8');
  const rewritten = withoutDeclaredReexports(source);
  if (rewritten === source) continue;
  writeFileSync(path, rewritten);
  changed++;
}
if (changed === 0) throw new Error('fast-exports: no module of dist/ re-exports anything; is the build there?');
