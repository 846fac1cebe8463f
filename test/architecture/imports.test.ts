// The one-way data flow of the code base, checked on its import statements:
// request -> scope -> hooks -> timing contexts -> spans and tree. The server
// integration runs hooks by name and never imports the timing module, and
// no two folders import each other, directly or around a cycle.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Every TypeScript source file under `dir` (relative to the repository). */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.m?ts$/.test(file))
    .map((file) => path.join(dir, file));
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.[^'"]*)['"]/gm;

/** The files `file` imports (relative imports only), resolved to repository paths without extension. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => path.join(path.dirname(file), match[1]).replace(/\.m?[jt]s$/, ''));
}

/** The folder a file belongs to: `src/<folder>` or `instrumentations/<folder>`; a top-level file is its own unit. */
function unitOf(file: string): string {
  const parts = file.replace(/\.m?ts$/, '').split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.join('/');
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
}

function folderEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of [...sources('src'), ...sources('instrumentations')]) {
    for (const target of importsOf(file)) {
      const to = unitOf(target === 'src' ? 'src/index' : target);
      const from = unitOf(file);
      if (from !== to) edges.push({ from, to, file });
    }
  }
  return edges;
}

/** The folder cycles of `edges`, each as the list of folders around it (strongly connected components). */
export function cyclesOf(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)?.add(to);
  }
  // Tarjan's algorithm.
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    indexes.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node) ?? []) {
      if (!indexes.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) as number, indexes.get(target) as number));
      }
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of next.keys()) if (!indexes.has(node)) visit(node);
  return components;
}

/** Folders a folder must never import: what runs after it in the data flow. */
const FORBIDDEN: Readonly<Partial<Record<string, readonly string[]>>> = {
  'src/core': ['src/names', 'src/server', 'src/propagation', 'src/timing', 'src/adapters', 'src/admin', 'src/register'],
  'src/names': ['src/core', 'src/server', 'src/propagation', 'src/timing', 'src/adapters', 'src/admin', 'src/register'],
  'src/server': ['src/timing', 'src/propagation', 'src/adapters', 'src/admin', 'src/register'],
  'src/propagation': ['src/timing', 'src/adapters', 'src/admin', 'src/register'],
  'src/timing': ['src/adapters', 'src/admin', 'src/register', 'src/cli'],
};

describe('architecture: imports between folders', () => {
  const edges = folderEdges();

  it('finds the imports it checks', () => {
    expect(edges.some((edge) => edge.from === 'src/timing' && edge.to === 'src/core')).to.equal(true);
    expect(edges.length).to.be.greaterThan(50);
  });

  it('has no import a folder must not make (the server integration imports nothing from timing)', () => {
    const forbidden = edges
      .filter((edge) => (FORBIDDEN[edge.from] ?? []).includes(edge.to))
      .map((edge) => `${edge.file} imports ${edge.to}`);
    expect(forbidden).to.deep.equal([]);
  });

  it('lets the instrumentations reach src only through its two entries (public and instrumentation-api)', () => {
    const deep = edges
      .filter((edge) => edge.from.startsWith('instrumentations') && edge.to.startsWith('src/'))
      .filter((edge) => edge.to !== 'src/index' && edge.to !== 'src/instrumentation-api')
      .map((edge) => `${edge.file} imports ${edge.to}`);
    expect(deep).to.deep.equal([]);
  });

  it('has no import cycle between folders', () => {
    expect(cyclesOf(edges)).to.deep.equal([]);
  });

  it('reports a cycle and a forbidden import when there is one', () => {
    const made: Edge[] = [
      { from: 'src/a', to: 'src/b', file: 'src/a/x.ts' },
      { from: 'src/b', to: 'src/c', file: 'src/b/y.ts' },
      { from: 'src/c', to: 'src/a', file: 'src/c/z.ts' },
      { from: 'src/c', to: 'src/d', file: 'src/c/z.ts' },
    ];
    expect(cyclesOf(made)).to.deep.equal([['src/a', 'src/b', 'src/c']]);
    expect(unitOf('src/server/http-server.ts')).to.equal('src/server');
    expect(unitOf('src/index.ts')).to.equal('src/index');
  });
});
