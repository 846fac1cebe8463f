import { expect } from 'chai';
import { otelShortName } from '../../src/otel/group-names';

describe("dormant instrumentations' default group names", () => {
  it('spell the name as OTEL_NODE_ENABLED_INSTRUMENTATIONS does', () => {
    expect(otelShortName('@opentelemetry/instrumentation-pg')).to.equal('pg');
    expect(otelShortName('@opentelemetry/instrumentation-socket.io')).to.equal('socket.io');
  });

  it("name a framework's own @<framework>/otel package after the framework", () => {
    expect(otelShortName('@fastify/otel')).to.equal('fastify');
  });

  it('keep any other name as it is', () => {
    expect(otelShortName('my-instrumentation')).to.equal('my-instrumentation');
    expect(otelShortName('@acme/otel-things')).to.equal('@acme/otel-things');
  });
});
