/**
 * The world of the model: 1 to 6 windows of one storage partition on the
 * in-memory doubles of src/testing, with the parts an adversary controls made
 * explicit: a channel whose deliveries wait for a command (delayed, reordered,
 * dropped, duplicated), a token endpoint whose requests wait for an answer
 * command, a wall clock that can jump, a store whose operations the fast-check
 * scheduler interleaves. The properties of docs/model-based-tests.md are checked
 * here, as the ports see each event, and after each step.
 */
import type { Scheduler } from 'fast-check';
import { parseRetryAfter } from '../../src/oauth/token-endpoint.js';
import {
  ErrorCode,
  createCoordinatorCore,
  isStoredSession,
  isTokenHerdError,
  resolveSettings,
  type AbortSignalLike,
  type ChannelPort,
  type Clock,
  type CoordinatorCore,
  type CoordinatorSettings,
  type RefreshOutcome,
  type SessionStore,
  type StoredSession,
  type TokenEndpoint,
} from '../../src/shared/index.js';
import { parseMessage } from '../../src/shared/messages.js';
import { MAX_BACKOFF_MS, type Version } from '../../src/shared/session.js';
import { JITTER_MS, LEAD_MS } from '../../src/shared/scheduler.js';
import { createManualClock, createMemoryLocks, createMemoryStore } from '../../src/testing/index.js';
import { createMemoryRoles } from '../../src/testing/memory.js';
import { createAuthorizationServer, grantOf, type ProviderKind } from './provider.js';
import { carried, fileNotice, type Posted, type Transport } from './transports.js';

export const KEY = 'model:alice';
/** The longest wait a provider's `Retry-After` may impose: the core's documented cap. */
export const MAX_RETRY_AFTER_MS = MAX_BACKOFF_MS;
/** The core's timeouts in the model (the defaults). */
export const REQUEST_TIMEOUT_MS = 10_000;
export const LOCK_TIMEOUT_MS = 30_000;
export const MAX_DELAY_MS = 5_000;

export interface ModelSettings {
  readonly windows: number;
  readonly profile: ProviderKind;
  readonly accessTtlSeconds: number;
  readonly refreshTtlSeconds: number | undefined;
  readonly leewaySeconds: number;
  readonly attempts: number;
  /** How posts reach the other windows (processes); default `broadcast`. */
  readonly transport?: Transport;
  /** Auto refresh: the windows share the memory roles, and one of them refreshes ahead of expiry. */
  readonly autoRefresh: boolean;
}

/** The properties, by name; docs/model-based-tests.md states each. */
export type Property =
  | 'one-refresher'
  | 'no-reuse'
  | 'one-refresh-per-expiry'
  | 'forward-only'
  | 'no-older-overwrite'
  | 'caller-result'
  | 'backoff-bound'
  | 'no-unhandled-rejection'
  | 'outlives-close'
  | 'store-valid'
  | 'no-unasked-sign-out'
  | 'liveness';

export class Violation extends Error {
  override readonly name = 'Violation';
  /** The world's log up to the violation: steps, requests, answers, what each caller got. */
  trace: readonly string[] = [];
  constructor(
    readonly property: Property,
    message: string,
  ) {
    super(`[${property}] ${message}`);
  }
}

/** The provider's answer to one request. */
export type Answer =
  | { readonly kind: 'success' }
  /** Processed (the token rotated) and the response lost: the request hangs until the client's timeout. */
  | { readonly kind: 'lost' }
  | { readonly kind: '5xx'; readonly retryAfter: string | undefined }
  /** The grant was revoked at the provider (the user removed the app): this and every later refresh of it is refused. */
  | { readonly kind: 'invalid_grant' }
  /** Processed, with a 2xx body that is not a token response (`json`: not JSON at all; otherwise a JSON object that fails validation). */
  | { readonly kind: 'malformed'; readonly json: boolean };

interface Call {
  readonly id: number;
  readonly slot: number;
  readonly incarnation: number;
  readonly step: number;
  readonly label: string;
  /** Seconds the token must stay valid; undefined for app operations (setSession, signOut, reload). */
  readonly need: number | undefined;
  readonly forced: boolean;
  /** The windows' local clock when the call was made. */
  readonly askedAt: number;
  settled: boolean;
}

