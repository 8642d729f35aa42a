import { expect, test } from '@playwright/test';
import { IPC_CHANNELS, type IpcChannel } from '../desktop/ipc-contract.js';
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { APP_ORIGIN } from './app-protocol.js';
import { handleIpc } from './ipc.js';
import { createFakeIpcMain, fakeEvent } from '../../test/electron/test-support.js';
import { createTrustRegistry } from './trust.js';

const APP = `${APP_ORIGIN}/index.html?session=demo`;

function setup() {
  const ipc = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [APP_ORIGIN] });
  const calls: unknown[] = [];
  const problems: string[] = [];
  handleIpc(ipc, 'tokenherd:seal', {
    trust: (event) => trust.isAppSender(event),
    onProblem: (_channel, problem) => problems.push(problem),
    handle: (request) => {
      calls.push(request);
      return { sealed: Buffer.from(request.text).toString('base64') };
    },
  });
  handleIpc(ipc, 'tokenherd:view-access-token', {
    trust: (event) => trust.embeddedOrigin(event) !== undefined,
    handle: ({ provider }, event) => {
      if (trust.embeddedOrigin(event) !== 'https://docs.example.com') throw new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, `not for ${provider}`);
      return { accessToken: 'at-1' };
    },
  });
  handleIpc(ipc, 'tokenherd:unseal', {
    trust: (event) => trust.isAppSender(event),
    onProblem: (_channel, problem) => problems.push(problem),
    handle: () => {
      throw new Error('secret detail: /home/alice/.config');
    },
  });
  return { ipc, trust, calls, problems };
}

