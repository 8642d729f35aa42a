/** Listening on and closing the local test servers (OAuth server, gateway, sites). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 (port 0: any free port); resolves with the server's origin, `http://127.0.0.1:PORT`. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(port, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Stops listening and destroys every connection. `server.close()` alone waits for
 * connections that never sent a request (Chromium opens such sockets ahead of
 * need), and Node ends those only at its 60 s headers timeout.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
