import { expect, test } from './support/fixtures.js';

// A person's pace: the token must outlive the clicks through the sign-in pages.
test.use({ serverOptions: { accessTokenTtlSeconds: 60 } });

test('the demo signs in through the real login and consent pages, and every window follows', async ({ app, oauth }) => {
  const [signer, watcher] = await app.open(2);
  await signer!.click('#sign-in');
  await signer!.locator('input[name="login"]').fill('octocat');
  await signer!.locator('input[name="password"]').fill('any password');
  await signer!.locator('button[type="submit"]').click();
  await signer!.locator('button[type="submit"]').click(); // consent: "Continue"
  await signer!.waitForURL((url) => url.searchParams.has('issuer') && !url.searchParams.has('code'));
  await signer!.evaluate(() => window.tokenherdDemo.ready);
  await app.waitForStatus(signer!, 'signed-in');
  await app.waitForStatus(watcher!, 'signed-in');
  await expect(watcher!.locator('#status')).toHaveText('signed-in');
  await expect(watcher!.locator('#generation')).toHaveText('1');
  const token = await watcher!.evaluate(() => window.tokenherdDemo.token());
  expect(token.ok && (await oauth.accessTokenValid(token.token))).toBe(true);
  await watcher!.click('#call');
  await expect(watcher!.locator('#last-call')).toHaveText('userinfo: HTTP 200');
  await signer!.click('#sign-out');
  await expect(watcher!.locator('#status')).toHaveText('signed-out');
});
