import { diag } from '@opentelemetry/api';
import { alwaysEnable, disableByDefault, listGroups, type GroupInfo } from '../core/groups';
import type { AdminOp, OpResult, Switches } from './cluster-protocol';

/** The group named `name` if the process knows it (as `listGroups()` lists it). */
export function findGroupInfo(name: string): GroupInfo | undefined {
  return listGroups().find((group) => group.name === name);
}

/** A process-wide switch and the group's state before and after. */
export interface GroupChange {
  readonly before: GroupInfo;
  readonly after: GroupInfo;
}

/** Sets whether a known group is always enabled; undefined (and no change) for an unknown group. */
export function setAlwaysEnabled(name: string, on: boolean): GroupChange | undefined {
  const before = findGroupInfo(name);
  if (before === undefined) return undefined;
  if (on) alwaysEnable(name);
  else disableByDefault(name);
  return { before, after: findGroupInfo(name) ?? before };
}

/** The body `PUT /groups/:name` accepts: exactly `{ "alwaysEnabled": true | false }`. */
export function readSwitch(body: unknown): { alwaysEnabled: boolean } | { error: string } {
  const error = 'the body must be exactly {"alwaysEnabled": true} or {"alwaysEnabled": false}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error };
  const keys = Object.keys(body);
  const value = (body as { alwaysEnabled?: unknown }).alwaysEnabled;
  if (keys.length !== 1 || keys[0] !== 'alwaysEnabled' || typeof value !== 'boolean') return { error };
  return { alwaysEnabled: value };
}

/** Logs a switch as the admin endpoint does: `group "x" alwaysEnabled false -> true (PUT from 127.0.0.1)`. */
export function logChange(name: string, change: GroupChange, via: string): void {
  const { before, after } = change;
  const transition =
    before.alwaysEnabled === after.alwaysEnabled
      ? `stays ${after.alwaysEnabled}`
      : `${before.alwaysEnabled} -> ${after.alwaysEnabled}`;
  diag.info(`dynamic-hooks admin: group ${JSON.stringify(name)} alwaysEnabled ${transition} (${via})`);
}

/** Runs one admin operation on this process's groups (a switch is logged). */
export function performLocally(op: AdminOp): OpResult {
  if (op.action === 'list') return { groups: listGroups() };
  if (op.action === 'get') {
    const group = findGroupInfo(op.group);
    return group === undefined ? { unknownGroup: op.group } : { group };
  }
  const change = setAlwaysEnabled(op.group, op.alwaysEnabled);
  if (change === undefined) return { unknownGroup: op.group };
  logChange(op.group, change, op.via);
  return { group: change.after };
}

/**
 * Applies the switches the cluster's relay remembers, in a worker that
 * started after they were made: each is logged, and a group this worker
 * has not hooked yet is switched all the same (another worker knew it).
 */
export function restoreSwitches(switches: Switches): void {
  for (const [name, on] of switches) {
    const before = findGroupInfo(name);
    if (on) alwaysEnable(name);
    else disableByDefault(name);
    const after = findGroupInfo(name);
    if (before !== undefined && after !== undefined)
      logChange(name, { before, after }, 'restored from the cluster primary');
    else if (after !== undefined) {
      diag.info(
        `dynamic-hooks admin: group ${JSON.stringify(name)} alwaysEnabled ${String(on)} (restored from the cluster primary)`,
      );
    }
  }
}
