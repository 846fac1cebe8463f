// A configuration file the gateway cannot run with: the message names the
// file, the key (as a path) and what was expected; the command prints it as
// one line and exits 1, without a stack trace.
import { expect } from 'chai';
import { chmodSync } from 'node:fs';
import { ConfigFileError, loadConfigFile } from '../../examples/gateway/config-file';
import { checkBuilt, configFolder, GATEWAY_BUILT, gatewaysOfSuite } from './gateway-command';

const SERVICES = { api: { url: 'http://localhost:8081/' }, web: { targets: ['localhost:8082'] } };
const ROUTE = { name: 'api', paths: ['/api'], service: 'api' };

describe('examples/gateway: configuration file errors', () => {
  const files = configFolder();

  /** The message loading `content` fails with. */
  function problem(content: unknown, name = 'gateway.json'): string {
    const file = files.write(name, content);
    try {
      loadConfigFile(file);
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigFileError);
      expect((error as ConfigFileError).file).to.equal(file);
      expect((error as Error).message.startsWith(`${file}: `), (error as Error).message).to.equal(true);
      return (error as Error).message.slice(file.length + 2);
    }
    throw new Error(`${JSON.stringify(content)} was accepted`);
  }

  const cases: [string, unknown, string][] = [
    [
      'a route naming a service that is not defined',
      { services: SERVICES, routes: [ROUTE, { name: 'b', paths: ['/b'], service: 'apii' }] },
      'routes[1].service: expected the name of a service in "services" (api, web), got "apii"',
    ],
    [
      'a target that is not host:port',
      { services: { api: { targets: ['localhost:8081', 'localhost'] } }, routes: [] },
      'services.api.targets[1]: expected "host:port" with a port from 1 to 65535, got "localhost"',
    ],
    [
      'a service with both url and targets',
      { services: { api: { url: 'http://a/', targets: ['a:1'] } }, routes: [] },
      'services.api: expected either "url" or "targets" (not both), got an object',
    ],
    [
      'an https upstream',
      { services: { api: { url: 'https://example.com/' } }, routes: [] },
      'services.api.url: expected an http:// URL, got "https://example.com/"',
    ],
    [
      'a misspelt key',
      { services: SERVICES, routes: [{ ...ROUTE, plugin: [] }] },
      'routes[0].plugin: unknown key; expected one of name, paths, service, stripPath, workspace, plugins',
    ],
    [
      'an unknown plugin',
      { services: SERVICES, routes: [{ ...ROUTE, plugins: [{ name: 'cors' }] }] },
      'routes[0].plugins[0].name: expected one of "rate-limiting", "external-http-calls", "buffering-response", got "cors"',
    ],
    [
      'a plugin setting of the wrong type',
      {
        services: SERVICES,
        routes: [{ ...ROUTE, plugins: [{ name: 'external-http-calls', config: { url: 'http://a/', calls: '2' } }] }],
      },
      'routes[0].plugins[0].config.calls: expected an integer from 0 to 1000, got "2"',
    ],
    [
      'rate-limiting without Redis',
      { services: SERVICES, routes: [{ ...ROUTE, plugins: [{ name: 'rate-limiting' }] }] },
      'redis: expected { "host": ..., "port": ... } for the rate-limiting plugin of routes[0].plugins[0], got nothing',
    ],
    [
      'a port out of range',
      { services: SERVICES, routes: [], listen: { port: 70000 } },
      'listen.port: expected an integer from 0 to 65535, got 70000',
    ],
    [
      'a timing setting of the wrong type',
      { services: SERVICES, routes: [], timing: { trustedProxies: '10.0.0.0/8' } },
      'timing.trustedProxies: expected an array, got "10.0.0.0/8"',
    ],
    ['routes missing', { services: SERVICES }, 'routes: expected an array, got nothing'],
    ['an array instead of an object', [ROUTE], '(top level): expected an object, got an array'],
  ];
  for (const [what, content, message] of cases) {
    it(`${what}: ${message.split(':')[0]}`, () => {
      expect(problem(content)).to.equal(message);
    });
  }

  it('a file that is not JSON: where the JSON breaks', () => {
    expect(problem('{\n  "services": {},\n  "routes" []\n}')).to.match(/^not valid JSON: line 3, column 12: /);
    expect(problem('{ "routes": [1, 2')).to.match(/^not valid JSON: the text ends: /);
    expect(problem('{ "a": "\\q" }')).to.match(/^not valid JSON: line 1, column 10: /);
    expect(problem('{} x')).to.match(/^not valid JSON: line 1, column 4: /);
  });

  it('a missing file, a directory, an unreadable file', () => {
    expect(() => loadConfigFile('/nonexistent/gateway.json')).to.throw(
      ConfigFileError,
      /^\/nonexistent\/gateway\.json: cannot read the configuration: no such file$/,
    );
    const folder = files.write('x.json', '{}').replace(/\/x\.json$/, '');
    expect(() => loadConfigFile(folder)).to.throw(ConfigFileError, /cannot read the configuration: a directory/);
    if (process.getuid?.() !== 0) {
      const file = files.write('secret.json', '{}');
      chmodSync(file, 0);
      expect(() => loadConfigFile(file)).to.throw(ConfigFileError, /not readable \(permission denied\)/);
    }
  });

  it('the example configuration is valid', () => {
    const config = loadConfigFile('examples/gateway/gateway.example.json');
    expect(config.routes.map((route) => route.name)).to.deep.equal(['demo', 'echo']);
  });

  describe('the command', function () {
    this.timeout(30_000);
    const start = gatewaysOfSuite();
    before(checkBuilt);

    const commandCases: [string, unknown, RegExp][] = [
      [
        'a key with a wrong value',
        { services: SERVICES, routes: [ROUTE, { name: 'b', paths: ['/b'], service: 'nope' }] },
        /: routes\[1\]\.service: expected the name of a service in "services" \(api, web\), got "nope"$/,
      ],
      [
        'a trusted proxy the timing module refuses',
        { services: SERVICES, routes: [ROUTE], timing: { trustedProxies: ['10.0.0.0/33'] } },
        /: timing: trustedProxies: '10\.0\.0\.0\/33' has a prefix length outside 0\.\.32$/,
      ],
      ['a file that is not JSON', '{ "services": ', /: not valid JSON: /],
    ];
    for (const [what, content, pattern] of commandCases) {
      it(`${what}: one line on stderr naming file and key, exit 1, no stack trace`, async () => {
        const file = files.write('command.json', content);
        const gateway = start(GATEWAY_BUILT, ['--config', file]);
        expect(await gateway.exited).to.deep.equal({ code: 1, signal: null });
        const lines = gateway.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('[dynamic-hooks]'));
        expect(lines, gateway.stderr).to.have.length(1);
        expect(lines[0].startsWith(`gateway: ${file}: `), lines[0]).to.equal(true);
        expect(lines[0]).to.match(pattern);
        expect(gateway.stdout).to.not.contain('listening');
      });
    }

    it('a missing file', async () => {
      const gateway = start(GATEWAY_BUILT, ['--config', 'no-such-gateway.json']);
      expect(await gateway.exited).to.deep.equal({ code: 1, signal: null });
      expect(gateway.stderr).to.equal('gateway: no-such-gateway.json: cannot read the configuration: no such file\n');
    });
  });
});
