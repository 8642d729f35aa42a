import { createServer } from 'node:http';
import { connect } from 'node:net';
import { expect, test } from '@playwright/test';
import { closeServer, listenOnLoopback } from './loopback.js';

test('closeServer ends at once, even with a connection that never sent a request', async () => {
  const server = createServer((_req, res) => res.end());
  const origin = await listenOnLoopback(server);
  expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const socket = connect(Number(new URL(origin).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const socketClosed = new Promise((resolve) => socket.once('close', resolve));
  await closeServer(server);
  await socketClosed;
  expect(server.listening).toBe(false);
});
