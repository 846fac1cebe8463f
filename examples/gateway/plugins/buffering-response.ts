import type { Plugin } from './plugin';

/**
 * `buffering-response`: makes the gateway read the whole upstream response
 * before answering, so the response phase runs (here it sets
 * `Content-Length` and an `X-Buffered-Response` header).
 */
export function bufferingResponse(id: string): Plugin {
  return {
    name: 'buffering-response',
    id,
    buffersResponse: true,
    async response(_context, response) {
      await Promise.resolve();
      response.headers['content-length'] = String(response.body.length);
      response.headers['x-buffered-response'] = 'true';
      delete response.headers['transfer-encoding'];
    },
  };
}
