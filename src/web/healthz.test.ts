import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { en } from '../i18n/en.ts';
import { sv } from '../i18n/sv.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { startTestServer, type TestServer } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { recordingStatements, tablesNamedIn } from '../test-support/statements.ts';

const ctx = {} as { db: Db; app: FastifyInstance; server: TestServer; drop: () => Promise<void> };
const test = suite('Health check, error pages, security headers and static files');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.app = await buildTestApp(t.db);
  ctx.server = await startTestServer(t.db);
  await seedUser(t.db, 'KALLE', 'agent');
});
test.after(async () => {
  await ctx.server?.close();
  await ctx.app?.close();
  await ctx.drop?.();
});

// A raw request over a real socket: unlike inject() or fetch(), the path goes out exactly as written.
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(ctx.server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /healthz answers 200 {status: "ok"} without a login', async () => {
  const res = await ctx.app.inject({ method: 'GET', url: '/healthz' });
  assert.is(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), 'application/json');
  assert.equal(res.json(), { status: 'ok' });
});

test('GET /healthz from a logged-in browser asks the database nothing but the check itself', async () => {
  // a load balancer's probe or a monitoring tab may send the session cookie along
  const recording = recordingStatements(ctx.db);
  const app = await buildTestApp(recording.db);
  try {
    const kalle = new TestClient(app);
    await kalle.login('kalle');
    recording.statements.length = 0;
    const res = await kalle.get('/healthz');
    assert.is(res.statusCode, 200);
    assert.not.ok(
      recording.statements.some((s) => tablesNamedIn(s).includes('notifications')),
      'the bell is not counted for a health check',
    );
  } finally {
    await app.close();
  }
});

test('an unknown URL shows the 404 page to a logged-in user', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.get('/no-such-page', { headers: { accept: 'text/html' } });
  assert.is(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), 'text/html');
  assert.match(res.body, sv['errors.not_found_title']);
  assert.match(res.body, sv['errors.not_found']);
});

test('a form body over the size limit answers 413 saying it was too large, not "invalid value"', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const form = { _csrf: client.csrf, title: 'x'.repeat(2 * 1024 * 1024) };
  const page = await client.request({ method: 'POST', url: '/cases/new', form, headers: { accept: 'text/html' } });
  assert.is(page.statusCode, 413);
  assert.match(page.body, sv['errors.body_too_large']);
  assert.not.match(page.body, sv['errors.invalid']);
  const partial = await client.request({ method: 'POST', url: '/cases/new', form, htmx: true });
  assert.is(partial.statusCode, 413);
  assert.is(partial.body, sv['errors.body_too_large']);
});

test('an over-long URL answers 414 or 431 with the short error text in the reader’s language, not raw JSON', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  // A 5,000-digit case number: longer than the router takes in one path segment.
  const url = `/cases/${'9'.repeat(5000)}/quick-edit`;
  const partial = await client.request({ method: 'POST', url, form: { _csrf: client.csrf }, htmx: true });
  assert.is(partial.statusCode, 414);
  assert.match(String(partial.headers['content-type']), 'text/plain');
  assert.is(partial.body, sv['errors.url_too_long']);
  const english = await ctx.app.inject({
    method: 'GET',
    url: `/cases/${'9'.repeat(5000)}`,
    headers: { accept: 'text/html', 'accept-language': 'en' },
  });
  assert.is(english.statusCode, 414);
  assert.match(String(english.headers['content-type']), 'text/plain');
  assert.is(english.body, en['errors.url_too_long']);
  // Over Node's header limit (16 KB) the HTTP parser refuses the request before the router sees it.
  // Its language headers come after the URL, beyond what the parser got: every language, the default first.
  const huge = await rawGet(`/cases?q=${'x'.repeat(100 * 1024)}`, { 'accept-language': 'en' });
  assert.is(huge.status, 431);
  assert.is(huge.body, `${sv['errors.url_too_long']}\n\n${en['errors.url_too_long']}`);
  // Headers over the limit after Accept-Language: the reader's language.
  const header = await rawGet('/cases', { 'accept-language': 'en', 'x-filler': 'x'.repeat(20 * 1024) });
  assert.is(header.status, 431);
  assert.is(header.body, en['errors.url_too_long']);
});

test('the overview’s search field takes no more than the server keeps of it', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const page = await client.get('/cases');
  assert.match(page.body, /<input id="filter-q" name="q" type="search"[^>]* maxlength="200"/);
});

test('an unknown URL sends an anonymous visitor to the login page, not to a 404', async () => {
  const res = await ctx.app.inject({ method: 'GET', url: '/no-such-page' });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/login?next=%2Fno-such-page');
});

test('pages carry the security headers', async () => {
  const res = await ctx.app.inject({ method: 'GET', url: '/login' });
  assert.is(res.statusCode, 200);
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, "script-src 'self'");
  assert.not.match(csp, /script-src[^;]*unsafe-inline/);
  assert.match(csp, "frame-ancestors 'none'");
  assert.match(csp, "object-src 'none'");
  assert.is(res.headers['x-content-type-options'], 'nosniff');
});

test('front-end libraries and our own assets are served without a login', async () => {
  const assets: [string, string][] = [
    ['/vendor/htmx.min.js', 'javascript'],
    ['/vendor/trix.umd.min.js', 'javascript'],
    ['/vendor/trix.css', 'text/css'],
    ['/static/app.css', 'text/css'],
    ['/static/app.js', 'javascript'],
  ];
  for (const [url, type] of assets) {
    const res = await ctx.app.inject({ method: 'GET', url });
    assert.is(res.statusCode, 200, url);
    assert.match(String(res.headers['content-type']), type, url);
    assert.ok(res.body.length > 100, `${url} has content`);
  }
});

test('only the listed vendor files are served, not the rest of node_modules', async () => {
  for (const url of ['/vendor/htmx.js', '/vendor/trix.esm.js', '/vendor/package.json']) {
    const res = await ctx.app.inject({ method: 'GET', url });
    assert.is.not(res.statusCode, 200, url);
  }
});

test('path traversal out of /vendor/ or /static/ does not leak package.json', async () => {
  const attempts = [
    '/vendor/../package.json',
    '/vendor/../../package.json',
    '/vendor/../../../package.json',
    '/vendor/%2e%2e/package.json',
    '/vendor/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/vendor/..%2f..%2f..%2fpackage.json',
    '/vendor/..%5c..%5c..%5cpackage.json',
    '/static/../package.json',
    '/static/%2e%2e/package.json',
    '/static/..%2fpackage.json',
    '/static/%2e%2e%2fpackage.json',
  ];
  for (const path of attempts) {
    for (const res of [await rawGet(path), await ctx.app.inject({ method: 'GET', url: path })]) {
      const status = 'status' in res ? res.status : res.statusCode;
      assert.is.not(status, 200, path);
      assert.not.match(res.body, '"casedesk"', path);
      assert.not.match(res.body, 'devDependencies', path);
    }
  }
});

test.run();
