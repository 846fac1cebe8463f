// `npm run gateway:upstream`: the demo upstream (see upstream.ts) on
// 127.0.0.1:8081 (or --port), for examples/gateway/gateway.example.json.
import { parseArgs } from 'node:util';
import { createUpstream } from './upstream';

const { values } = parseArgs({ options: { port: { type: 'string', short: 'p', default: '8081' } } });
const server = createUpstream();
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(
    `upstream: listening on http://127.0.0.1:${values.port} (/slow, /policy, anything else echoed)\n`,
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
