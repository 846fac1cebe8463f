import { ENTRY_PREFIX, GROUPS_ENTRY, LOG_ENTRY, SIG_ENTRY } from './propagated-groups';

/** The W3C `baggage` header (lower case, as Node and the propagators name it). */
export const BAGGAGE_HEADER = 'baggage';

/** More groups than a request plausibly enables: a longer list is refused rather than processed. */
const MAX_GROUPS = 32;

/** Our entries as they arrived, still unverified. */
export interface ReceivedEntries {
  /** The groups value, percent-decoded once: names (each still percent-encoded) joined by commas. */
  readonly groups: string;
  readonly log: boolean;
  readonly signature: string;
}

/**
 * Reads our entries from the `baggage` header value(s); `undefined` unless
 * the groups and signature entries are each present exactly once, with
 * values that decode (duplicates are ambiguous, so refused).
 */
export function readEntries(header: string | readonly string[]): ReceivedEntries | undefined {
  let groups: string | undefined;
  let log: string | undefined;
  let signature: string | undefined;
  const values = typeof header === 'string' ? [header] : header;
  for (const value of values) {
    if (!value.includes(ENTRY_PREFIX)) continue;
    for (const member of value.split(',')) {
      const eq = member.indexOf('=');
      if (eq < 0) continue;
      const key = member.slice(0, eq).trim();
      if (!key.startsWith(ENTRY_PREFIX)) continue;
      const semicolon = member.indexOf(';', eq);
      const raw = member.slice(eq + 1, semicolon < 0 ? undefined : semicolon).trim();
      if (key === GROUPS_ENTRY) {
        if (groups !== undefined) return undefined;
        groups = decode(raw);
      } else if (key === LOG_ENTRY) {
        if (log !== undefined) return undefined;
        log = raw;
      } else if (key === SIG_ENTRY) {
        if (signature !== undefined) return undefined;
        signature = raw;
      }
    }
  }
  if (groups === undefined || groups === '' || signature === undefined) return undefined;
  return { groups, log: log === '1', signature };
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

/** The groups as they travel: each name percent-encoded (so it holds no comma), joined by commas. */
export function encodeGroups(names: readonly string[]): string {
  return names.map(encodeURIComponent).join(',');
}

/** The names back from `encodeGroups`' form; `undefined` if malformed or too many. */
export function decodeGroups(encoded: string): string[] | undefined {
  const parts = encoded.split(',');
  if (parts.length > MAX_GROUPS) return undefined;
  const names: string[] = [];
  for (const part of parts) {
    const name = decode(part);
    if (name === '') return undefined;
    names.push(name);
  }
  return names;
}

/** Our entries as baggage list members (values percent-encoded as W3C baggage requires). */
export function formatEntries(groups: string, log: boolean, signature: string): string {
  const entries = [`${GROUPS_ENTRY}=${encodeURIComponent(groups)}`];
  if (log) entries.push(`${LOG_ENTRY}=1`);
  entries.push(`${SIG_ENTRY}=${signature}`);
  return entries.join(',');
}

/**
 * `existing` (a `baggage` value another propagator, or the application,
 * already put in the carrier) without any of our entries, followed by `ours`.
 */
export function mergeEntries(existing: string | undefined, ours: string): string {
  if (existing === undefined || existing.trim() === '') return ours;
  const kept = existing
    .split(',')
    .filter((member) => member.trim() !== '' && !member.trim().startsWith(ENTRY_PREFIX))
    .join(',');
  return kept === '' ? ours : `${kept},${ours}`;
}

/**
 * The `baggage` value already in an outgoing carrier, if it can be read:
 * a plain headers object (any case of the name; OpenTelemetry's HTTP
 * instrumentations inject into one) or an object with `get(name)` (a Fetch
 * `Headers`). Returns the key it is under too, so that it is replaced, not
 * doubled.
 */
export function existingBaggage(carrier: unknown): { key: string; value: string } | undefined {
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  const get = (carrier as { get?: unknown }).get;
  if (typeof get === 'function') {
    const value: unknown = get.call(carrier, BAGGAGE_HEADER);
    return typeof value === 'string' ? { key: BAGGAGE_HEADER, value } : undefined;
  }
  for (const key of Object.keys(carrier)) {
    if (key.length !== BAGGAGE_HEADER.length || key.toLowerCase() !== BAGGAGE_HEADER) continue;
    const value = (carrier as Record<string, unknown>)[key];
    if (typeof value === 'string') return { key, value };
    if (Array.isArray(value)) return { key, value: value.join(',') };
  }
  return undefined;
}
