import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signature covers, besides the token. */
export interface SignedFields {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** The groups as they travel: each name percent-encoded, joined by commas. */
  readonly groups: string;
  readonly log: boolean;
}

/** `<issued at>.<MAC>`: 32 bytes are 43 base64url characters, unpadded. */
const SIGNATURE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * The MAC's input. Every field is unambiguous on its own (a trace id is hex,
 * the groups are percent-encoded, so neither contains a newline), and the
 * version prefix keeps a later format from verifying against this one.
 */
function message(fields: SignedFields, issuedAt: number): string {
  return `dynamic-hooks/v1\n${fields.traceId}\n${fields.groups}\n${fields.log ? 'log' : ''}\n${issuedAt}`;
}

function mac(token: string, fields: SignedFields, issuedAt: number): Buffer {
  return createHmac('sha256', token).update(message(fields, issuedAt)).digest();
}

/** The `dynamic-hooks.sig` value: `<issued at, unix seconds>.<base64url HMAC-SHA256(token, message)>`. */
export function sign(token: string, fields: SignedFields, issuedAt: number): string {
  return `${issuedAt}.${mac(token, fields, issuedAt).toString('base64url')}`;
}

/**
 * True if `signature` is `sign(token, fields, t)` for a `t` within
 * `maxAgeSeconds` of `nowSeconds` (either way: the clocks of two services
 * differ). The MACs are compared in constant time.
 */
export function verify(
  token: string,
  fields: SignedFields,
  signature: string,
  nowSeconds: number,
  maxAgeSeconds: number,
): boolean {
  const match = SIGNATURE.exec(signature);
  if (match === null) return false;
  const issuedAt = Number(match[1]);
  // The encoded text is compared, not the decoded bytes: the last of 43
  // base64url characters carries two unused bits, so decoding would accept
  // four spellings of one MAC.
  const presented = Buffer.from(match[2], 'latin1');
  const expected = Buffer.from(mac(token, fields, issuedAt).toString('base64url'), 'latin1');
  const fresh = Math.abs(nowSeconds - issuedAt) <= maxAgeSeconds;
  // The MAC is checked whatever the age, so that timing tells nothing about which check failed.
  return presented.length === expected.length && timingSafeEqual(presented, expected) && fresh;
}
