import { propagation, type Baggage, type BaggageEntry } from '@opentelemetry/api';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
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
 * Reads our entries from `baggage`, as `@opentelemetry/core`'s W3C baggage
 * propagator extracted it from `header`; `undefined` unless the groups and
 * signature entries are each present, non-empty, and each of our keys
 * appears at most once in the header (core's parser keeps the last of
 * duplicates, which are ambiguous, so refused).
 */
export function readEntries(
  baggage: Baggage | undefined,
  header: string | readonly string[],
): ReceivedEntries | undefined {
  const groups = baggage?.getEntry(GROUPS_ENTRY)?.value;
  const signature = baggage?.getEntry(SIG_ENTRY)?.value;
  if (groups === undefined || groups === '' || signature === undefined || hasDuplicateEntries(header)) return undefined;
  return { groups, log: baggage?.getEntry(LOG_ENTRY)?.value === '1', signature };
}

/** Whether one of our keys appears more than once among the header's list members. */
function hasDuplicateEntries(header: string | readonly string[]): boolean {
  const seen = new Set<string>();
  for (const value of typeof header === 'string' ? [header] : header) {
    if (!value.includes(ENTRY_PREFIX)) continue;
    for (const member of value.split(',')) {
      const key = member.slice(0, member.indexOf('=')).trim();
      if (!key.startsWith(ENTRY_PREFIX)) continue;
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
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

/**
 * The baggage to inject: the members of the carrier's `baggage` header
 * (`existing`, written by another propagator or the application), then the
 * context's entries, then ours, each of ours replacing any earlier entry
 * of that key. `@opentelemetry/core`'s W3C baggage propagator parses and
 * serialises it (values percent-encoded as W3C baggage requires).
 */
export function withOurEntries(
  baggage: Baggage | undefined,
  existing: string | undefined,
  entries: ReceivedEntries,
): Baggage {
  const merged: Record<string, BaggageEntry> = {};
  for (const [key, value] of Object.entries(parseKeyPairsIntoRecord(existing))) {
    if (!key.startsWith(ENTRY_PREFIX)) merged[key] = { value };
  }
  for (const [key, entry] of baggage?.getAllEntries() ?? []) {
    if (!key.startsWith(ENTRY_PREFIX)) merged[key] = entry;
  }
  merged[GROUPS_ENTRY] = { value: entries.groups };
  if (entries.log) merged[LOG_ENTRY] = { value: '1' };
  merged[SIG_ENTRY] = { value: entries.signature };
  return propagation.createBaggage(merged);
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
