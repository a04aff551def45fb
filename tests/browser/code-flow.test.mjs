// The authorization code flow in a real browser: an application (openid-client,
// a relying-party library we did not write) sends headless Chromium to
// Tessera, the user signs in and consents, the code comes back with the same
// state, and is redeemed; the ID token, userinfo and refresh rotation are checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import { tesseraHome, launchChromium, onCleanup } from './support.mjs';

const artifacts = path.resolve('artifacts');
mkdirSync(artifacts, { recursive: true });
const home = tesseraHome('browser');
const tessera = home.run;

/** The application's redirect endpoint: resolves with the first callback URL. */
async function startCallbackServer() {
  let deliver;
  const received = new Promise((resolve) => { deliver = resolve; });
  const server = createServer((request, response) => {
    deliver(new URL(request.url, `http://${request.headers.host}`));
    response.end('signed in');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => { server.close(); });
  return { port: server.address().port, received };
}

test('a user signs in and consents in Chromium; the application gets verified tokens', async () => {
  tessera(['scope', 'add', 'contact.read', '--description', 'Read your contacts']);
  tessera(['user', 'add', 'alice', '--password-stdin', '--email', 'alice@example.com', '--email-verified', '--name', 'Alice Liddell'],
    'correct horse battery\n');
  // Registered without a port: RFC 8252 lets a native app pick any loopback port.
  const app = JSON.parse(tessera(['client', 'create', '--name', 'Browser App', '--org-url', 'https://app.example.com',
    '--redirect-uri', 'http://127.0.0.1/callback',
    '--scope', 'openid', '--scope', 'profile', '--scope', 'email', '--scope', 'offline_access', '--scope', 'contact.read',
    '--output', 'json']));
  const userId = JSON.parse(tessera(['user', 'list', '--output', 'json']))[0].user_id;

  const { issuer } = await home.serve();
  const callback = await startCallbackServer();
  const redirectUri = `http://127.0.0.1:${callback.port}/callback`;
  const config = await oidc.discovery(new URL(issuer), app.client_id, app.client_secret, undefined,
    { execute: [oidc.allowInsecureRequests] });

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access contact.read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(authorizationUrl.href);
  await assert.doesNotReject(page.getByText('Browser App').first().waitFor());
  await page.screenshot({ path: path.join(artifacts, '1-login.png'), fullPage: true });
  await page.fill('#username', 'alice');
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');

  await page.getByText('Allow Browser App to access your account?').waitFor();
  await page.getByText('Read your contacts').waitFor();
  await page.screenshot({ path: path.join(artifacts, '2-consent.png'), fullPage: true });
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === 'tessera_session');
  assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Lax');
  await page.click('button[value=allow]');

  const callbackUrl = await callback.received;
  assert.equal(callbackUrl.searchParams.get('state'), state, 'state comes back unchanged');
  assert.equal(callbackUrl.searchParams.get('iss'), issuer);

  // openid-client checks state, iss (RFC 9207), the ID token's claims and nonce.
  const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.sub, userId);
  assert.equal(claims.aud, app.client_id);
  assert.ok(claims.auth_time > 0);
  assert.equal(tokens.scope, 'contact.read email offline_access openid profile');

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(userinfo.email, 'alice@example.com');
  assert.equal(userinfo.email_verified, true);
  assert.equal(userinfo.name, 'Alice Liddell');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token),
    (error) => error.error === 'invalid_grant', 'the rotated refresh token is dead');
});
