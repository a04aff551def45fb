// The admin console and developer portal in headless Chromium: the first
// administrator comes from TESSERA_ADMIN_USERNAME/PASSWORD, adds an API
// application with two redirect URLs, generates keys, copies the secret and
// uses it at /token; the secret is never shown again; developers see only
// their own applications; no console page is reachable signed out.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tesseraHome, launchChromium, onCleanup } from './support.mjs';

const artifacts = path.resolve('artifacts');
mkdirSync(artifacts, { recursive: true });
const home = tesseraHome('console');

const ADMIN = { username: 'root-admin', password: 'a long admin passphrase' };
const DEVELOPERS = [
  { username: 'dev-one', password: 'developer one password' },
  { username: 'dev-two', password: 'developer two password' },
];

const tessera = home.run;

async function startServer() {
  return await home.serve({ TESSERA_ADMIN_USERNAME: ADMIN.username, TESSERA_ADMIN_PASSWORD: ADMIN.password });
}

let issuer;
let server;
let browser;

before(async () => {
  tessera(['scope', 'add', 'contact.read', '--description', 'Read your contacts']);
  for (const developer of DEVELOPERS) {
    tessera(['user', 'add', developer.username, '--password-stdin'], `${developer.password}\n`);
    tessera(['user', 'role', developer.username, 'developer']);
  }
  server = await startServer();
  issuer = server.issuer;
  browser = await launchChromium();
});

async function signIn(context, { username, password }) {
  const page = await context.newPage();
  await page.goto(`${issuer}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/apps$/);
  return page;
}

async function addApplication(page, { name, redirects }) {
  await page.click('text=Add API application');
  await page.waitForURL(/\/admin\/apps\/new$/);
  await page.fill('#name', name);
  await page.fill('#org_url', 'https://example.com');
  const rows = page.locator('input[name=redirect_uri]');
  await rows.nth(0).fill(redirects[0]);
  for (const [index, redirect] of redirects.slice(1).entries()) {
    await page.click('fieldset[data-field=redirect_uri] .add-row');
    await rows.nth(index + 1).fill(redirect);
  }
  await page.check('input[name=scope][value="contact.read"]');
  await page.check('input[name=grant_type][value=client_credentials]');
  await page.check('input[name=grant_type][value=authorization_code]');
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  await page.screenshot({ path: path.join(artifacts, `console-add-${slug}.png`), fullPage: true });
  await page.click('button:has-text("Generate keys")');
  await page.waitForURL(/\/admin\/apps\/[^/]+\?notice=created$/);
  return await page.inputValue('#client-id');
}

test('signed out, every console page sends the browser to the login page', async () => {
  const context = await browser.newContext();
  onCleanup(async () => { await context.close(); });
  const page = await context.newPage();
  for (const target of ['/admin', '/admin/apps', '/admin/apps/new', '/admin/users', '/admin/activity', '/admin/scopes']) {
    const response = await page.goto(`${issuer}${target}`);
    assert.match(page.url(), /\/admin\/login\?next=/, `${target} redirects to the login page`);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['x-frame-options'], 'DENY');
    assert.match(response.headers()['content-security-policy'], /frame-ancestors 'none'/);
  }
  await page.screenshot({ path: path.join(artifacts, 'console-1-login.png'), fullPage: true });
  await page.fill('#username', ADMIN.username);
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  await page.getByText('The username or password is incorrect').waitFor();
  assert.match(page.url(), /\/admin\/login/);
});

test('an administrator adds an application, copies its secret once and it works at /token', async () => {
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: issuer });
  onCleanup(async () => { await context.close(); });
  const page = await signIn(context, ADMIN);
  const session = (await context.cookies()).find((cookie) => cookie.name === 'tessera_admin');
  assert.ok(session.httpOnly, 'the console session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/admin');

  const clientId = await addApplication(page, {
    name: 'Payroll Sync',
    redirects: ['https://payroll.example.com/callback', 'https://payroll.example.com/other-callback'],
  });
  await page.getByText('It is shown only this once').waitFor();
  await page.screenshot({ path: path.join(artifacts, 'console-2-keys-once.png'), fullPage: true });
  await page.click('button.copy[data-copy=client-secret]');
  await page.getByText('Copied').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await page.inputValue('#client-secret'), 'the copy button copies the secret');
  assert.ok(copied.length >= 32);
  const shown = await page.locator('.facts').innerText();
  assert.ok(shown.includes('https://payroll.example.com/callback'), 'first redirect URL saved');
  assert.ok(shown.includes('https://payroll.example.com/other-callback'), 'second redirect URL saved');

  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(copied)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=contact.read',
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, 'contact.read');

  await page.reload();
  await page.getByText('hidden: it was shown once when generated').waitFor();
  assert.equal(await page.locator('#client-secret').count(), 0, 'the secret is not shown after a reload');
  assert.ok(!(await page.content()).includes(copied), 'the secret is nowhere in the page');
  await page.screenshot({ path: path.join(artifacts, 'console-3-after-reload.png'), fullPage: true });

  await page.goto(`${issuer}/admin/activity`);
  await page.getByText('client.created').first().waitFor();
  assert.ok(!(await page.content()).includes(copied), 'the activity log never shows a secret');
  await page.screenshot({ path: path.join(artifacts, 'console-4-activity.png'), fullPage: true });

  await page.goto(`${issuer}/admin/apps?q=payroll`);
  await page.getByRole('link', { name: 'Payroll Sync' }).waitFor();
  await page.screenshot({ path: path.join(artifacts, 'console-5-list.png'), fullPage: true });
});

test('a developer sees only their own applications', async () => {
  const first = await browser.newContext();
  const second = await browser.newContext();
  onCleanup(async () => { await first.close(); await second.close(); });

  const one = await signIn(first, DEVELOPERS[0]);
  assert.equal(await one.getByRole('link', { name: 'Users' }).count(), 0, 'developers have no Users section');
  const ownId = await addApplication(one, { name: 'Dev One Portal', redirects: ['https://one.example.com/cb'] });
  await one.goto(`${issuer}/admin/apps`);
  await one.getByRole('link', { name: 'Dev One Portal' }).waitFor();
  assert.equal(await one.getByRole('link', { name: 'Payroll Sync' }).count(), 0, "the admin's app is not listed");
  await one.screenshot({ path: path.join(artifacts, 'console-6-developer.png'), fullPage: true });

  const two = await signIn(second, DEVELOPERS[1]);
  assert.equal(await two.getByRole('link', { name: 'Dev One Portal' }).count(), 0);
  assert.ok((await two.content()).includes('No applications yet'));
  const peek = await two.goto(`${issuer}/admin/apps/${encodeURIComponent(ownId)}`);
  assert.equal(peek.status(), 404, "another developer's application is not found");
  const users = await two.goto(`${issuer}/admin/users`);
  assert.equal(users.status(), 403, 'developers cannot manage users');

  await two.goto(`${issuer}/admin/apps`);
  await two.click('button:has-text("Sign out")');
  await two.waitForURL(/\/admin\/login/);
  await two.goto(`${issuer}/admin/apps`);
  assert.match(two.url(), /\/admin\/login\?next=/, 'signed out again');
});
