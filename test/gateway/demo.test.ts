// `npm run demo` as a newcomer runs it: its output shows the balancer retry
// it announces, draws the trees, says how to get the JSON, and dumps no
// one-line JSON.
import { expect } from 'chai';
import { GatewayProcess } from './gateway-command';

describe('examples/gateway: npm run demo', function () {
  this.timeout(60_000);

  it('draws both trees with the balancer retry, says how to get the JSON, dumps no JSON', async () => {
    const demo = new GatewayProcess(['--import', 'tsx', 'examples/gateway/demo.ts'], {});
    const exit = await demo.exited;
    const out = demo.stdout;
    expect(exit, demo.stderr).to.deep.equal({ code: 0, signal: null });

    const deadTarget = /the first of the two targets, (localhost:\d+), refuses connections/.exec(out)?.[1];
    expect(deadTarget, out).to.be.a('string');
    expect(out).to.match(/^\$ npm run gateway -- --config \S+gateway\.json$/m);
    expect(out).to.match(/^gateway: listening on http:\/\/127\.0\.0\.1:\d+ /m);
    expect(out).to.match(/^-> 200 OK$/m);
    // Two waterfalls: the header output's and the log output's.
    expect(out.match(/^context +ms +0 +\d+\.\d\d ms$/gm)).to.have.length(2);
    for (const row of [
      /^balancer +\d+\.\d\d +\|.*\| +tries=2$/gm,
      new RegExp(`^ {2}try_1 +\\d+\\.\\d\\d +\\|.*\\| +target=${deadTarget}$`, 'gm'),
      /^ {2}try_2 +\d+\.\d\d +\|.*\| +target=localhost:\d+ retrying_after=ECONNREFUSED$/gm,
    ]) {
      expect(out.match(row), `${row} in:\n${out}`).to.have.length(2);
    }
    // Only the log output has the phases after the response.
    expect(out.match(/^ {2}streaming +\d+\.\d\d/gm)).to.have.length(1);
    expect(out).to.match(/^The JSON: npx dynamic-hooks debug --json http:\/\/127\.0\.0\.1:\d+\/demo\/slow /m);
    expect(out).to.match(/^\$ kill -TERM \d+\ngateway: SIGTERM: stopping .*\ngateway: stopped\nexit code 0$/m);
    const jsonLines = out.split('\n').filter((line) => /^\s*[{[]/.test(line) || line.includes('{"'));
    expect(jsonLines, 'one-line JSON dumps').to.deep.equal([]);
  });
});
