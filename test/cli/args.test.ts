import { expect } from 'chai';
import { parseCommandLine, UsageError, type DebugCommand } from '../../src/cli/args';
import { debugHeaders } from '../../src/cli/request';

function debugOf(argv: string[], env: NodeJS.ProcessEnv = {}): DebugCommand {
  const command = parseCommandLine(argv, env);
  if (command.command !== 'debug') throw new Error(`not debug: ${command.command}`);
  return command;
}

describe('cli: command line', () => {
  it('reads debug with its options, curl style', () => {
    const command = debugOf([
      'debug',
      'http://127.0.0.1:8000/orders?id=1',
      '--token',
      'T',
      '-H',
      'X-Real-IP: 10.0.0.1',
      '--header',
      'Accept:application/json',
      '-X',
      'put',
      '--data',
      '{"a":1}',
      '--log',
      '--header-prefix',
      'X-Kong-Request-Debug',
      '--json',
      '--width',
      '120',
      '--timeout',
      '500',
      '-k',
    ]);
    expect(command.url.href).to.equal('http://127.0.0.1:8000/orders?id=1');
    expect(command).to.include({
      method: 'PUT',
      data: '{"a":1}',
      token: 'T',
      log: true,
      headerPrefix: 'X-Kong-Request-Debug',
      json: true,
      width: 120,
      timeoutMs: 500,
      insecure: true,
      ascii: false,
    });
    expect(command.headers).to.deep.equal([
      ['X-Real-IP', '10.0.0.1'],
      ['Accept', 'application/json'],
    ]);
    expect(debugHeaders(command)).to.deep.equal({
      'X-Real-IP': '10.0.0.1',
      Accept: 'application/json',
      'X-Kong-Request-Debug': '*',
      'X-Kong-Request-Debug-Token': 'T',
      'X-Kong-Request-Debug-Log': 'true',
    });
  });

  it('defaults: GET (POST with a body), the standard prefix, the token from the environment', () => {
    const plain = debugOf(['debug', 'https://example.com/']);
    expect(plain).to.include({ method: 'GET', headerPrefix: 'X-Request-Debug', token: undefined, log: false });
    expect(plain.width).to.equal(undefined);
    expect(debugHeaders(plain)).to.deep.equal({ 'X-Request-Debug': '*' });
    expect(debugOf(['debug', 'http://h/', '-d', 'x']).method).to.equal('POST');
    const fromEnv = debugOf(['debug', 'http://h/'], { DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'E' });
    expect(fromEnv.token).to.equal('E');
    expect(debugOf(['debug', 'http://h/', '--token', 'F'], { DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'E' }).token).to.equal(
      'F',
    );
  });

  it('the debug headers win over -H headers of the same name (any case)', () => {
    const command = debugOf(['debug', 'http://h/', '-H', 'x-request-debug: nope', '-H', 'X-Request-Debug-Token: t']);
    expect(debugHeaders(command)).to.deep.equal({ 'X-Request-Debug': '*' });
  });

  it('reads show, from stdin by default', () => {
    expect(parseCommandLine(['show'])).to.deep.equal({
      command: 'show',
      source: '-',
      requestId: undefined,
      json: false,
      width: undefined,
      ascii: false,
    });
    expect(parseCommandLine(['show', 'out.json', '--request-id', 'r', '--ascii'])).to.include({
      source: 'out.json',
      requestId: 'r',
      ascii: true,
    });
  });

  it('help and version', () => {
    expect(parseCommandLine(['--help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['debug', '-h'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['--version'])).to.deep.equal({ command: 'version' });
  });

  it('refuses what it cannot run, naming the problem', () => {
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [['draw'], /unknown command 'draw'/],
      [['debug'], /debug needs a URL/],
      [['debug', 'a', 'b'], /one URL/],
      [['debug', 'localhost:8000/x'], /only http and https/],
      [['debug', 'not a url'], /is not a URL/],
      [['debug', 'http://h/', '--bogus'], /Unknown option '--bogus'/],
      [['debug', 'http://h/', '-H', 'no colon'], /is not 'Name: value'/],
      [['debug', 'http://h/', '--width', 'wide'], /--width 'wide' must be a whole number/],
      [['debug', 'http://h/', '--width', '5'], /at least 20/],
      [['debug', 'http://h/', '--token'], /argument missing/],
      [['debug', 'http://h/', '--header-prefix', 'a b'], /not a header name/],
      [['debug', 'http://h/', '--request-id', 'x'], /option of show/],
      [['show', '--token', 'x'], /--token is an option of debug/],
      [['show', 'a', 'b'], /one file/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseCommandLine(argv), argv.join(' ')).to.throw(UsageError, message);
    }
  });
});
