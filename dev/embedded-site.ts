/**
 * A tiny site of another origin: the page an embedded view shows (a provider's
 * pull-request page, a docs pane) or an API it calls. It records what each
 * request carried, so tests can see exactly which requests got a bearer token.
 */
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from './loopback.js';

export interface SiteRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

export interface Site {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly requests: SiteRequest[];
  /** Origins whose pages may read this site's `/api/*` answers; may grow after start. */
  readonly corsOrigins: Set<string>;
  close(): Promise<void>;
}

export interface SiteOptions {
  readonly port?: number;
  /** Served at `/`. */
  readonly html?: string;
  /** Origins whose pages may read this site's `/api/*` answers. */
  readonly corsOrigins?: readonly string[];
}

/** `/api/*` answers `{ "path": ..., "authorized": true|false }`, never echoing the header itself. */
export async function startSite(options: SiteOptions = {}): Promise<Site> {
  const requests: SiteRequest[] = [];
  const cors = new Set<string>(options.corsOrigins ?? []);
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization });
    const origin = req.headers.origin;
    if (origin !== undefined && cors.has(origin)) res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Cache-Control', 'no-store');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Headers', 'authorization');
      res.writeHead(204).end();
    } else if (path === '/' && options.html !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(options.html);
    } else if (path.startsWith('/api/')) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ path, authorized: req.headers.authorization !== undefined }));
    } else {
      res.writeHead(404).end();
    }
  });
  return {
    origin: await listenOnLoopback(server, options.port),
    requests,
    corsOrigins: cors,
    close: () => closeServer(server),
  };
}

/** The page `npm start` shows in the desktop app's embedded view: it calls the provider's API and asks the broker for a token. */
export function embeddedDemoPage(options: { readonly apiUrl: string; readonly provider: string }): string {
  const config = JSON.stringify(options).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Embedded view (another origin)</title>
<style>body{font:14px system-ui;margin:1.5rem;background:#fffbea}code{word-break:break-all}</style></head>
<body>
<h1>Embedded view</h1>
<p>This page is another origin in another partition. It never sees a refresh token.</p>
<p><button id="call">Call the provider API</button> (the app adds <code>Authorization</code> at the network layer)</p>
<p id="call-result">–</p>
<p><button id="token">Ask the app for an access token</button> (<code>window.tokenherdBroker</code>)</p>
<p id="token-result">–</p>
<script>
const config = ${config};
const show = (id, text) => { document.getElementById(id).textContent = text; };
document.getElementById('call').onclick = async () => {
  try { const r = await fetch(config.apiUrl); show('call-result', 'HTTP ' + r.status + ' ' + (await r.text()).slice(0, 200)); }
  catch (e) { show('call-result', String(e)); }
};
document.getElementById('token').onclick = async () => {
  try { const t = await window.tokenherdBroker.getAccessToken(config.provider); show('token-result', 'access token ' + t.slice(0, 8) + '…'); }
  catch (e) { show('token-result', String(e)); }
};
</script>
</body></html>`;
}
