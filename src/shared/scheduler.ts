/**
 * Auto refresh: one window or process of a herd holds the scheduler role and refreshes ahead of
 * expiry for all; the others only listen, and step in when the holder missed its time (frozen,
 * asleep, killed before its lock was released). Either way the refresh goes through the
 * coordinator's own entry (same refresh lock, same re-read, same decision table), so a
 * scheduled refresh can never be a second send: at worst a second look at a stored token.
 */
import { onAbort, type AbortSignalLike } from './abort.js';
import type { Clock, RolePort, TimerHandle } from './ports.js';
import type { StoredSession } from './session.js';

/** The role's lock name: apart from every refresh lock name (`tokenherd:<key>`), whatever the key. */
export function roleName(sessionKey: string): string {
  return `tokenherd-scheduler:${sessionKey}`;
}

/** How far ahead of the leeway the holder refreshes, at most: a round trip and a throttled (1 s aligned) timer fit in it. */
export const LEAD_MS = 20_000;
/** The random spread of the holder's time, at most, so that herds signed in together do not refresh in step. */
export const JITTER_MS = 5_000;
/** Longest single timer: the wall clock is looked at least this often, so a wake from sleep is noticed within it. */
export const WAKE_CHECK_MS = 10_000;
/** No scheduled refresh before this long after a token was received, however short it lives. */
const MIN_AGE_MS = 1_000;
/** After a scheduled refresh that failed or changed nothing, the next try waits a quarter of what is left, within these bounds. */
const RETRY_MS = { min: 1_000, max: 30_000 };

/** When to act for one token: the holder at `fireAt`; any other window at `watchAt`, if the token is still held then. */
export interface Plan {
  readonly fireAt: number;
  readonly watchAt: number;
}

/**
 * The plan for a token expiring at `expiresAt`, received at `receivedAt` (local clock), for
 * callers that need `leewayMs` of validity. The holder fires `lead` (a quarter of the lifetime,
 * at most LEAD_MS) plus a jitter (an eighth, at most JITTER_MS) before the leeway begins, so
 * callers keep finding a token in memory; the watchers step in after the holder's latest time
 * and still before the leeway. A leeway longer than the lifetime moves both to its second half.
 * `draw` is in [0, 1) twice: the holder's jitter and the watcher's spread.
 */
export function planRefresh(expiresAt: number, receivedAt: number, leewayMs: number, draw: () => number): Plan {
  const lifetime = Math.max(0, expiresAt - receivedAt);
  const lead = Math.min(LEAD_MS, lifetime / 4);
  const base = Math.max(receivedAt + lifetime / 2, expiresAt - leewayMs - lead);
  const earliest = receivedAt + Math.min(MIN_AGE_MS, lifetime / 2);
  return {
    fireAt: Math.max(earliest, base - draw() * Math.min(JITTER_MS, lifetime / 8)),
    watchAt: Math.max(earliest, base + lead / 2 + (draw() * lead) / 4),
  };
}

/** What the scheduler runs on. */
export interface SchedulerPorts {
  readonly role: RolePort;
  readonly sessionKey: string;
  readonly clock: Clock;
  /** Ends the scheduler and gives the role up: the coordinator's lifetime. */
  readonly signal: AbortSignalLike;
  readonly leewayMs: number;
  readonly random: () => number;
  /** What this window holds now, and its changes. */
  readonly view: { current(): StoredSession | undefined; onChange(watcher: () => void): () => void };
  /** The coordinator's on-demand entry: a token valid longer than `minValidityMs`, refreshing if it must. */
  readonly obtain: (minValidityMs: number) => Promise<string>;
}

/** A window's part in auto refresh. */
export interface Scheduler {
  /** Whether this window holds the scheduler role now. */
  holds(): boolean;
}

/** Joins the herd's auto refresh: asks for the role at once and keeps one timer, for the plan of the token held. */
export function startScheduler({ role, sessionKey, clock, signal, leewayMs, random, view, obtain }: SchedulerPorts): Scheduler {
  let holding = false;
  let running = false;
  let timer: TimerHandle | undefined;
  /** The plan of the token held; kept while that token is held, so its jitter is drawn once. */
  let planned: { token: string; plan: Plan; notBefore: number } | undefined;

  function arm(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    const record = view.current();
    if (signal.aborted || running || record?.state !== 'active' || record.tokens.expiresAt === undefined) return;
    const { accessToken, expiresAt } = record.tokens;
    const now = clock.now();
    if (planned?.token !== accessToken) {
      // An announced token carries no receipt time (0): it was received about now.
      const receivedAt = record.updatedAt > 0 && record.updatedAt <= now ? record.updatedAt : Math.min(now, expiresAt);
      planned = { token: accessToken, plan: planRefresh(expiresAt, receivedAt, leewayMs, random), notBefore: 0 };
    }
    const due = Math.max(planned.notBefore, holding ? planned.plan.fireAt : planned.plan.watchAt);
    if (due <= now) {
      running = true;
      void Promise.resolve().then(() => fire(accessToken, expiresAt));
      return;
    }
    timer = clock.setTimeout(arm, Math.min(due - now, WAKE_CHECK_MS));
  }

  async function fire(token: string, expiresAt: number): Promise<void> {
    let changed = false;
    try {
      // Longer than `token` has left: only a newer token serves, and one stored since serves whatever its lifetime.
      changed = (await obtain(Math.max(0, expiresAt - clock.now()) + 1)) !== token;
    } catch {
      // Callers hear of the failure from their own calls; the schedule only tries again later.
    } finally {
      running = false;
      if (!changed && planned?.token === token) {
        planned.notBefore = clock.now() + Math.min(RETRY_MS.max, Math.max(RETRY_MS.min, (expiresAt - clock.now()) / 4));
      }
      arm();
    }
  }

  const stopWatching = view.onChange(arm);
  onAbort(signal, () => {
    stopWatching();
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  });
  role.hold(roleName(sessionKey), signal, (held) => {
    holding = held && !signal.aborted;
    arm();
  });
  return { holds: () => holding };
}
