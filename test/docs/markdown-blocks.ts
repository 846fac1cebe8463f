import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';

/** A fenced code block of a Markdown file, with the snippet marker on the line above it. */
export interface CodeBlock {
  /** The file, relative to the project root, and the fence's line (1-based): `docs/admin.md:15`. */
  readonly where: string;
  /** The fence's info string: `ts`, `sh`, `text`... (empty if none). */
  readonly language: string;
  /** What `<!-- snippet: ... -->` above the fence (blank lines between allowed) says, if there is one. */
  readonly marker: string | undefined;
  readonly code: string;
}

/** The documentation whose snippets must run: the README and every page in docs/. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(PROJECT_ROOT, 'docs', name));
  return [join(PROJECT_ROOT, 'README.md'), ...docs];
}

const MARKER = /^<!--\s*snippet:\s*(.*?)\s*-->$/;
const FENCE = /^(`{3,})(.*)$/;

/** The fenced code blocks of one Markdown file, in order. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index] ?? '');
    if (open === null) continue;
    const fence = open[1] ?? '```';
    const end = lines.findIndex((line, at) => at > index && line.startsWith(fence) && line.trim() === fence);
    if (end === -1) throw new Error(`${relative(PROJECT_ROOT, file)}:${index + 1}: unclosed code block`);
    let above = index - 1;
    while (above > 0 && (lines[above] ?? '').trim() === '') above--;
    const marker = MARKER.exec((lines[above] ?? '').trim());
    blocks.push({
      where: `${relative(PROJECT_ROOT, file)}:${index + 1}`,
      language: (open[2] ?? '').trim(),
      marker: marker?.[1],
      code: lines.slice(index + 1, end).join('\n') + '\n',
    });
    index = end;
  }
  return blocks;
}

/** Languages of code a reader pastes and runs: each such block must be marked. */
export const PROGRAM_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs', 'sh', 'bash', 'shell']);

/** A marker that exempts a block from running says why: `<!-- snippet: not run (install command) -->`. */
export const NOT_RUN = /^not run \((.+)\)$/;

/** A marker that runs a block names it: `<!-- snippet: core-hello -->`. */
export const SNIPPET_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