interface Request {
  readonly id: number;
  readonly slot: number;
  readonly incarnation: number;
  readonly refreshToken: string;
  readonly step: number;
  /** Reached the provider's processing (answered, or processed with its response lost), or abandoned by the client. */
  done: boolean;
  /** The step at which the client stopped waiting for it (an answer, or its abort). */
  ended?: number;
  resolve(outcome: RefreshOutcome): void;
}

type Delivery = Posted & {
  readonly to: number;
  readonly incarnation: number;
  /** The number of storage clears before it was posted: a message about a cleared store does not count as seen. */
  readonly epoch: number;
};

interface Window {
  readonly core: CoordinatorCore;
  readonly incarnation: number;
  closed: boolean;
  /** Frozen (Page Lifecycle): its timers are held, and run on thaw; it keeps its locks and role. */
  frozen: boolean;
  readonly held: Array<() => void>;
  /** The highest generation this window has been told of or moved to since the last storage clear. */
  maxSeen: number;
}

export type World = ReturnType<typeof createWorld>;

export function createWorld(settings: ModelSettings, scheduler: Scheduler) {
  const real = createManualClock();
  let skew = 0;
  const local: Clock = { now: () => real.now() + skew, setTimeout: real.setTimeout, clearTimeout: real.clearTimeout };
  const locks = createMemoryLocks();
  const roles = createMemoryRoles();
  const store = createMemoryStore();
  const server = createAuthorizationServer(
    { kind: settings.profile, graceMs: 30_000, accessTtlSeconds: settings.accessTtlSeconds, refreshTtlSeconds: settings.refreshTtlSeconds },
    real.now,
  );
  const windows: Window[] = [];
  const calls: Call[] = [];
  const requests: Request[] = [];
  const deliveries: Delivery[] = [];
  /** The channel listener of each window, by `slot:incarnation`. */
  const listeners = new Map<string, (data: unknown) => void>();
  /** What happened to each refresh token each time it was sent: the answer the core received. */
  const sends = new Map<string, Array<'tokens' | 'rejected' | 'unknown'>>();
  const violations: Violation[] = [];
  const log: string[] = [];
  /** What a run exercised, summed by the exploration so that a test can tell a model that does nothing. */
  const coverage: Record<string, number> = {};
  const count = (what: string): void => void (coverage[what] = (coverage[what] ?? 0) + 1);
  let step = 0;
  let epoch = 0;
  let ids = 0;
  /** The record last written, in write order (the store's CAS is atomic and its results resolve in order). */
  let shadow: StoredSession | undefined;
  /** A message posted before the last storage clear is being delivered: what it makes a window do is about a session the store no longer has. */
  let staleDelivery = false;
  /** The provider's last 5xx: when (real time) and how long it asked to wait. */
  let lastBusy: { at: number; retryAfterMs: number | undefined } | undefined;

  const violate = (property: Property, message: string): void => void violations.push(new Violation(property, `${message} (step ${step})`));

  /** The last step that set the windows' clock back. */
  let lastBackJump = -1;

  /** Store operations issued and not yet answered: time that passes meanwhile is a machine asleep mid-operation. */
  let storeOps = 0;
  async function storeOp<T>(label: string, operation: () => Promise<T>): Promise<T> {
    storeOps++;
    try {
      await scheduler.schedule(Promise.resolve(), label);
      return await operation();
    } finally {
      storeOps--;
    }
  }

  let sessions = 0;
  /** Session ids unique across the world's windows, as `crypto.randomUUID` gives them. */
  const sessionIds = (): string => `session-${++sessions}`;

  function storeFor(slot: number, incarnation: number): SessionStore {
    return {
      read: (key) => storeOp(`w${slot} read`, () => store.read(key)),
      compareAndSet: (key, expected, next) => {
        // A write issued before close() may land after it, as an IndexedDB transaction in progress does.
        if (windows[slot]!.incarnation !== incarnation || windows[slot]!.closed) violate('outlives-close', `closed window ${slot} wrote generation ${next.generation}`);
        return storeOp(`w${slot} cas ${expected.generation}->${next.generation}`, async () => {
          const result = await store.compareAndSet(key, expected, next);
          if (result.ok) written(expected, next);
          return result;
        });
      },
      close: () => {},
    };
  }

  function written(expected: Version, next: StoredSession): void {
    const before = shadow;
    shadow = next;
    if (before?.state !== 'active') return;
    // A sign-in (a new generation with cause signed-in) is the app's word and may replace anything;
    // a rotation, or an annotation (same generation: marker, backoff), is about the session it read.
    const signIn = next.state === 'active' && next.cause === 'signed-in' && next.generation === expected.generation + 1;
    if (next.state === 'active' && !signIn) {
      const [was, now] = [grantOf(before.tokens.accessToken)!, grantOf(next.tokens.accessToken)!];
      if (now < was) violate('no-older-overwrite', `a write about grant ${now} overwrote the sign-in of grant ${was} (generation ${next.generation})`);
    } else if (next.cause === 'expired' && server.accepts(before.tokens.refreshToken)) {
      violate('no-unasked-sign-out', `generation ${before.generation} ended as expired while the provider still accepts its refresh token`);
    }
  }

  function channelFor(slot: number, incarnation: number): ChannelPort {
    return {
      post(data) {
        for (const [to, peer] of windows.entries()) {
          const posted = peer.closed ? undefined : carried(settings.transport ?? 'broadcast', data, slot, to, local.now());
          if (posted === undefined) continue;
          // A file watcher coalesces: one notice queued for a process stands for every change until it is read.
          if ('readAtDelivery' in posted && deliveries.some((d) => d.to === to && d.incarnation === peer.incarnation && 'readAtDelivery' in d)) continue;
          deliveries.push({ ...posted, to, incarnation: peer.incarnation, epoch });
        }
      },
      subscribe(listener) {
        listeners.set(`${slot}:${incarnation}`, listener);
        return () => listeners.delete(`${slot}:${incarnation}`);
      },
      close() {},
    };
  }

  function endpointFor(slot: number, incarnation: number): TokenEndpoint {
    return {
      refresh(refreshToken, { signal }: { signal: AbortSignalLike }) {
        return new Promise<RefreshOutcome>((resolve, reject) => {
          const request: Request = { id: ++ids, slot, incarnation, refreshToken, step, done: false, resolve };
          sent(request);
          requests.push(request);
          log.push(`request #${request.id} from w${slot} with ${refreshToken}`);
          count('requests');
          const abort = (): void => {
            request.done = true;
            request.ended = step;
            reject(signal.reason);
          };
          if (signal.aborted) abort();
          else signal.addEventListener('abort', abort, { once: true });
        });
      },
    };
  }

  /** The properties a request can break the moment it is sent. */
  function sent(request: Request): void {
    const { slot, refreshToken } = request;
    if (windows[slot]!.incarnation !== request.incarnation || windows[slot]!.closed) violate('outlives-close', `closed window ${slot} sent a refresh request`);
    const grant = grantOf(refreshToken);
    const concurrent = requests.filter((r) => !r.done && grantOf(r.refreshToken) === grant);
    if (concurrent.length > 0) violate('one-refresher', `w${slot} sent ${refreshToken} while #${concurrent[0]!.id} of the same grant is in flight`);
    const before = sends.get(refreshToken) ?? [];
    if (settings.profile !== 'non-rotating' && before.some((answer) => answer !== 'unknown')) {
      violate('no-reuse', `w${slot} sent ${refreshToken} again after the provider answered it (${before.join(', ')})`);
    }
    sends.set(refreshToken, [...before, 'unknown']);
    const asking = calls.some((c) => c.slot === slot && c.incarnation === request.incarnation && !c.settled);
    if (settings.autoRefresh && !asking) count('scheduled requests');
    if (settings.autoRefresh && !asking && shadow?.state === 'active' && grantOf(shadow.tokens.accessToken) === grant) {
      // Auto refresh sends only a token the plan says is due: lead and jitter before the leeway, or past 5/8 of a short lifetime.
      // A clock set back since it was issued can make a token decided due look fresh by the time the request leaves.
      const issued = server.issued.get(shadow.tokens.accessToken);
      const ttl = settings.accessTtlSeconds * 1000;
      const bound = Math.max(settings.leewaySeconds * 1000 + Math.min(LEAD_MS, ttl / 4) + Math.min(JITTER_MS, ttl / 8), (5 * ttl) / 8);
      if (issued && issued.step > lastBackJump && issued.localExpiresAt - local.now() > bound) {
        violate('one-refresh-per-expiry', `w${slot} sent a scheduled refresh of ${shadow.tokens.accessToken} with ${issued.localExpiresAt - local.now()} ms left (due at ${bound} ms)`);
      }
    }
    // I1: a token the provider issued while every caller of this window waited is the freshest there is, and serves them.
    // A forced caller refuses whatever token its window holds when it asks, so it may send one request of its own.
    const forcing = calls.some((c) => c.slot === slot && c.incarnation === request.incarnation && !c.settled && c.forced);
    // A sign-in stored between this window's marker and its send is another session: that send is stale, not a storm.
    if (shadow?.state === 'active' && grantOf(shadow.tokens.accessToken) === grant && !forcing) {
      const issued = server.issued.get(shadow.tokens.accessToken);
      const waiting = calls.filter((c) => c.slot === slot && c.incarnation === request.incarnation && !c.settled && c.need !== undefined);
      if (issued && issued.localExpiresAt > local.now() && waiting.length > 0 && waiting.every((c) => c.step < issued.step)) {
        violate('one-refresh-per-expiry', `w${slot} sent a refresh though ${shadow.tokens.accessToken}, issued at step ${issued.step} after its ${waiting.length} caller(s) asked, is stored and valid`);
      }
    }
  }

  function answered(refreshToken: string, outcome: 'tokens' | 'rejected'): void {
    const list = sends.get(refreshToken)!;
    list[list.length - 1] = outcome;
  }

  function received(response: unknown): void {
    const { access_token: token, expires_in: ttl } = response as { access_token: string; expires_in: number };
    server.issued.set(token, { grant: grantOf(token)!, step, localExpiresAt: local.now() + ttl * 1000 });
  }

  function track(slot: number, label: string, need: number | undefined, promise: Promise<unknown>, forced = false): void {
    const window = windows[slot]!;
    const call: Call = { id: ++ids, slot, incarnation: window.incarnation, step, label, need, forced, askedAt: local.now(), settled: false };
    calls.push(call);
    promise.then(
      (value) => {
        call.settled = true;
        if (need !== undefined) returned(call, value as string);
      },
      (error: unknown) => {
        call.settled = true;
        failed(call, error);
      },
    );
  }

  function returned(call: Call, token: string): void {
    const issued = server.issued.get(token);
    const left = issued ? issued.localExpiresAt - local.now() : Number.NaN;
    log.push(`w${call.slot} ${call.label} -> ${token} (${left} ms left)`);
    count('tokens returned');
    if (!issued) return violate('caller-result', `w${call.slot} ${call.label} returned ${token}, which the provider never issued`);
    // The need is met, or the token is the freshest the provider gives: issued after the caller asked,
    // or expiring no earlier than a token issued at the instant it asked.
    const freshest = issued.step > call.step || issued.localExpiresAt >= call.askedAt + settings.accessTtlSeconds * 1000;
    if (!(left > call.need! * 1000) && !freshest) {
      violate('caller-result', `w${call.slot} ${call.label} (step ${call.step}) returned ${token} with ${left} ms left, issued at step ${issued.step}`);
    }
  }

  function failed(call: Call, error: unknown): void {
    const code = isTokenHerdError(error) ? error.code : undefined;
    log.push(`w${call.slot} ${call.label} -> ${code ?? String(error)}`);
    count(`rejected ${code}`);
    if (code === undefined) return violate('caller-result', `w${call.slot} ${call.label} rejected with an uncoded ${String(error)}`);
    if (code !== ErrorCode.TRANSIENT || call.need === undefined) return;
    // A TRANSIENT without a request of its own is a backoff: it may last as long as the provider asked (capped), in real time.
    const own = requests.some((r) => r.slot === call.slot && r.incarnation === call.incarnation && (r.ended === undefined || r.ended >= call.step));
    if (own) return;
    const allowed = lastBusy ? Math.min(MAX_RETRY_AFTER_MS, Math.max(lastBusy.retryAfterMs ?? 0, MAX_DELAY_MS)) : 0;
    const waited = lastBusy ? real.now() - lastBusy.at : Number.POSITIVE_INFINITY;
    if (waited > allowed) {
      violate('backoff-bound', `w${call.slot} ${call.label} got TRANSIENT without a request, ${waited} ms after the provider asked to wait ${lastBusy?.retryAfterMs ?? 'nothing'} ms: ${(error as Error).message}`);
    }
  }

  function open(slot: number): void {
    const incarnation = (windows[slot]?.incarnation ?? 0) + 1;
    const held: Array<() => void> = [];
    const window: Window = { core: openWindow(world, slot, incarnation, held), incarnation, closed: false, frozen: false, held, maxSeen: 0 };
    windows[slot] = window;
    window.core.subscribe((event) => {
      // 0: nothing stored, not a generation. A stale delivery is about a cleared session, whose generations a new sign-in may restart.
      if (event.type !== 'session-changed' || event.generation === 0 || staleDelivery) return;
      if (event.generation < window.maxSeen) violate('forward-only', `w${slot} moved to generation ${event.generation} (${event.change}) after seeing ${window.maxSeen}`);
      window.maxSeen = Math.max(window.maxSeen, event.generation);
    });
  }

  const world = {
    settings,
    scheduler,
    real,
    local,
    locks,
    roles,
    store,
    server,
    windows,
    calls,
    requests,
    deliveries,
    violations,
    log,
    coverage,
    storeFor,
    sessionIds,
    channelFor,
    endpointFor,
    get step() {
      return step;
    },
    get storeOps() {
      return storeOps;
    },
    nextStep(label: string): void {
      step++;
      log.push(`step ${step}: ${label}`);
    },
    open,
    close(slot: number): void {
      const window = windows[slot]!;
      window.closed = true;
      window.core.close();
    },
    /** Freezes or thaws a window: a thawed window runs the timers that came due while it was frozen. */
    freeze(slot: number, frozen: boolean): void {
      const window = windows[slot]!;
      window.frozen = frozen;
      if (frozen) count('frozen');
      if (!frozen) for (const callback of window.held.splice(0)) callback();
    },
    call(slot: number, label: string, need: number | undefined, promise: Promise<unknown>, forced = false): void {
      track(slot, label, need, promise, forced);
    },
    signIn(slot: number): void {
      const response = server.signIn();
      received(response);
      track(slot, 'setSession', undefined, windows[slot]!.core.setSession(response));
    },
    clearStorage(): void {
      store.clear();
      shadow = undefined;
      epoch++;
      for (const window of windows) window.maxSeen = 0;
    },
    unhandled(reason: unknown): void {
      violate('no-unhandled-rejection', `a promise rejected unhandled: ${String(reason)}`);
    },
    jump(ms: number): void {
      skew += ms;
      if (ms < 0) lastBackJump = step;
    },
    deliver(index: number, keep = false): void {
      const [delivery] = keep ? [deliveries[index]!] : deliveries.splice(index, 1);
      const window = windows[delivery!.to]!;
      if (window.closed || window.incarnation !== delivery!.incarnation) return;
      count('messages delivered');
      // A file notice is read as it goes out: about the store as it is now, never stale.
      const read = 'readAtDelivery' in delivery! ? store.raw(delivery.readAtDelivery) : undefined;
      const data = 'readAtDelivery' in delivery! ? fileNotice(delivery.readAtDelivery, isStoredSession(read) ? read : undefined) : delivery!.data;
      const message = parseMessage(data, local.now());
      staleDelivery = 'data' in delivery! && delivery.epoch !== epoch;
      if (message && !staleDelivery) window.maxSeen = Math.max(window.maxSeen, message.generation);
      try {
        listeners.get(`${delivery!.to}:${delivery!.incarnation}`)?.(data);
      } finally {
        staleDelivery = false;
      }
    },
    pending(): Request[] {
      return requests.filter((r) => !r.done);
    },
    answer(request: Request, answer: Answer): void {
      request.done = true;
      if (answer.kind !== 'lost') request.ended = step;
      const { refreshToken } = request;
      log.push(`answer #${request.id} (${refreshToken}): ${JSON.stringify(answer)}`);
      count(`answer ${answer.kind}`);
      switch (answer.kind) {
        case 'success':
        case 'lost': {
          const outcome = server.serve(refreshToken);
          if (answer.kind === 'lost') return; // the client hears nothing: its timeout ends the request
          if (outcome.kind === 'tokens') received(outcome.response);
          answered(refreshToken, outcome.kind === 'tokens' ? 'tokens' : 'rejected');
          return request.resolve(outcome);
        }
        case '5xx': {
          const retryAfterMs = parseRetryAfter(answer.retryAfter ?? null, Date.now());
          lastBusy = { at: real.now(), retryAfterMs };
          return request.resolve({ kind: 'transient', reason: 'HTTP 503', answered: true, ...(retryAfterMs !== undefined && { retryAfterMs }) });
        }
        case 'invalid_grant':
          server.revoke(refreshToken);
          answered(refreshToken, 'rejected');
          return request.resolve({ kind: 'rejected', error: 'invalid_grant' });
        case 'malformed':
          server.consume(refreshToken);
          return request.resolve(
            answer.json
              ? { kind: 'tokens', response: { access_token: 'x', token_type: 'mac', expires_in: '3600' } }
              : { kind: 'invalid-response', reason: 'the body is not JSON' },
          );
      }
    },
    /** The properties that hold between steps; violations recorded by the ports as they happened are reported first. */
    check(): void {
      const raw = store.raw(KEY);
      if (raw !== undefined && !isStoredSession(raw)) violate('store-valid', `the store holds a record that fails validation: ${JSON.stringify(raw)}`);
      if (violations.length > 0) throw Object.assign(violations[0]!, { trace: [...log] });
    },
    /** After the commands: deliver, answer and let time run until every call has settled, then check that they did. */
    async quiesce(): Promise<void> {
      world.nextStep('quiesce: thaw every window, deliver everything, answer every request with success, run the timers');
      for (const [slot, window] of windows.entries()) if (window.frozen) world.freeze(slot, false);
      for (let round = 0; round < 1_000; round++) {
        while (deliveries.length > 0) world.deliver(0);
        for (const request of world.pending()) world.answer(request, { kind: 'success' });
        await scheduler.waitIdle();
        await new Promise<void>((resolve) => setImmediate(resolve));
        world.check();
        const busy = calls.some((c) => !c.settled) || deliveries.length > 0 || world.pending().length > 0 || scheduler.count() > 0;
        if (!busy || real.advanceToNext() === undefined) break;
      }
      for (const call of calls.filter((c) => !c.settled)) {
        const window = windows[call.slot]!;
        const closed = window.closed || window.incarnation !== call.incarnation;
        violate(closed ? 'outlives-close' : 'liveness', `w${call.slot} ${call.label} (step ${call.step}) never settled${closed ? ' though its window was closed' : ''}`);
      }
      world.check();
    },
  };
  return world;
}

