/**
 * How a coordinator's posts reach the others, per entry point. The browser's
 * BroadcastChannel carries announcements (with the access token) to every other
 * window. On Node, other processes get only token-free notices (src/node/index.ts):
 * - `postgres`: LISTEN/NOTIFY. A hint per commit, delivered in commit order to every
 *   listener, the writer's own process included; a lost LISTEN connection is made up
 *   for by one hint after reconnecting.
 * - `file`: the directory watcher. A change wakes every process, the writer's included;
 *   the events of a change are coalesced into one notice whose generation is read from
 *   the file when the notice goes out, not when it was written.
 */
import { hintOf, parseHint } from '../../src/shared/messages.js';
import type { StoredSession } from '../../src/shared/session.js';

export type Transport = 'broadcast' | 'postgres' | 'file';
export const TRANSPORTS: readonly Transport[] = ['broadcast', 'postgres', 'file'];

/** What the model queues for one receiver of a post: the data itself, or a notice to be read at delivery. */
export type Posted = { readonly data: unknown } | { readonly readAtDelivery: string };

/** What `transport` queues for receiver `to` of a post by `from` at `now`; undefined: nothing reaches it. */
export function carried(transport: Transport, data: unknown, from: number, to: number, now: number): Posted | undefined {
  if (transport === 'broadcast') return to === from ? undefined : { data };
  const hint = parseHint(data, now);
  if (hint === undefined) return undefined;
  return transport === 'postgres' ? { data: hintOf(hint) } : { readAtDelivery: hint.sessionKey };
}

/** The notice a file watcher sends for `sessionKey` now: the generation the file holds (0: none, or unreadable). */
export function fileNotice(sessionKey: string, stored: StoredSession | undefined): unknown {
  return hintOf({ sessionKey, generation: stored?.generation ?? 0 });
}
