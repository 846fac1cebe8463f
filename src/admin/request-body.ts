import type { IncomingMessage } from 'node:http';

/** The largest request body the admin endpoint reads. */
export const MAX_BODY_BYTES = 16 * 1024;

/** A parsed JSON body, or why there is none. */
export type BodyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };

/**
 * Reads and parses the request's JSON body, up to `limit` bytes. When a
 * body parser (Express's `express.json()`, `express.text()`) already read
 * the stream, its `req.body` is used instead.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  if (req.readableEnded) return fromParsedBody((req as { body?: unknown }).body);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return { ok: false, status: 415, message: `content-encoding ${encoding} is not supported` };
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return tooLarge(limit);
  const text = await readText(req, limit);
  if (text === undefined) return tooLarge(limit);
  return parse(text);
}

function fromParsedBody(body: unknown): BodyResult {
  if (body === undefined) return parse('');
  if (typeof body === 'string') return parse(body);
  if (Buffer.isBuffer(body)) return parse(body.toString('utf8'));
  return { ok: true, value: body };
}

function parse(text: string): BodyResult {
  if (text.trim() === '') return { ok: false, status: 400, message: 'a JSON body is required' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, status: 400, message: 'the body is not valid JSON' };
  }
}

function tooLarge(limit: number): BodyResult {
  return { ok: false, status: 413, message: `the body is larger than ${limit} bytes` };
}

/** The body as UTF-8, or undefined once it exceeds `limit` (reading stops there). */
function readText(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onClose = (): void => {
      done();
      reject(new Error('the client closed the connection before sending the whole body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
