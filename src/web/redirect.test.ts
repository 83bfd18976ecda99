import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { TestClient, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import {
  type AppRoute,
  buildAppWithRoutes,
  fieldsFor,
  fillPath,
  logInAndCollectForms,
  realParams,
  seedOneOfEach,
  urlencoded,
} from '../test-support/every-route.ts';
import { safeRedirectTarget } from './redirect.ts';

const ctx = {} as { db: Db; app: FastifyInstance; routes: AppRoute[]; drop: () => Promise<void> };
const test = suite('Redirects go to a path on this site, whatever a request carries');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const { app, routes } = await buildAppWithRoutes(t.db);
  Object.assign(ctx, { app, routes });
});
test.after(async () => {
  await ctx.app?.close();
  await ctx.drop?.();
});

const origin = 'http://casedesk.test';

// What a browser would make of a Location or HX-Redirect: it must stay on this site. The WHATWG
// parser drops tabs and line breaks and reads "/\" as "//", as browsers do.
function assertStaysOnSite(res: LightMyRequestResponse, what: string) {
  for (const header of ['location', 'hx-redirect']) {
    const target = res.headers[header];
    if (target === undefined) continue;
    const text = String(target);
    assert.not.match(text, /\p{Cc}/u, `${what}: ${header} has no control characters`);
    assert.is(new URL(text, `${origin}/here`).origin, origin, `${what}: ${header} ${text.slice(0, 80)} stays on site`);
  }
}

const hostileTargets = [
  '/x\r\nX: 1',
  '/x\ny',
  '/x\u0000y',
  '/x\ty',
  '/\t/evil.example',
  '//evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  'https://evil.example/',
  'javascript:alert(1)',
  '/x\u2028y',
  '/€?q=ö',
  `/${'a'.repeat(100_000)}`,
];

// The route sweep sends these, one of each kind, to keep it quick: the first three (a header
// injection, a good path a route may take, and another site's address, plain text long enough
// for a length rule such as a new password's) to every route, all of them to each route those
// showed redirecting.
const sweepTargets = [
  '/x\r\nX: 1',
  '/€',
  'https://evil.example/',
  '/x\u0000y',
  '/\t/evil.example',
  '//evil.example',
  '/\\evil.example',
  `/${'a'.repeat(100_000)}`,
];

test('safeRedirectTarget keeps paths on this site and refuses everything else', () => {
  assert.is(safeRedirectTarget('/cases?q=skrivare&page=2'), '/cases?q=skrivare&page=2');
  assert.is(safeRedirectTarget('/projects/P%2F1'), '/projects/P%2F1');
  for (const target of hostileTargets.filter((t) => t !== '/€?q=ö')) {
    assert.is(safeRedirectTarget(target, '/fallback'), '/fallback', JSON.stringify(target.slice(0, 40)));
  }
  assert.is(safeRedirectTarget(['/a', '/b'], '/fallback'), '/fallback');
  assert.is(safeRedirectTarget(undefined), '/');
  // characters Node refuses in a header, or would send as Latin-1, go percent-encoded as UTF-8
  assert.is(safeRedirectTarget('/€?q=ö'), '/%E2%82%AC?q=%C3%B6');
  assert.is(safeRedirectTarget('/a b'), '/a%20b');
});

