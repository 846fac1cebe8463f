import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';

// Issue 10, item 9: an in-code NodeSDK setup shuts the SDK down before the
// process ends, or every span still waiting in the batch processor is lost.

describe('the in-code NodeSDK setup shuts the SDK down', () => {
  // The gateway's own setup (examples/gateway/telemetry.ts) is tested as the
  // gateway command runs it: test/gateway/command.test.ts, on SIGTERM.
  it('README.md and docs/: every snippet that starts a NodeSDK also shuts it down', () => {
    const pages = [
      'README.md',
      ...readdirSync(join(PROJECT_ROOT, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    const text = pages.map((page) => readFileSync(join(PROJECT_ROOT, page), 'utf8')).join('\n');
    const snippets = [...text.matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1])
      .filter((code) => /new NodeSDK\(/.test(code));
    expect(snippets.length, 'NodeSDK snippets in the README and docs/').to.be.at.least(3);
    for (const code of snippets) {
      // The SDK is kept in a variable, started, and shut down on a terminating signal.
      const name = /(?:const|let) (\w+) = new NodeSDK\(/.exec(code)?.[1];
      expect(name, `a NodeSDK kept in a variable in:\n${code}`).to.be.a('string');
      expect(code).to.contain(`${String(name)}.start()`);
      expect(code, `SIGTERM handled in:\n${code}`).to.match(/process\.once\((?:'SIGTERM'|signal)/);
      expect(code, `shutdown() called in:\n${code}`).to.match(
        new RegExp(`${String(name)}\\.shutdown\\(\\)[\\s\\S]*process\\.kill\\(process\\.pid`),
      );
    }
  });
});
