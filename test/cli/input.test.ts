import { expect } from 'chai';
import { InputError, parseDebugInput, reassembleLogLines } from '../../src/cli/tree-input';
import { LOG_PART_LIMIT, logLines } from '../../src/timing/output';

/** A tree large enough for the server's log to split it in several parts (80 plugin instances). */
function largeTree(requestId: string): Record<string, unknown> {
  const instances: Record<string, unknown> = {};
  for (let i = 0; i < 80; i++) {
    instances[`route:external-http-calls:${i}`] = {
      total_time: 1.25,
      child: { external_http: { total_time: 1, child: { 'http://127.0.0.1:1234': { total_time: 0.9 } } } },
    };
  }
  return {
    child: {
      rewrite: { total_time: 0.05 },
      access: {
        total_time: 50,
        child: { plugins: { total_time: 50, child: { 'external-http-calls': { child: instances } } } },
      },
    },
    request_id: requestId,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    workspace_id: 'r\u00e9sum\u00e9',
  };
}

describe('cli: reading saved trees and log lines', () => {
  it('reads a tree as the header carried it, or indented', () => {
    const tree = largeTree('a');
    expect(parseDebugInput(JSON.stringify(tree))).to.deep.equal({ trees: [tree], problems: [] });
    expect(parseDebugInput(`\n${JSON.stringify(tree, null, 2)}\n`).trees).to.deep.equal([tree]);
    const notice = { truncated: true, request_id: 'a', message: 'm' };
    expect(parseDebugInput(JSON.stringify(notice)).trees).to.deep.equal([notice]);
  });

  it("puts split log output back together from the server's own log lines, in any order, among other lines", () => {
    const first = largeTree('req-1');
    const second = { child: { rewrite: { total_time: 1 } }, request_id: 'req-2' };
    const firstLines = logLines(JSON.stringify(first), 'req-1');
    expect(firstLines.length, 'the server splits it').to.be.greaterThan(2);
    expect(firstLines[0]).to.include(`parts: 1/${firstLines.length}`);
    expect(firstLines[0].length).to.be.greaterThan(LOG_PART_LIMIT);
    const log = [
      '2026-01-01T00:00:00Z INFO server listening on :8000',
      ...firstLines
        .slice(1)
        .reverse()
        .map((line) => `2026-01-01T00:00:01Z INFO ${line}`),
      `2026-01-01T00:00:01Z INFO ${logLines(JSON.stringify(second), 'req-2')[0]}`,
      `2026-01-01T00:00:01Z INFO ${firstLines[0]}\r`,
      'some other line with output: {"child":{}}',
    ].join('\n');
    const parsed = parseDebugInput(log);
    expect(parsed.problems).to.deep.equal([]);
    expect(parsed.trees).to.deep.equal([first, second]);
  });

  it('reads log lines wrapped in JSON log records (pino, bunyan, OTel log exporters)', () => {
    const tree = largeTree('req-j');
    const lines = logLines(JSON.stringify(tree), 'req-j').map((msg) => JSON.stringify({ level: 30, time: 1, msg }));
    expect(parseDebugInput(lines.join('\n')).trees).to.deep.equal([tree]);
  });

  it('names the missing parts of an incomplete log output, and still returns the complete ones', () => {
    const lines = logLines(JSON.stringify(largeTree('req-1')), 'req-1');
    const other = logLines(JSON.stringify({ child: {}, request_id: 'req-2' }), 'req-2');
    const parsed = reassembleLogLines([lines[0], ...lines.slice(2), ...other]);
    expect(parsed.trees).to.have.length(1);
    expect(parsed.problems).to.deep.equal([`request_id req-1: part 2 of ${lines.length} missing from the input`]);
  });

  it('reads saved response headers (curl -D - or -v)', () => {
    const tree = { child: { rewrite: { total_time: 0.1 } }, request_id: 'h' };
    const dump = ['HTTP/1.1 200 OK', `< X-Kong-Request-Debug-Output: ${JSON.stringify(tree)}`, 'Via: x'].join('\r\n');
    expect(parseDebugInput(dump).trees).to.deep.equal([tree]);
  });

  it('says what is wrong with input it cannot draw', () => {
    expect(() => parseDebugInput('  \n')).to.throw(InputError, 'the input is empty');
    expect(() => parseDebugInput('{"child": {')).to.throw(
      InputError,
      /not valid JSON .*no \[request-debug\] log lines/,
    );
    expect(() => parseDebugInput('[1, 2]')).to.throw(InputError, /not a timing tree/);
    expect(() => parseDebugInput('{"hello": 1}')).to.throw(InputError, /not a timing tree/);
    const broken = logLines('{"child":', 'r')[0];
    expect(parseDebugInput(broken).problems[0]).to.match(/^request_id r: the logged output is not valid JSON/);
  });
});
