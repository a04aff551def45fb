// Newer standards driven by openid-client (and the oauth4webapi it is built
// on), libraries we did not write: a DPoP-bound client_credentials grant
// (RFC 9449), a pushed authorization request (RFC 9126) whose request_uri
// a browser then follows, and a server that requires both pushed requests and
// DPoP nonces, which openid-client retries for by itself.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { tesseraHome, launchChromium } from './support.mjs';

const home = tesseraHome('standards');
const tessera = home.run;

let issuer;
before(async () => {
  tessera(['scope', 'add', 'contact.read', '--description', 'Read your contacts']);
  tessera(['user', 'add', 'bob', '--password-stdin', '--email', 'bob@example.com', '--email-verified'],
    'correct horse battery\n');
  issuer = (await home.serve()).issuer;
});

const insecure = { execute: [oidc.allowInsecureRequests] };

test('a DPoP-bound client_credentials token carries the thumbprint of the key that proved possession', async () => {
  const app = JSON.parse(tessera(['client', 'create', '--name', 'Agent', '--scope', 'contact.read',
    '--introspect-any-token', '--output', 'json']));
  const config = await oidc.discovery(new URL(issuer), app.client_id, app.client_secret, undefined, insecure);
  assert.deepEqual(config.serverMetadata().dpop_signing_alg_values_supported.includes('ES256'), true);

  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'contact.read' },
    { DPoP: oidc.getDPoPHandle(config, keyPair) });
  assert.equal(tokens.token_type, 'dpop');

  const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), 'sha256');
  const claims = jose.decodeJwt(tokens.access_token);
  assert.equal(claims.cnf?.jkt, thumbprint, 'the token is bound to the client\'s key (RFC 9449 §6.1)');

  const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(introspected.active, true);
  assert.equal(introspected.cnf?.jkt, thumbprint);

  // The same grant without a proof is an ordinary Bearer token, with no binding.
  const bearer = await oidc.clientCredentialsGrant(config, { scope: 'contact.read' });
  assert.equal(bearer.token_type, 'bearer');
  assert.equal(jose.decodeJwt(bearer.access_token).cnf, undefined);
});

test('a pushed authorization request is followed in Chromium to a code that openid-client redeems', async () => {
  const app = JSON.parse(tessera(['client', 'create', '--name', 'Pushed App',
    '--redirect-uri', 'http://127.0.0.1/callback', '--grant-type', 'authorization_code',
    '--scope', 'contact.read', '--output', 'json']));
  const config = await oidc.discovery(new URL(issuer), app.client_id, app.client_secret, undefined, insecure);
  assert.ok(config.serverMetadata().pushed_authorization_request_endpoint);

  // Nothing listens here: the browser's navigation to it is caught below.
  const redirectUri = 'http://127.0.0.1:9/callback';
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'contact.read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  assert.deepEqual([...authorizationUrl.searchParams.keys()].sort(), ['client_id', 'request_uri'],
    'only a reference travels through the browser');

  const browser = await launchChromium();
  const page = await browser.newPage();
  let callback;
  await page.route('http://127.0.0.1:9/**', async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, body: 'signed in' });
  });
  await page.goto(authorizationUrl.href);
  await page.getByText('Pushed App').first().waitFor();
  await page.fill('#username', 'bob');
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.click('button[value=allow]');
  await page.waitForURL('http://127.0.0.1:9/**');

  assert.equal(callback.searchParams.get('state'), state, 'the pushed state comes back');
  const tokens = await oidc.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.scope, 'contact.read');
  assert.ok(jose.decodeJwt(tokens.access_token).sub);

  // The request_uri was single-use.
  const again = await browser.newPage();
  const response = await again.goto(authorizationUrl.href);
  assert.equal(response.status(), 400);
});

/** Where `url` redirects a signed-in browser to at 127.0.0.1:47999 (nothing listens there). */
async function followToCallback(page, url) {
  const request = page.waitForRequest((request) => request.url().startsWith('http://127.0.0.1:47999/'));
  await page.goto(url).catch(() => {});
  return new URL((await request).url());
}

