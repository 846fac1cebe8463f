import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { AlwaysOnSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type * as Pg from 'pg';
import { alwaysEnable, disableByDefault, dormant, listGroups, RequestDebugSampler } from '../../src';
import { nodeAt, runInRequest } from '../helpers/debugged';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { timingHarness } from '../helpers/timing-harness';
import { recordingProvider } from '../helpers/recording-provider';

const PG_SCOPE = '@opentelemetry/instrumentation-pg';

describe('dormant(): PgInstrumentation against a real PostgreSQL, in real requests', () => {
  const harness = timingHarness();
  // Its own provider, sampling every span it is given: what the gate lets through is what gets recorded.
  const { exporter, provider, spansOf } = recordingProvider(new RequestDebugSampler(new AlwaysOnSampler()));
  let instrumentation: PgInstrumentation;
  let server: PostgresServer;
  let pool: Pg.Pool;
  // pool.end() resolves once its clients are told to end, not once their sockets are closed: waited for
  // before the server stops, or its shutdown reaches a closing client as an unhandled 'error' event.
  const clientsEnded: Promise<unknown>[] = [];

  const pgSpans = (): ReadableSpan[] => spansOf(PG_SCOPE);
  const querySpans = (): ReadableSpan[] => pgSpans().filter((span) => span.attributes['db.query.text'] !== undefined);

  before(async () => {
    harness.instrumentation.enable();
    harness.configure({});
    instrumentation = dormant(new PgInstrumentation(), { group: 'otel:pg' });
    instrumentation.setTracerProvider(provider);
    server = await startPostgresServer();
    // Required after the instrumentation is registered, as an application's own would be.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pg = require('pg') as typeof Pg;
    pool = new pg.Pool({ host: server.host, port: server.port, user: server.user, database: server.database, max: 2 });
    pool.on('connect', (client) => clientsEnded.push(new Promise((resolve) => client.once('end', resolve))));
    await pool.query('CREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY, name text)');
  });
  after(async () => {
    disableByDefault('otel:pg');
    await pool?.end();
    await Promise.all(clientsEnded);
    instrumentation?.disable();
    await server?.stop();
  });
  beforeEach(() => {
    disableByDefault('otel:pg');
    harness.configure({});
    harness.reset();
    exporter.reset();
  });

  it('records no span for a query of a request that is not debugged, and the query works', async () => {
    const { tree, result } = await runInRequest(() => pool.query('SELECT 1 + 1 AS two'), false);
    expect(tree).to.equal(undefined);
    expect(result?.rows).to.deep.equal([{ two: 2 }]);
    expect(pgSpans()).to.deep.equal([]);
  });

  it("records the debugged request's query, with its semantic-convention attributes, in the request's trace", async () => {
    const { tree, result, spans } = await runInRequest(() => pool.query('SELECT name FROM items WHERE id = $1', [42]));
    expect(result?.rows).to.deep.equal([]);
    const [query, ...more] = querySpans();
    expect(more.map((span) => span.name)).to.deep.equal([]);
    expect(query.kind).to.equal(SpanKind.CLIENT);
    expect(query.attributes).to.include({
      'db.system.name': 'postgresql',
      'db.query.text': 'SELECT name FROM items WHERE id = $1',
      'db.namespace': server.database,
      'server.address': server.host,
      'server.port': server.port,
    });
    expect(query.spanContext().traceId).to.equal(tree?.trace_id);
    // Its parent is one of the request's timing spans.
    const parents = new Set(spans.map((span) => span.spanContext().spanId));
    expect(parents.has(query.parentSpanContext?.spanId ?? '')).to.equal(true);
    // And the header's timing tree shows it too, named after the span, with its key attributes.
    const node = nodeAt(tree, query.name);
    expect(node).to.include({
      'db.system.name': 'postgresql',
      'db.query.text': 'SELECT name FROM items WHERE id = $1',
      'server.port': server.port,
    });
    expect(node.total_time).to.be.a('number').at.least(0);
  });

  it('records every request while enabled process-wide, and none once disabled again', async () => {
    alwaysEnable('otel:pg');
    expect(listGroups().find((group) => group.name === 'otel:pg')?.alwaysEnabled).to.equal(true);
    await runInRequest(() => pool.query('SELECT 1 AS one'), false);
    await runInRequest(() => pool.query('SELECT 2 AS two'), false);
    expect(querySpans().map((span) => span.attributes['db.query.text'])).to.deep.equal([
      'SELECT 1 AS one',
      'SELECT 2 AS two',
    ]);
    disableByDefault('otel:pg');
    exporter.reset();
    await runInRequest(() => pool.query('SELECT 3 AS three'), false);
    expect(pgSpans()).to.deep.equal([]);
  });

  it("keeps results and errors: a failing query rejects with pg's error, traced or not", async () => {
    for (const debug of [false, true]) {
      const { error, result } = await runInRequest(async () => {
        await pool.query('INSERT INTO items (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [1, 'one']);
        const read = await pool.query<{ name: string }>('SELECT name FROM items WHERE id = $1', [1]);
        expect(read.rows).to.deep.equal([{ name: 'one' }]);
        return pool.query('SELECT * FROM no_such_table');
      }, debug);
      expect(result, `debug: ${debug}`).to.equal(undefined);
      expect(error, `debug: ${debug}`).to.be.instanceOf(Error);
      expect((error as Error & { code?: string }).code).to.equal('42P01');
      expect((error as Error).message).to.match(/relation "no_such_table" does not exist/);
    }
    const failed = querySpans().filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.map((span) => span.attributes['db.query.text'])).to.deep.equal(['SELECT * FROM no_such_table']);
    expect(querySpans()).to.have.length(3);
  });

  it('with a callback too: the callback gets the rows or the error, dormant or enabled', async () => {
    for (const on of [false, true]) {
      if (on) alwaysEnable('otel:pg');
      const client = await pool.connect();
      try {
        const rows = await new Promise<unknown>((resolve, reject) =>
          client.query('SELECT $1::text AS echo', ['hi'], (error, res) => (error ? reject(error) : resolve(res.rows))),
        );
        expect(rows).to.deep.equal([{ echo: 'hi' }]);
        const failure = await new Promise<unknown>((resolve) => client.query('SELEC 1', (error) => resolve(error)));
        expect((failure as Error).message).to.match(/syntax error/);
      } finally {
        client.release();
      }
      disableByDefault('otel:pg');
    }
    expect(querySpans().map((span) => span.attributes['db.query.text'])).to.deep.equal([
      'SELECT $1::text AS echo',
      'SELEC 1',
    ]);
  });
});
