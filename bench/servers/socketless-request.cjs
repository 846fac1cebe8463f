// One hello-world request without its socket, for the in-process benches
// (request-path.cjs, cold-path.cjs): what Node does between parsing a
// request and its handler returning, on real IncomingMessage and
// ServerResponse objects over a socket that is not connected (the response
// is buffered, never written): the http.server.request.start publication,
// server.emit('request'), then the response's finish and close as Node
// emits them once it is written (spans end there).
'use strict';

const diagnostics = require('node:diagnostics_channel');
const http = require('node:http');
const net = require('node:net');

const requestStart = diagnostics.channel('http.server.request.start');
const responseFinish = diagnostics.channel('http.server.response.finish');

/** A hello-world server and a loopback peer's unconnected socket for {@link serveRequest}. */
function helloServer() {
  const server = http.createServer((_req, res) => {
    res.end('hello world');
  });
  const socket = new net.Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: '127.0.0.1' });
  return { server, socket };
}

/** Serves one GET / with `rawHeaders` (a fresh array: Node keeps it); returns the response. */
function serveRequest({ server, socket }, rawHeaders) {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  // As Node's parser gives them (the parsed headers are built from these on first read).
  req._addHeaderLines(rawHeaders, rawHeaders.length);
  const res = new http.ServerResponse(req);
  if (requestStart.hasSubscribers) requestStart.publish({ request: req, response: res, socket, server });
  server.emit('request', req, res);
  res.emit('finish');
  if (responseFinish.hasSubscribers) responseFinish.publish({ request: req, response: res, socket, server });
  res.emit('close');
  return res;
}

module.exports = { helloServer, serveRequest };