/**
 * The one place a core is built: when createCoordinatorCore's signature or its
 * ports change, only this function changes.
 */
export function openWindow(world: World, slot: number, incarnation: number, held: Array<() => void>): CoordinatorCore {
  const settings: CoordinatorSettings = {
    sessionKey: KEY,
    refreshLeewaySeconds: world.settings.leewaySeconds,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    profile: world.settings.profile === 'grace' ? { reuseGraceSeconds: 30 } : world.settings.profile === 'non-rotating' ? 'non-rotating' : 'oidc',
    retry: { attempts: world.settings.attempts, baseDelayMs: 250, maxDelayMs: MAX_DELAY_MS },
    autoRefresh: world.settings.autoRefresh,
  };
  const frozen = (): boolean => world.windows[slot]?.incarnation === incarnation && world.windows[slot]!.frozen;
  const clock: Clock = {
    now: world.local.now,
    setTimeout: (callback, ms) => world.local.setTimeout(() => (frozen() ? held.push(callback) : callback()), ms),
    clearTimeout: world.local.clearTimeout,
  };
  return createCoordinatorCore(resolveSettings(settings), {
    lock: world.locks,
    channel: world.channelFor(slot, incarnation),
    store: world.storeFor(slot, incarnation),
    clock,
    endpoint: world.endpointFor(slot, incarnation),
    random: () => 0.5,
    sessionIds: world.sessionIds,
    ...(world.settings.autoRefresh && { role: world.roles.port(String(slot)) }),
  });
}
