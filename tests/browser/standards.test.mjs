// Newer standards driven by openid-client (and the oauth4webapi it is built
// on), libraries we did not write: a DPoP-bound client_credentials grant
// (RFC 9449) and a pushed authorization request (RFC 9126) whose request_uri
// a browser then follows.

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
