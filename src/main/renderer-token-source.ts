/**
 * The broker's transport to the app windows: the main process sends
 * `tokenherd:broker-request` { id, sessionKey, ... } to one app window that
 * serves that session key, and that window answers on `tokenherd:broker-answer`
 * with the same id. Ids tie answers to requests and to the window asked; a
 * deadline bounds every request; a window that closes mid-request hands it on
 * to another; with no app window at all, a hidden background window is opened
 * (same session, so same Web Locks, BroadcastChannel and IndexedDB).
 */
import { BROKER_REQUEST_CHANNEL, type BrokerAnswerMessage, type BrokerRequest, type IpcEvents, type TokenQuery } from '../desktop/ipc-contract.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import type { TokenSource } from './broker.js';

/** The part of Electron's `WebContents` the source uses. */
export interface ResponderLike {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: typeof BROKER_REQUEST_CHANNEL, request: IpcEvents[typeof BROKER_REQUEST_CHANNEL]): void;
}

/** The timers the token source uses; tests pass a manual one. */
export interface TimerClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link createRendererTokenSource}, all optional. */
export interface RendererTokenSourceOptions {
  /** Whole-request deadline, waiting for a window included. Default 60 000 (the coordinator's own lock and request timeouts are shorter). */
  readonly timeoutMs?: number;
  /** Windows tried per request when the one asked closes before answering. Default 3. */
  readonly maxAttempts?: number;
  readonly clock?: TimerClock;
  readonly newId?: () => string;
  /** Called whenever waiting or busy state changes: the place to re-plan the background window. */
  readonly onChange?: () => void;
}

/**
 * The broker's transport to the app windows. An answer counts only from the window
 * its request was sent to, with that request's id; every request settles once.
 */
export interface RendererTokenSource extends TokenSource {
  /** The window's page serves (or stopped serving) token requests for `sessionKey`. */
  setReady(responder: ResponderLike, sessionKey: string, ready: boolean, role: 'window' | 'background'): void;
  /** An answer from WebContents `senderId`; false when no request with that id was sent to that sender. */
  deliver(senderId: number, answer: BrokerAnswerMessage): boolean;
  /** The WebContents closed, crashed or navigated away: its requests go to another window. */
  forget(responderId: number): void;
  /** Requests waiting for any window to serve their session key. */
  waiting(): number;
  /** Whether a request is out at this window now. */
  isBusy(responderId: number): boolean;
  /** Rejects every request with CLOSED and clears every timer. */
  close(): void;
}

interface Ready {
  readonly responder: ResponderLike;
  readonly role: 'window' | 'background';
  readonly since: number;
}

interface Request {
  readonly sessionKey: string;
  readonly query: TokenQuery;
  attempts: number;
  /** The window asked now, and the id of that message. */
  out?: { readonly responderId: number; readonly id: string };
  settle(outcome: { token: string } | { error: unknown }): void;
}

let counter = 0;
const defaultId = (): string => `${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** A token source over `tokenherd:broker-request` and `tokenherd:broker-answer` (see the module's comment). */
export function createRendererTokenSource(options: RendererTokenSourceOptions = {}): RendererTokenSource {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const clock: TimerClock = options.clock ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const newId = options.newId ?? defaultId;
  const ready = new Map<string, Map<number, Ready>>();
  const requests = new Set<Request>();
  const byId = new Map<string, Request>();
  let order = 0;
  let closed = false;

  const changed = (): void => options.onChange?.();

  function pick(sessionKey: string): ResponderLike | undefined {
    const candidates = [...(ready.get(sessionKey)?.values() ?? [])].filter((r) => !r.responder.isDestroyed());
    // App windows before the background window; among them the one that became ready last.
    candidates.sort((a, b) => (a.role === b.role ? b.since - a.since : a.role === 'window' ? -1 : 1));
    return candidates[0]?.responder;
  }

  /** Sends `request` to a window if one serves its key; otherwise it waits for `setReady`. */
  function dispatch(request: Request): void {
    if (closed || request.out) return;
    const responder = pick(request.sessionKey);
    if (!responder) return;
    if (request.attempts >= maxAttempts) {
      request.settle({ error: new TokenHerdError(DesktopErrorCode.BROKER_TIMEOUT, `${request.attempts} app windows closed before answering; try again`) });
      return;
    }
    request.attempts++;
    const id = newId();
    request.out = { responderId: responder.id, id };
    byId.set(id, request);
    try {
      responder.send(BROKER_REQUEST_CHANNEL, { id, sessionKey: request.sessionKey, ...request.query } satisfies BrokerRequest);
    } catch {
      forget(responder.id); // destroyed between the check and the send
    }
  }

  function forget(responderId: number): void {
    for (const windows of ready.values()) windows.delete(responderId);
    for (const request of requests) {
      if (request.out?.responderId !== responderId) continue;
      byId.delete(request.out.id);
      delete request.out;
      dispatch(request);
    }
    changed();
  }

  return {
    requestToken(sessionKey, query) {
      if (closed) return Promise.reject(new TokenHerdError(ErrorCode.CLOSED, 'the token broker is closed'));
      return new Promise<string>((resolve, reject) => {
        const request: Request = {
          sessionKey,
          query,
          attempts: 0,
          settle(outcome) {
            if (!requests.delete(request)) return;
            clock.clearTimeout(timer);
            if (request.out) byId.delete(request.out.id);
            if ('token' in outcome) resolve(outcome.token);
            else reject(outcome.error);
            changed();
          },
        };
        const timer = clock.setTimeout(
          () => request.settle({ error: new TokenHerdError(DesktopErrorCode.BROKER_TIMEOUT, `no app window answered within ${timeoutMs} ms`) }),
          timeoutMs,
        );
        requests.add(request);
        dispatch(request);
        changed();
      });
    },
    setReady(responder, sessionKey, isReady, role) {
      if (closed) return;
      const windows = ready.get(sessionKey) ?? new Map<number, Ready>();
      ready.set(sessionKey, windows);
      if (isReady) windows.set(responder.id, { responder, role, since: ++order });
      else windows.delete(responder.id);
      for (const request of [...requests]) if (request.sessionKey === sessionKey) dispatch(request);
      changed();
    },
    deliver(senderId, answer) {
      const request = byId.get(answer.id);
      if (!request || request.out?.responderId !== senderId || request.out.id !== answer.id) return false;
      request.settle(answer.ok ? { token: answer.accessToken } : { error: new TokenHerdError(answer.code, answer.message) });
      return true;
    },
    forget,
    waiting: () => [...requests].filter((r) => !r.out).length,
    isBusy: (responderId) => [...requests].some((r) => r.out?.responderId === responderId),
    close() {
      closed = true;
      for (const request of [...requests]) request.settle({ error: new TokenHerdError(ErrorCode.CLOSED, 'the token broker is closed') });
      ready.clear();
    },
  };
}

/** What {@link planBackgroundWindow} asks of the main process. */
export type BackgroundWindowAction = 'open' | 'close' | 'keep';

/**
 * The hidden background window: opened when a token is wanted and no app window
 * exists; closed once an app window exists and the background window has no
 * request out (closing it mid-refresh would release the lock with the outcome
 * unknown); otherwise kept.
 */
export function planBackgroundWindow(state: {
  readonly appWindows: number;
  readonly backgroundOpen: boolean;
  readonly waitingRequests: number;
  readonly backgroundBusy: boolean;
}): BackgroundWindowAction {
  if (state.appWindows === 0) return !state.backgroundOpen && state.waitingRequests > 0 ? 'open' : 'keep';
  return state.backgroundOpen && !state.backgroundBusy ? 'close' : 'keep';
}
