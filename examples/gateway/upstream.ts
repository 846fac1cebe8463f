import http from 'node:http';

/**
 * A demo upstream: `/slow` waits 250 ms before its first byte and 400 ms
 * more before its last (Kong's spec uses the same timings), `/policy`
 * answers at once (for the external-http-calls plugin), anything else echoes
 * the request as JSON.
 */
export function createUpstream(): http.Server {
  return http.createServer((req, res) => {
    if (req.url?.startsWith('/slow') === true) {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first byte after 250 ms; ');
        setTimeout(() => res.end('last byte 400 ms later\n'), 400);
      }, 250);
      return;
    }
    if (req.url?.startsWith('/policy') === true) {
      res.end('{"allow":true}');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
}