test('a server requiring pushed requests and DPoP nonces serves openid-client\'s DPoP code flow', async () => {
  const strictHome = tesseraHome('standards-strict');
  strictHome.run(['scope', 'add', 'contact.read', '--description', 'Read your contacts']);
  strictHome.run(['user', 'add', 'carol', '--password-stdin'], 'correct horse battery\n');
  const strictIssuer = (await strictHome.serve({
    TESSERA_REQUIRE_DPOP_NONCE: 'true',
    TESSERA_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true',
  })).issuer;
  const app = JSON.parse(strictHome.run(['client', 'create', '--name', 'Nonce App',
    '--redirect-uri', 'http://127.0.0.1/callback', '--scope', 'openid', '--scope', 'contact.read',
    '--dpop-bound-access-tokens', '--output', 'json']));
  const config = await oidc.discovery(new URL(strictIssuer), app.client_id, app.client_secret, undefined,
    insecure);
  assert.equal(config.serverMetadata().require_pushed_authorization_requests, true);

  // Nonces at /token: a proof without one is refused with a nonce to retry with...
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const proof = await new jose.SignJWT({ htm: 'POST', htu: `${strictIssuer}/token`, jti: oidc.randomState() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await jose.exportJWK(keyPair.publicKey) })
    .setIssuedAt()
    .sign(keyPair.privateKey);
  const asked = await fetch(`${strictIssuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      DPoP: proof,
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(asked.status, 400);
  assert.ok(asked.headers.get('dpop-nonce'), 'a DPoP-Nonce to retry with');
  assert.equal((await asked.json()).error, 'use_dpop_nonce');
  // ...which openid-client does by itself.

  const DPoP = oidc.getDPoPHandle(config, keyPair);
  const machine = await oidc.clientCredentialsGrant(config, { scope: 'contact.read' }, { DPoP });
  assert.equal(machine.token_type, 'dpop');
  // The client must use DPoP: without it, no token.
  await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'contact.read' }),
    (err) => err.error === 'invalid_dpop_proof');

  // The code flow: pushed with a proof (so the code is bound to the key), signed in through
  // Chromium, redeemed and used at userinfo with proofs, a nonce in each.
  // Nothing listens here either; a port Chromium does not call unsafe, since the
  // browser is sent there by redirects from page.goto below.
  const redirectUri = 'http://127.0.0.1:47999/callback';
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'openid contact.read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  }, { DPoP });
  const browser = await launchChromium();
  const page = await browser.newPage();
  let callback;
  await page.route('http://127.0.0.1:47999/**', async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, body: 'signed in' });
  });
  await page.goto(authorizationUrl.href);
  await page.getByText('Nonce App').first().waitFor();
  await page.fill('#username', 'carol');
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.click('button[value=allow]');
  await page.waitForURL('http://127.0.0.1:47999/**');
  assert.equal(callback.searchParams.get('state'), state);

  // The code is bound to the key of the push: another key cannot redeem it.
  const otherKey = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  await assert.rejects(oidc.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: otherKey }),
  (err) => err.error === 'invalid_grant');

  // A fresh push and sign-in for the real redemption (the code above is spent).
  const secondVerifier = oidc.randomPKCECodeVerifier();
  const secondUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'openid contact.read',
    code_challenge: await oidc.calculatePKCECodeChallenge(secondVerifier),
    code_challenge_method: 'S256',
    state,
  }, { DPoP });
  callback = await followToCallback(page, secondUrl.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: secondVerifier, expectedState: state }, undefined, { DPoP });
  assert.equal(tokens.token_type, 'dpop');
  const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), 'sha256');
  assert.equal(jose.decodeJwt(tokens.access_token).cnf?.jkt, thumbprint);
  const sub = tokens.claims().sub;
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub, { DPoP });
  assert.equal(userinfo.sub, sub);

  // Without the pushed request, the authorization endpoint sends the browser back with invalid_request.
  const plain = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'contact.read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  callback = await followToCallback(page, plain.href);
  assert.equal(callback.searchParams.get('error'), 'invalid_request');
});