test.describe('trusted senders', () => {
  test('an app window registered by the main process, on the app origin, main frame: trusted', async () => {
    const { ipc, trust, calls } = setup();
    trust.register(7, 'app');
    expect(await ipc.invoke(fakeEvent(7, APP), 'tokenherd:seal', { text: 'rt' })).toEqual({ ok: true, value: { sealed: 'cnQ=' } });
    expect(calls).toEqual([{ text: 'rt' }]);
  });

  const untrusted: Array<[string, (trust: ReturnType<typeof createTrustRegistry>) => ReturnType<typeof fakeEvent>]> = [
    ['a WebContents nobody registered (a devtools page, a window someone else opened)', () => fakeEvent(8, APP)],
    ['an app window that navigated to another origin', (t) => (t.register(7, 'app'), fakeEvent(7, 'https://evil.example/'))],
    ['an iframe inside an app window, even of the app origin', (t) => (t.register(7, 'app'), fakeEvent(7, APP, { subframe: true }))],
    ['a frame already gone (senderFrame null)', (t) => (t.register(7, 'app'), fakeEvent(7, null))],
    ['an embedded view, even one showing the app origin', (t) => (t.register(9, 'embedded'), fakeEvent(9, APP))],
    ['a page on a look-alike origin', (t) => (t.register(7, 'app'), fakeEvent(7, 'tokenherd://app.evil/index.html'))],
    ['an app window after it was closed (unregistered)', (t) => (t.register(7, 'app')(), fakeEvent(7, APP))],
  ];
  for (const [name, event] of untrusted) {
    test(`refused: ${name}`, async () => {
      const { ipc, trust, calls, problems } = setup();
      const result = await ipc.invoke(event(trust), 'tokenherd:seal', { text: 'rt' });
      expect(result).toMatchObject({ ok: false, code: DesktopErrorCode.UNTRUSTED_SENDER });
      expect(calls).toEqual([]); // the handler never ran
      expect(problems).toHaveLength(1);
    });
  }

  test('an embedded view is trusted only for its own channel, and the handler sees its real origin', async () => {
    const { ipc, trust } = setup();
    trust.register(9, 'embedded');
    expect(await ipc.invoke(fakeEvent(9, 'https://docs.example.com/page'), 'tokenherd:view-access-token', { provider: 'github' })).toEqual({
      ok: true,
      value: { accessToken: 'at-1' },
    });
    expect(await ipc.invoke(fakeEvent(9, 'https://other.example.com/'), 'tokenherd:view-access-token', { provider: 'github' })).toMatchObject({
      ok: false,
      code: DesktopErrorCode.NOT_ALLOWED,
    });
    expect(await ipc.invoke(fakeEvent(9, 'https://docs.example.com/'), 'tokenherd:seal', { text: 'x' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
    trust.register(7, 'app');
    expect(await ipc.invoke(fakeEvent(7, APP), 'tokenherd:view-access-token', { provider: 'github' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
  });

  test('one WebContents cannot be registered under two roles', () => {
    const trust = createTrustRegistry({ appOrigins: [APP_ORIGIN] });
    trust.register(1, 'app');
    expect(() => trust.register(1, 'embedded')).toThrow(/already registered/);
  });
});

test.describe('payload validation', () => {
  const malformed: Array<[string, unknown[]]> = [
    ['no argument', []],
    ['two arguments', [{ text: 'a' }, { text: 'b' }]],
    ['null', [null]],
    ['a string instead of an object', ['rt']],
    ['an array', [['rt']]],
    ['a wrong type', [{ text: 42 }]],
    ['an empty string', [{ text: '' }]],
    ['an extra field', [{ text: 'rt', refreshToken: 'x' }]],
    ['an oversized value', [{ text: 'x'.repeat(16_385) }]],
    ['a missing field', [{}]],
  ];
  for (const [name, args] of malformed) {
    test(`refused before the handler runs: ${name}`, async () => {
      const { ipc, trust, calls } = setup();
      trust.register(7, 'app');
      expect(await ipc.invoke(fakeEvent(7, APP), 'tokenherd:seal', ...args)).toMatchObject({ ok: false, code: DesktopErrorCode.INVALID_PAYLOAD });
      expect(calls).toEqual([]);
    });
  }

  test('every channel of the contract has a validator that refuses garbage', async () => {
    const { validateRequest } = await import('../desktop/ipc-contract.js');
    for (const channel of IPC_CHANNELS as readonly IpcChannel[]) {
      for (const garbage of [undefined, null, 1, 'x', [], {}, { __proto__: { text: 'a' } }, Object.assign(Object.create({ polluted: 1 }), { text: 'a' })]) {
        expect(validateRequest[channel](garbage), `${channel} ${JSON.stringify(garbage)}`).toBe(false);
      }
    }
    expect(validateRequest['tokenherd:view-access-token']({ provider: 'GitHub!' })).toBe(false);
    expect(validateRequest['tokenherd:unseal']({ sealed: 'not base64!' })).toBe(false);
    expect(validateRequest['tokenherd:broker-answer']({ id: 'a1', ok: true, accessToken: 'at', refreshToken: 'rt' })).toBe(false);
    expect(validateRequest['tokenherd:broker-answer']({ id: 'a1', ok: false, code: 'MADE_UP', message: '' })).toBe(false);
    expect(validateRequest['tokenherd:broker-answer']({ id: 'a1', ok: true, accessToken: 'at' })).toBe(true);
    expect(validateRequest['tokenherd:token-request']({ url: 'https://github.com/login/oauth/access_token', body: 'x'.repeat(16_385) })).toBe(false);
    expect(validateRequest['tokenherd:token-request']({ url: 'https://github.com/login/oauth/access_token', body: 'a=b', method: 'GET' })).toBe(false);
    expect(validateRequest['tokenherd:token-request']({ url: 'https://github.com/login/oauth/access_token', body: 'a=b' })).toBe(true);
  });

  test('an unexpected handler failure answers INTERNAL without its detail; the detail goes to the log', async () => {
    const { ipc, trust, problems } = setup();
    trust.register(7, 'app');
    const result = await ipc.invoke(fakeEvent(7, APP), 'tokenherd:unseal', { sealed: 'AAAA' });
    expect(result).toEqual({ ok: false, code: DesktopErrorCode.INTERNAL, message: 'tokenherd:unseal failed' });
    expect(problems.join('\n')).toContain('secret detail');
  });

  test('handleIpc returns the disposer that removes the handler', async () => {
    const ipc = createFakeIpcMain();
    const dispose = handleIpc(ipc, 'tokenherd:seal', { trust: () => true, handle: () => ({ sealed: 'AA==' }) });
    expect(ipc.channels()).toEqual(['tokenherd:seal']);
    dispose();
    expect(ipc.channels()).toEqual([]);
  });
});
