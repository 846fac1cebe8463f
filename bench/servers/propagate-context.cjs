// Shared by the benchmark servers' "propagation" setup: runs every request of
// a server in an OpenTelemetry context of its own, as a propagating
// instrumentation would, with no instrumentation at all (the floor any
// context propagation pays).
'use strict';

const { context, createContextKey } = require('@opentelemetry/api');

const key = createContextKey('bench request');

/** Wraps `server.emit` so that each 'request' event runs in a fresh child context. */
function propagateContext(server) {
  const emit = server.emit;
  server.emit = function (event) {
    if (event !== 'request') return emit.apply(this, arguments);
    return context.with(context.active().setValue(key, true), () => emit.apply(this, arguments));
  };
}

module.exports = { propagateContext };
