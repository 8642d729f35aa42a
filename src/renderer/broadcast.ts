import { createListenerSet } from '../shared/listeners.js';
import type { ChannelPort } from '../shared/ports.js';

/** The native BroadcastChannel: every same-origin context of the storage partition, never the sender. */
export function openBroadcastChannel(name: string): ChannelPort {
  const channel = new BroadcastChannel(name);
  return {
    post: (message) => channel.postMessage(message),
    subscribe(listener) {
      const onMessage = (event: MessageEvent): void => listener(event.data);
      channel.addEventListener('message', onMessage);
      return () => channel.removeEventListener('message', onMessage);
    },
    close: () => channel.close(),
  };
}

/**
 * The session's channel, closed while the page may sit in the back/forward cache: Chromium evicts a
 * cached page whose open BroadcastChannel receives a message (`BroadcastChannelOnMessage`), so an open
 * channel would cost the restore whenever another window rotates. The restore re-reads the store instead.
 */
export function openSuspendableChannel(name: string): ChannelPort & { suspend(): void; resume(): void } {
  const listeners = createListenerSet<unknown>();
  const attach = (): ChannelPort => {
    const port = openBroadcastChannel(name);
    port.subscribe(listeners.emit);
    return port;
  };
  let state: 'open' | 'suspended' | 'closed' = 'open';
  let port: ChannelPort | undefined = attach();
  return {
    post(message) {
      if (state === 'closed') return;
      if (port) return port.post(message);
      // Suspended but still running (between pagehide and the freeze): announce through a channel that receives nothing.
      const once = openBroadcastChannel(name);
      once.post(message);
      once.close();
    },
    subscribe: listeners.add,
    close() {
      state = 'closed';
      listeners.clear();
      port?.close();
      port = undefined;
    },
    suspend() {
      if (state !== 'open') return;
      state = 'suspended';
      port?.close();
      port = undefined;
    },
    resume() {
      if (state !== 'suspended') return;
      state = 'open';
      port = attach();
    },
  };
}
