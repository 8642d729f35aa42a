/**
 * The demo window inside the Electron shell: refresh tokens sealed by the OS
 * keychain, sign-in in the system browser, and token requests of the
 * main process's broker answered from this window's coordinator. In a plain
 * browser the bridge is absent and the demo works as before.
 *
 * `?relay=1` (set by the main process with TOKENHERD_TOKEN_ENDPOINT) sends token
 * requests through the main process's token relay.
 *
 * For the browser tests, `?sealer=binding` takes the sealer from two functions
 * the test exposes (`tokenherdTestSeal`, `tokenherdTestUnseal`), and
 * `?relay=binding` the relay from `tokenherdTestRelay`; they run the main
 * process's real handlers in the test process.
 */
import {
  relayedFetch,
  sealerFromBridge,
  serveTokenRequests,
  userAgentFromBridge,
  type DesktopAppBridge,
  type IpcResult,
  type RelayedTokenRequest,
  type RelayedTokenResponse,
  type Sealer,
} from '../../src/desktop/index.js';
import type { TokenCoordinator } from '../../src/renderer/index.js';

declare global {
  interface Window {
    tokenherdDesktop?: DesktopAppBridge;
    tokenherdTestSeal?: (text: string) => Promise<IpcResult<string>>;
    tokenherdTestUnseal?: (sealed: string) => Promise<IpcResult<string>>;
    tokenherdTestRelay?: (request: RelayedTokenRequest) => Promise<IpcResult<RelayedTokenResponse>>;
  }
}

export interface DemoDesktop {
  readonly shell: 'electron' | 'browser';
  readonly role: 'window' | 'background';
  readonly sealer?: Sealer;
  /** Token requests sent by the main process; the client secret, if any, is added there. */
  readonly tokenEndpointFetch?: typeof fetch;
  /** The redirect URI to send to the provider; the browser demo uses its own origin. */
  readonly redirectUri?: string;
  /** Sign-in in the system browser, opened by the main process; resolves with the callback URL. Absent in a browser (it navigates instead). */
  readonly signIn?: (authorizationUrl: string) => Promise<string>;
  /** Lets the main process's broker ask this window for tokens of `coordinator`'s session. */
  serve(sessionKey: string, coordinator: TokenCoordinator): void;
}

export function connectDesktop(params: URLSearchParams): DemoDesktop {
  const bridge = window.tokenherdDesktop;
  if (bridge) {
    return {
      shell: 'electron',
      role: bridge.role,
      sealer: sealerFromBridge(bridge),
      ...(params.get('relay') === '1' && { tokenEndpointFetch: relayedFetch(bridge) }),
      redirectUri: bridge.signInRedirectUri,
      signIn: userAgentFromBridge(bridge),
      serve: (sessionKey, coordinator) => void serveTokenRequests(bridge, sessionKey, coordinator),
    };
  }
  const { tokenherdTestSeal: seal, tokenherdTestUnseal: unseal, tokenherdTestRelay: relayTokenRequest } = window;
  return {
    shell: 'browser',
    role: 'window',
    ...(params.get('sealer') === 'binding' && seal && unseal && { sealer: sealerFromBridge({ seal, unseal }) }),
    ...(params.get('relay') === 'binding' && relayTokenRequest && { tokenEndpointFetch: relayedFetch({ relayTokenRequest }) }),
    serve: () => {},
  };
}
