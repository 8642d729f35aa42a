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
