import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';

interface PackedFile {
  readonly path: string;
}

/** The files `npm pack` puts in the tarball (of the dist/ that `npm test` builds first). */
function packedFiles(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts'],
      { cwd: PROJECT_ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`npm pack --dry-run failed: ${error.message}\n${stderr}`));
          return;
        }
        const [pack] = JSON.parse(stdout) as [{ files: PackedFile[] }];
        resolve(pack.files.map((file) => file.path));
      },
    );
  });
}

describe('package tarball', () => {
  let files: string[];
  before(async function () {
    this.timeout(30_000);
    files = await packedFiles();
  });

  it('carries the licence text', () => {
    expect(files).to.include('LICENSE');
    expect(readFileSync(join(PROJECT_ROOT, 'LICENSE'), 'utf8')).to.match(
      /^\s*Apache License\s+Version 2\.0, January 2004/,
    );
  });

  it('ships source maps that carry their sources, since the .ts files are not shipped', () => {
    const maps = files.filter((path) => path.endsWith('.map'));
    expect(maps).to.not.be.empty;
    expect(files.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.endsWith('.d.mts'))).to.be
      .empty;
    const lacking = maps.filter((path) => {
      const map = JSON.parse(readFileSync(join(PROJECT_ROOT, path), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      return (
        map.sourcesContent?.length !== map.sources.length ||
        map.sourcesContent.some((content) => typeof content !== 'string')
      );
    });
    expect(lacking).to.deep.equal([]);
  });
});
