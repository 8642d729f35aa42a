import { hintOf, parseHint } from '../shared/messages.js';
import { createNoticeListeners, type NoticePort } from './backend.js';
import type { PostgresBackendOptions } from './postgres-backend.js';

type Pool = PostgresBackendOptions['pool'];
type PoolClient = Awaited<ReturnType<Pool['connect']>>;

/** Between reconnections of the LISTEN connection after it was lost: grows to the cap. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * LISTEN on one pooled connection, opened with the first listener. When it is
 * lost (server restart), it reconnects with backoff and then gives every listener
 * a hint, since notices sent meanwhile were missed.
 */
export function createPostgresNotices(pool: Pool, channel: string): { port: NoticePort; close(): Promise<void> } {
  const listeners = createNoticeListeners();
  let client: PoolClient | undefined;
  let release = (): void => {};
  let connecting: Promise<void> | undefined;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  function onNotification(notification: { channel: string; payload?: string | undefined }): void {
    if (notification.channel !== channel || notification.payload === undefined) return;
    let data: unknown;
    try {
      data = JSON.parse(notification.payload);
    } catch {
      return; // not ours
    }
    // Only the hint is taken: a token in a notification (anyone with database access can NOTIFY) is ignored.
    const hint = parseHint(data, Date.now());
    if (hint) listeners.emit(hint);
  }

  function connect(missedSome: boolean): void {
    if (closed || connecting || client || listeners.size === 0) return;
    connecting = (async () => {
      const next = await pool.connect();
      let released = false;
      const discard = (): void => {
        if (released) return;
        released = true;
        next.release(true);
        if (client === next) client = undefined;
      };
      next.on('notification', onNotification);
      next.on('error', () => {
        discard();
        scheduleReconnect();
      });
      try {
        await next.query(`LISTEN ${channel}`);
      } catch (error) {
        discard();
        throw error;
      }
      if (closed) {
        discard();
        return;
      }
      release = discard;
      client = next;
      retryMs = RECONNECT_MIN_MS;
      if (missedSome) for (const sessionKey of listeners.keys()) listeners.emit({ sessionKey, generation: 0 });
    })()
      .catch(() => scheduleReconnect())
      .finally(() => {
        connecting = undefined;
      });
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect(true);
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(RECONNECT_MAX_MS, retryMs * 2);
  }

  return {
    port: {
      announce(hint) {
        void pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(hintOf(hint))]).catch(() => {});
      },
      listen(sessionKey, listener) {
        const stopListening = listeners.listen(sessionKey, listener);
        connect(false);
        return stopListening;
      },
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await connecting;
      release();
    },
  };
}
