import { expect } from 'chai';
import { PLAIN_STYLE, printable, renderWaterfall, type RenderStyle } from '../../src/cli/render';
import { toWaterfall, truncationOf } from '../../src/cli/waterfall';
import { nonAsciiAt, renderedRows, rowPaths } from './rendered-rows';

/** A Kong-shaped tree whose phases sum to 100 ms. */
const TREE = {
  child: {
    rewrite: { total_time: 10 },
    access: {
      total_time: 30,
      child: {
        router: { total_time: 10 },
        dns: {
          total_time: 20,
          child: { localhost: { total_time: 20, child: { resolve: { total_time: 20, cache_hit: false } } } },
        },
      },
    },
    upstream: { total_time: 60, child: { time_to_first_byte: { total_time: 60 } } },
  },
  request_id: 'r-1',
  trace_id: 'abc',
  workspace_id: 'ws',
};

function draw(tree: Record<string, unknown>, style: Partial<RenderStyle> = {}): string {
  return renderWaterfall(toWaterfall(tree), { ...PLAIN_STYLE, ...style }).join('\n');
}

/** Where a bar starts and how many cells it has, in an ASCII track. */
function barOf(track: string): { start: number; cells: number } {
  const start = track.search(/[#-]/);
  return { start, cells: start < 0 ? 0 : track.slice(start).replace(/ +$/, '').length };
}

describe('cli: waterfall model and renderer', () => {
  it('lays the tree out depth first in output order, with depths, times and props', () => {
    const waterfall = toWaterfall(TREE);
    expect(waterfall.totalTime).to.equal(100);
    expect(waterfall.totalFrom).to.equal('phases');
    expect(waterfall.info).to.deep.equal([
      ['request_id', 'r-1'],
      ['trace_id', 'abc'],
      ['workspace_id', 'ws'],
    ]);
    expect(waterfall.rows.map((row) => [row.name, row.depth, row.totalTime, row.offset])).to.deep.equal([
      ['rewrite', 0, 10, 0],
      ['access', 0, 30, 10],
      ['router', 1, 10, 10],
      ['dns', 1, 20, 20],
      ['localhost', 2, 20, 20],
      ['resolve', 3, 20, 20],
      ['upstream', 0, 60, 40],
      ['time_to_first_byte', 1, 60, 40],
    ]);
    expect(waterfall.rows[5].props).to.deep.equal([['cache_hit', 'false']]);
  });

  it('draws one row per context, indented by depth, with the ms figure and bars scaled to the total', () => {
    const text = draw(TREE, { width: 100 });
    const rows = renderedRows(text);
    expect(rowPaths(rows)).to.deep.equal([
      'rewrite',
      'access',
      'access/router',
      'access/dns',
      'access/dns/localhost',
      'access/dns/localhost/resolve',
      'upstream',
      'upstream/time_to_first_byte',
    ]);
    expect(rows.map((row) => row.ms)).to.deep.equal([
      '10.00',
      '30.00',
      '10.00',
      '20.00',
      '20.00',
      '20.00',
      '60.00',
      '60.00',
    ]);
    expect(rows[5].props).to.equal('cache_hit=false');
    const width = rows[0].track.length;
    expect(width).to.be.at.least(40);
    for (const row of rows) expect(row.track).to.have.length(width);
    const cells = (ms: number) => Math.round((ms / 100) * width);
    expect(barOf(rows[0].track)).to.deep.equal({ start: 0, cells: cells(10) });
    expect(barOf(rows[1].track)).to.deep.equal({ start: cells(10), cells: cells(30) });
    expect(barOf(rows[2].track).start, 'router starts with access').to.equal(cells(10));
    expect(barOf(rows[3].track).start, 'dns after router').to.equal(cells(20));
    expect(barOf(rows[6].track)).to.deep.equal({ start: cells(40), cells: cells(60) });
    expect(text).to.include('request_id=r-1 trace_id=abc workspace_id=ws');
    expect(text).to.match(/share of 100\.00 ms \(the sum of the phases\)/);
    expect(text).to.include('no start times');
  });

  it('scales to the width asked for', () => {
    const narrow = renderedRows(draw(TREE, { width: 60 }))[0].track.length;
    const wide = renderedRows(draw(TREE, { width: 160 }))[0].track.length;
    expect(wide - narrow).to.equal(100);
  });

  it("uses the root's own total_time when it has one", () => {
    const waterfall = toWaterfall({ total_time: 200, child: { a: { total_time: 50 } } });
    expect(waterfall.totalTime).to.equal(200);
    expect(waterfall.totalFrom).to.equal('root');
    const [row] = renderedRows(draw({ total_time: 200, child: { a: { total_time: 50 } } }));
    expect(barOf(row.track).cells).to.equal(Math.round(row.track.length / 4));
  });

  it('keeps concurrent children inside their parent', () => {
    const tree = { child: { access: { total_time: 10, child: { a: { total_time: 8 }, b: { total_time: 8 } } } } };
    const rows = toWaterfall(tree).rows;
    expect(rows.map((row) => row.offset)).to.deep.equal([0, 0, 2]);
  });

  it('marks dangling contexts and a dangling root', () => {
    const text = draw({ child: { access: { total_time: 5, dangling: true, child: {} } }, dangling: true });
    expect(text).to.include('dangling: the request was still open');
    expect(renderedRows(text)[0].props).to.equal('dangling');
  });

  it('tolerates unknown fields, odd children and missing times', () => {
    const tree = {
      child: {
        odd: 42,
        untimed: { sni: 'example.com', attempt_reuse_session: false, extra: { a: 1 } },
        weird: { total_time: 'soon', note: 'two words' },
        ok: { total_time: 1.5 },
      },
      request_id: 'x',
      future_field: [1, 2],
    };
    const text = draw(tree);
    const rows = renderedRows(text);
    expect(rows.map((row) => [row.name, row.ms, row.props])).to.deep.equal([
      ['odd', '-', 'value=42'],
      ['untimed', '-', 'sni=example.com attempt_reuse_session=false extra={"a":1}'],
      ['weird', '-', 'total_time=soon note="two words"'],
      ['ok', '1.50', ''],
    ]);
    expect(rows[0].track.trim()).to.equal('');
    expect(barOf(rows[3].track).cells).to.equal(rows[3].track.length);
    expect(text).to.include('future_field=[1,2]');
    expect(draw({ request_id: 'x' })).to.include('(no timing contexts in this tree)');
    expect(draw({ child: [] })).to.include('(no timing contexts in this tree)');
  });

  it('shows a context under half a cell as "-" rather than nothing', () => {
    const rows = renderedRows(draw({ child: { tiny: { total_time: 0.01 }, big: { total_time: 1000 } } }));
    expect(rows[0].track.trim()).to.equal('-');
    expect(renderedRows(draw({ child: { zero: { total_time: 0 }, big: { total_time: 1 } } }))[0].track.trim()).to.equal(
      '',
    );
  });

  it('is pure ASCII without Unicode, escaping what the server sent', () => {
    const tree = {
      child: { 'caf\u00e9': { total_time: 2, sni: '\u00fcber.example' }, 'evil\u001b[2J': { total_time: 1 } },
      workspace_id: 'w\u00df',
    };
    const text = draw(tree);
    expect(nonAsciiAt(text)).to.equal(-1);
    expect(text).to.include('caf\\u00e9');
    expect(text).to.include('sni=\\u00fcber.example');
    expect(text).to.include('evil\\u001b[2J');
    expect(text).to.include('workspace_id=w\\u00df');
  });

  it('draws with block characters and colours on a terminal, escaping control characters still', () => {
    const tree = { child: { 'caf\u00e9': { total_time: 3 }, 'evil\u001b]0;x\u0007\u202e': { total_time: 1 } } };
    const text = renderWaterfall(toWaterfall(tree), { unicode: true, color: true, width: 80 }).join('\n');
    expect(text).to.include('█');
    expect(text).to.include('│');
    expect(text).to.include('café');
    expect(text).to.include('\x1b[');
    expect(text).to.include('evil\\u001b]0;x\\u0007\\u202e');
    const colourless = renderWaterfall(toWaterfall(tree), { unicode: true, color: false, width: 80 }).join('\n');
    expect(colourless).to.not.include('\x1b');
  });

  it('escapes to \\uXXXX', () => {
    expect(printable('a\u00e9\n', false)).to.equal('a\\u00e9\\u000a');
    expect(printable('a\u00e9\n', true)).to.equal('a\u00e9\\u000a');
    expect(printable('\u{1f600}', false)).to.equal('\\ud83d\\ude00');
  });

  it('recognises a truncation notice', () => {
    expect(truncationOf({ truncated: true, request_id: 'r', message: 'm' })).to.deep.equal({
      requestId: 'r',
      message: 'm',
    });
    expect(truncationOf(TREE)).to.equal(undefined);
  });
});
