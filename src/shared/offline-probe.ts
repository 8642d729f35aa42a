import type { NetworkPort } from './ports.js';

/**
 * I7 offline: while the platform reports no network, a window sends one probe
 * request (the flag can be wrong), then none until the platform is back online.
 */
export interface OfflineProbe {
  /** The platform reports no network now. */
  offline(): boolean;
  /** Offline, with this window's probe spent: no refresh is sent. */
  blocked(): boolean;
  /** Notes a request about to be sent; offline, it is the probe. */
  sent(): void;
  close(): void;
}

/** Without a network port the platform is taken to be always online. */
export function createOfflineProbe(network: NetworkPort | undefined): OfflineProbe {
  let spent = false;
  const offline = (): boolean => network !== undefined && !network.isOnline();
  const stop = network?.onOnline(() => {
    spent = false;
  });
  return {
    offline,
    blocked: () => spent && offline(),
    sent() {
      if (offline()) spent = true;
    },
    close: () => stop?.(),
  };
}
