import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { filesUnder } from '../helpers/files';
import { PROJECT_ROOT } from '../helpers/run-node';

interface Manifest {
  readonly files: readonly string[];
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as Manifest;

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for a relative one. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0] ?? '');

// What the compiled code loads: tsc emits `require("x")` for CommonJS, the
// ESM entries use `from 'x'`, `import('x')`, and `register('x/hook.mjs')`
// (module.register, which loads the loader hook from that package).
const CODE_PATTERNS = [
  /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  /\bfrom\s*["']([^"']+)["']/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /\bregister\(\s*["']([^"']+)["']/g,
];

/** Shipped JavaScript (or declaration) files and the bare specifiers each one loads. */
function specifiersIn(extensions: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const root of manifest.files.filter((entry) => entry.startsWith('dist/'))) {
    for (const file of filesUnder(join(PROJECT_ROOT, root))) {
      if (!extensions.some((extension) => file.endsWith(extension))) continue;
      const source = readFileSync(file, 'utf8');
      for (const pattern of CODE_PATTERNS) {
        for (const match of source.matchAll(pattern)) {
          const specifier = match[1] ?? '';
          if (packageOf(specifier) === undefined || isBuiltin(specifier)) continue;
          const users = found.get(specifier) ?? [];
          users.push(relative(PROJECT_ROOT, file));
          found.set(specifier, users);
        }
      }
    }
  }
  return found;
}

// The dist/ that `npm test` builds first (pretest), as `files` ships it.
describe('package dependencies', () => {
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);

  before(function () {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'src', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it through pretest)');
    }
  });

  it('loads no package at run time that is not a dependency or peer dependency', () => {
    const code = specifiersIn(['.js', '.mjs']);
    expect(code.size, 'no package load found at all: the scan is broken').to.be.greaterThan(0);
    const undeclared = [...code].filter(([specifier]) => !declared.has(packageOf(specifier) ?? ''));
    expect(undeclared.map(([specifier, files]) => `${specifier} (${files.join(', ')})`)).to.deep.equal([]);
  });

  it('requires every dependency somewhere in the shipped code (type-only ones belong in devDependencies)', () => {
    const used = new Set([...specifiersIn(['.js', '.mjs']).keys()].map(packageOf));
    const unused = Object.keys(manifest.dependencies ?? {}).filter((name) => !used.has(name));
    expect(unused).to.deep.equal([]);
  });

  it('references in its type declarations only packages a consumer gets with it', () => {
    const types = specifiersIn(['.d.ts', '.d.mts']);
    const undeclared = [...types].filter(([specifier]) => !declared.has(packageOf(specifier) ?? ''));
    expect(undeclared.map(([specifier, files]) => `${specifier} (${files.join(', ')})`)).to.deep.equal([]);
  });
});