test('POST /account/language with a CR LF in "back" answers with a redirect home, and the server stays up', async () => {
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const res = await client.post('/account/language', { language: 'en', back: '/x\r\nX: 1' });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/');
  assert.is(res.headers.x, undefined);
  assert.is((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

test('a saved view with an empty name and a raw query goes back to the canonical overview', async () => {
  await seedOneOfEach(ctx.db);
  const client = new TestClient(ctx.app);
  await client.login('FUZZ');
  const res = await client.post('/cases/views', { name: '', query: 'kind=all&x=\r\nSet-Cookie: a=b' });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/cases?kind=all');
  assert.is((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

test('a login with a hostile "next" lands on a path of this site', async () => {
  for (const target of hostileTargets) {
    const client = new TestClient(ctx.app);
    await client.get('/login');
    const res = await client.post('/login', { login: 'FUZZ', password: testPassword, next: target });
    assert.is(res.statusCode, 303);
    assertStaysOnSite(res, `next=${JSON.stringify(target.slice(0, 30))}`);
    assert.ok(String(res.headers.location).length < 3000);
  }
});

// Every route, found as Fastify registered it, gets each hostile target in all the fields its
// pages' forms send and in back, next and query (which any route might read); then once more
// with the form's own values and the target in back, next and query only. Public routes get the
// same from a visitor who is not logged in.
test('hostile targets sent to every route: no answer is a 5xx or leaves the site, /healthz stays up', async () => {
  const params = await realParams(ctx.db);
  const login = 'FUZZ';
  const { client, forms } = await logInAndCollectForms(ctx.app, ctx.routes, params, login);
  const visitor = new TestClient(ctx.app);
  await visitor.get('/login');
  const redirecting = new Set<string>();
  let sent = 0;

  // Whether the answer redirected (anywhere but the login page, which every route may do).
  const send = async (
    who: TestClient,
    route: AppRoute,
    url: string,
    pairs: [string, string][],
    what: string,
  ): Promise<boolean> => {
    const res =
      route.method === 'GET'
        ? await who.get(`${url}?${urlencoded(pairs).toString()}`)
        : await who.request({
            method: route.method as 'POST',
            url,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: urlencoded([['_csrf', who.csrf], ...pairs]),
          });
    sent++;
    assert.ok(
      res.statusCode < 500,
      `${route.method} ${route.url} ${what}: ${res.statusCode} ${res.body.slice(0, 200)}`,
    );
    assertStaysOnSite(res, `${route.method} ${route.url} ${what}`);
    const target = String(res.headers.location ?? res.headers['hx-redirect'] ?? '');
    const redirected = target !== '' && !target.startsWith('/login');
    if (who === client && redirected) redirecting.add(`${route.method} ${route.url}`);
    return redirected;
  };

  for (const [route, set] of ctx.routes.flatMap((r) => params(r).map((s) => [r, s] as const))) {
    if (route.url.startsWith('/static/') || route.url.startsWith('/vendor/')) continue;
    const url = fillPath(route.url, set);
    const baseline = fieldsFor(route, url, forms);
    const names = [...new Set([...baseline.keys(), 'back', 'next', 'query'])];
    // logging out would end the session the other routes need
    const who = route.url === '/logout' ? visitor : client;
    let redirects = false;
    for (const [i, target] of sweepTargets.entries()) {
      if (i > 2 && !redirects) break;
      const label = JSON.stringify(target.slice(0, 30));
      const answers = [
        await send(
          who,
          route,
          url,
          names.map((n) => [n, target]),
          `all fields ${label}`,
        ),
      ];
      const pairs = [...baseline].filter(([n]) => !['back', 'next', 'query'].includes(n));
      answers.push(
        await send(
          who,
          route,
          url,
          [...pairs, ['back', target], ['next', target], ['query', target]],
          `targets ${label}`,
        ),
      );
      if (route.public && who === client)
        answers.push(
          await send(
            visitor,
            route,
            url,
            names.map((n) => [n, target]),
            `visitor ${label}`,
          ),
        );
      redirects ||= answers.some(Boolean);
    }
    const health = await ctx.app.inject({ method: 'GET', url: '/healthz' });
    assert.is(health.statusCode, 200, `/healthz after ${route.method} ${route.url}`);
    // a route may have ended the session: carry on logged in
    if ((await client.get('/account')).statusCode !== 200) await client.login(login);
  }
  console.log(`  redirect targets: ${sent} requests; ${redirecting.size} routes redirected the logged-in user`);
  assert.ok(redirecting.size >= 38, `the sweep saw most redirecting routes (${redirecting.size})`);
  for (const expected of [
    'POST /account/language',
    'POST /cases/views',
    'GET /login',
    'POST /notifications/:id/read',
  ]) {
    assert.ok(redirecting.has(expected), `${expected} was seen redirecting`);
  }
});

test.run();
