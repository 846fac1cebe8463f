// The OpenTelemetry SDK the bench servers start: a NodeSDK with the given
// instrumentations and sampler, spans to a batch processor and a no-op
// exporter (what a production process pays, minus the network) that counts
// the spans it is given.
'use strict';

let exported = 0;

const noopExporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown() {
    return Promise.resolve();
  },
};

/** The batch processors of the SDKs started, flushed before the exported spans are counted. */
const processors = [];

function startSdk(instrumentations, sampler) {
  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const processor = new BatchSpanProcessor(noopExporter);
  processors.push(processor);
  const sdk = new NodeSDK({ spanProcessors: [processor], sampler, instrumentations });
  sdk.start();
  return sdk;
}

/** How many spans were exported so far, the ones ended and still queued included (they are flushed first). */
async function exportedSpans() {
  await Promise.all(processors.map((processor) => processor.forceFlush()));
  return exported;
}

module.exports = { startSdk, exportedSpans };
