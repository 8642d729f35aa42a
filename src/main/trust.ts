import { originOf } from './origins.js';

/** The part of Electron's `WebFrameMain` the checks read. */
export interface SenderFrameLike {
  readonly url: string;
  readonly parent: unknown;
}

/** The part of Electron's `IpcMainInvokeEvent` the checks read. */
export interface IpcEventLike {
  readonly sender: { readonly id: number };
  /** Null when the frame navigated away or was destroyed before the handler ran. */
  readonly senderFrame: SenderFrameLike | null;
}

/**
 * - `app`: a window of the app itself (its own origin, the app preload): may seal,
 *   unseal, sign in and answer token requests.
 * - `embedded`: a view of another origin or partition (the embedded preload): may
 *   only ask for an access token, and only from an allowlisted origin.
 */
export type SenderRole = 'app' | 'embedded';

/** The WebContents the main process created and trusts, each with one role, and the checks of IPC events against them. */
export interface TrustRegistry {
  /** Called by the code that creates the WebContents, never by a renderer. Returns the disposer. */
  register(webContentsId: number, role: SenderRole): () => void;
  roleOf(webContentsId: number): SenderRole | undefined;
  /** A registered app WebContents, its main frame, showing a page of the app's own origin. */
  isAppSender(event: IpcEventLike): boolean;
  /** The sending frame's origin, if the sender is a registered embedded view; undefined otherwise. */
  embeddedOrigin(event: IpcEventLike): string | undefined;
}

/**
 * Which WebContents the main process trusts, by id, as the code that created
 * them registered them. A sender is judged by that registration and by the URL
 * of the frame that sent the message (not by anything the message says), so a
 * page that navigated elsewhere, an iframe, or a WebContents someone else
 * created is refused.
 */
export function createTrustRegistry(options: { readonly appOrigins: readonly string[] }): TrustRegistry {
  const appOrigins = new Set(options.appOrigins);
  const roles = new Map<number, SenderRole>();

  const frameOrigin = (event: IpcEventLike): string | undefined => {
    const frame = event.senderFrame;
    return frame ? originOf(frame.url) : undefined;
  };

  return {
    register(id, role) {
      if (!Number.isSafeInteger(id)) throw new Error(`invalid WebContents id ${String(id)}`);
      if (roles.has(id) && roles.get(id) !== role) throw new Error(`WebContents ${id} is already registered as ${roles.get(id)}`);
      roles.set(id, role);
      return () => {
        if (roles.get(id) === role) roles.delete(id);
      };
    },
    roleOf: (id) => roles.get(id),
    isAppSender(event) {
      if (roles.get(event.sender.id) !== 'app') return false;
      const frame = event.senderFrame;
      if (!frame || (frame.parent !== null && frame.parent !== undefined)) return false;
      const origin = frameOrigin(event);
      return origin !== undefined && appOrigins.has(origin);
    },
    embeddedOrigin(event) {
      return roles.get(event.sender.id) === 'embedded' ? frameOrigin(event) : undefined;
    },
  };
}
