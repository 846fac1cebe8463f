// The OpenTelemetry SDK the bench servers start: a NodeSDK with the given
// instrumentations and sampler, spans to a batch processor and a no-op
// exporter (what a production process pays, minus the network).
'use strict';

const noopExporter = {
  export(_spans, done) {
    done({ code: 0 });
  },
  shutdown() {
    return Promise.resolve();
  },
};

function startSdk(instrumentations, sampler) {
  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const sdk = new NodeSDK({ spanProcessors: [new BatchSpanProcessor(noopExporter)], sampler, instrumentations });
  sdk.start();
  return sdk;
}

module.exports = { startSdk };
