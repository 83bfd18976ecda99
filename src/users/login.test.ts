import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesChanged } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { addressSlowdownMs, maxFailuresPerLogin } from './login.ts';
import { setUserActive } from './users.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void> };
const test = suite('Staff login');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.app = await buildTestApp(t.db);
  await seedUser(t.db, 'KALLE', 'agent');
  await seedUser(t.db, 'BOSS', 'admin');
  await seedUser(t.db, 'GONE', 'agent');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('an anonymous visitor is sent to the login page', async () => {
  const res = await new TestClient(ctx.app).get('/admin/users');
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/login?next=%2Fadmin%2Fusers');
});

test('the user ID is case-insensitive and the session survives a new app instance', async () => {
  const client = new TestClient(ctx.app);
  const res = await client.login('kalle');
  assert.is(res.statusCode, 303);
  const home = await client.get('/cases');
  assert.is(home.statusCode, 200);
  assert.match(home.body, 'Kalle Testsson');
  const second = await buildTestApp(ctx.db);
  const res2 = await second.inject({
    method: 'GET',
    url: '/cases',
    headers: { cookie: `casedesk_session=${client.cookie('casedesk_session')}` },
  });
  assert.is(res2.statusCode, 200);
  await second.close();
});

test('an active session moves its idle timeout forward, writing the session at most every ten minutes', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases');
  const row = async () => {
    const sessions = await ctx.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.sid', 'sessions.data', 'sessions.expires_at'])
      .where('users.login', '=', 'KALLE')
      .orderBy('sessions.expires_at', 'desc')
      .execute();
    return sessions[0] as { sid: string; data: { renewedAt?: number }; expires_at: Date };
  };
  const first = await row();
  assert.ok(first.data.renewedAt, 'renewed on the first page after login');
  const again = await client.get('/cases');
  assert.is(again.statusCode, 200);
  assert.is(again.headers['set-cookie'], undefined, 'no new cookie within ten minutes');
  assert.equal((await row()).expires_at, first.expires_at, 'and no write');

  // Eleven minutes later (as the session remembers it), the next page renews it.
  const earlier = { ...first.data, renewedAt: (first.data.renewedAt as number) - 11 * 60_000 };
  await ctx.db
    .updateTable('sessions')
    .set({ data: JSON.stringify(earlier), expires_at: new Date(first.expires_at.getTime() - 11 * 60_000) })
    .where('sid', '=', first.sid)
    .execute();
  // a write behind the app's back: the change feed tells the session cache a moment later; the
  // test does not wait for that moment (src/db/cached.test.ts checks the feed itself)
  tablesChanged(ctx.db, 'sessions');
  const later = await client.get('/cases');
  assert.is(later.statusCode, 200);
  assert.ok(later.headers['set-cookie'], 'the cookie goes out again with the new expiry');
  const renewed = await row();
  assert.ok(renewed.expires_at.getTime() > first.expires_at.getTime() - 60_000, 'expiry moved forward');
  assert.ok((renewed.data.renewedAt as number) > (earlier.renewedAt as number));
});

test('a wrong password is refused with a message and the typed user ID kept', async () => {
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const res = await client.post('/login', { login: 'boss', password: 'nope-nope-nope' });
  assert.is(res.statusCode, 401);
  assert.match(res.body, 'Fel användar-ID eller lösenord');
  assert.match(res.body, 'value="boss"');
});

test('ten wrong passwords in a row are refused before the password is even checked', async () => {
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const codes: number[] = [];
  for (let i = 0; i < 10; i++)
    codes.push((await client.post('/login', { login: 'kalle', password: `wrong${i}` })).statusCode);
  assert.equal(codes.slice(0, maxFailuresPerLogin), Array(maxFailuresPerLogin).fill(401));
  assert.ok(codes.slice(maxFailuresPerLogin).every((c) => c === 429));
  const right = await client.post('/login', { login: 'kalle', password: testPassword });
  assert.is(right.statusCode, 429, 'even the right password waits out the window');
  assert.match(right.body, 'För många misslyckade försök');
});

test('a hundred wrong passwords at once for one login from one address: five are checked, the rest wait out the window', async () => {
  await seedUser(ctx.db, 'RACE', 'agent');
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const codes = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      client.post('/login', { login: 'race', password: `wrong${i}` }).then((r) => r.statusCode),
    ),
  );
  const checked = codes.filter((c) => c === 401).length;
  assert.ok(checked <= maxFailuresPerLogin, `${checked} passwords were checked`);
  assert.is(codes.filter((c) => c === 429).length, 100 - checked);
  const right = await client.post('/login', { login: 'race', password: testPassword });
  assert.is(right.statusCode, 429, 'the right password is refused until the window has moved on');
});

// A login form posted from one client address, and through a proxy when forwardedFor is given.
async function postLoginFrom(
  client: TestClient,
  address: string,
  form: { login: string; password: string },
  forwardedFor?: string,
) {
  return client.request({
    method: 'POST',
    url: '/login',
    remoteAddress: address,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    form: { _csrf: client.csrf, ...form },
  });
}

test("thirty failures from one address for other logins slow it down, but a colleague's right password still logs in", async () => {
  const office = '198.51.100.20';
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const codes = await Promise.all(
    Array.from({ length: 6 * maxFailuresPerLogin }, (_, i) =>
      postLoginFrom(client, office, { login: `guess${i % 6}`, password: `wrong${i}` }).then((r) => r.statusCode),
    ),
  );
  assert.equal(codes, Array(codes.length).fill(401));
  assert.ok(addressSlowdownMs(codes.length) > 0, 'the next attempt from that address waits');
  assert.ok(addressSlowdownMs(10_000) <= 5_000, 'but never long');
  const colleague = await postLoginFrom(client, office, { login: 'kalle', password: testPassword });
  assert.is(colleague.statusCode, 303);
});

test('a made-up X-Forwarded-For does not reset the count without TRUST_PROXY', async () => {
  await seedUser(ctx.db, 'SPOOFED', 'agent');
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const codes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await postLoginFrom(
      client,
      '198.51.100.30',
      { login: 'spoofed', password: `wrong${i}` },
      `10.9.8.${i}`,
    );
    codes.push(res.statusCode);
  }
  assert.equal(codes, [...Array(maxFailuresPerLogin).fill(401), ...Array(10 - maxFailuresPerLogin).fill(429)]);
  const right = await postLoginFrom(client, '198.51.100.30', { login: 'spoofed', password: testPassword }, '10.9.9.9');
  assert.is(right.statusCode, 429);
});

test('behind TRUST_PROXY=1 the address the proxy saw is counted, not what the client wrote before it', async () => {
  await seedUser(ctx.db, 'PROXIED', 'agent');
  const app = await buildTestApp(ctx.db, { TRUST_PROXY: '1' });
  try {
    const proxy = '10.0.0.2';
    const client = new TestClient(app);
    await client.get('/login');
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const spoofed = `10.9.8.${i}, 203.0.113.9`;
      codes.push((await postLoginFrom(client, proxy, { login: 'proxied', password: `wrong${i}` }, spoofed)).statusCode);
    }
    assert.equal(codes, [...Array(maxFailuresPerLogin).fill(401), ...Array(10 - maxFailuresPerLogin).fill(429)]);
    const right = await postLoginFrom(
      client,
      proxy,
      { login: 'proxied', password: testPassword },
      '1.2.3.4, 203.0.113.9',
    );
    assert.is(right.statusCode, 429, 'the guesser stays throttled');
    const owner = new TestClient(app);
    await owner.get('/login');
    const fromHome = await postLoginFrom(owner, proxy, { login: 'proxied', password: testPassword }, '203.0.113.77');
    assert.is(fromHome.statusCode, 303, 'the user, from another address behind the same proxy, logs in');
  } finally {
    await app.close();
  }
});

test('a deactivated user cannot log in and loses open sessions', async () => {
  const client = new TestClient(ctx.app);
  await client.login('gone');
  assert.is((await client.get('/cases')).statusCode, 200);
  const gone = await ctx.db.selectFrom('users').select('id').where('login', '=', 'GONE').executeTakeFirstOrThrow();
  await setUserActive(ctx.db, gone.id, false);
  assert.is((await client.get('/cases')).statusCode, 303);
  const again = await new TestClient(ctx.app).login('gone');
  assert.is(again.statusCode, 401);
});

test('a POST without the CSRF token gets 403, with it the action works', async () => {
  const client = new TestClient(ctx.app);
  await client.login('boss');
  const without = await client.post('/account/language', { _csrf: '', language: 'en' });
  assert.is(without.statusCode, 403);
  const htmxWithHeader = await client.request({
    method: 'POST',
    url: '/account/language',
    form: { language: 'en' },
    headers: { 'x-csrf-token': client.csrf },
    htmx: true,
  });
  assert.is(htmxWithHeader.statusCode, 204);
});

test('pages opened at once right after the login all carry a working CSRF token', async () => {
  // Tabs restored by the browser load together: each page's form must work, not only the last one's.
  await seedUser(ctx.db, 'TABS', 'agent');
  const client = new TestClient(ctx.app);
  await client.get('/login');
  const login = await client.post('/login', { login: 'tabs', password: testPassword });
  assert.is(login.statusCode, 303);
  const pages = await Promise.all(['/cases', '/account', '/notifications'].map((url) => client.get(url)));
  const tokens = pages.map((page) => /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '');
  for (const [i, token] of tokens.entries()) {
    assert.ok(token, `page ${i} has a token`);
    const res = await client.post('/account/language', { _csrf: token, language: 'sv', back: '/account' });
    assert.is(res.statusCode, 303, `the token of page ${i}`);
  }
});

test('logout ends the session', async () => {
  const client = new TestClient(ctx.app);
  await client.login('boss');
  const out = await client.post('/logout');
  assert.is(out.statusCode, 303);
  assert.is((await client.get('/cases')).statusCode, 303);
});

test('a login page cannot redirect to another site', async () => {
  const client = new TestClient(ctx.app);
  await client.get('/login?next=//evil.example.com');
  const res = await client.post('/login', { login: 'boss', password: testPassword, next: '//evil.example.com' });
  assert.is(res.headers.location, '/');
  // browsers drop tabs and newlines from a URL, which would turn these into //evil.example.com
  for (const next of ['/\t/evil.example.com', '/\n/evil.example.com', '/\r\n/evil.example.com']) {
    const again = await client.get(`/login?next=${encodeURIComponent(next)}`);
    assert.is(again.statusCode, 303);
    assert.is(again.headers.location, '/', JSON.stringify(next));
  }
});

test('a NUL byte in a URL or a query is a bad request (or simply finds nothing), never a server error', async () => {
  await seedUser(ctx.db, 'NOLL', 'agent');
  const client = new TestClient(ctx.app);
  assert.is((await client.login('noll')).statusCode, 303);
  for (const url of ['/cases?q=%00', '/cases/%00', '/customers?q=a%00b', '/projects?q=%00', '/work-orders/%00']) {
    const res = await client.get(url);
    assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
  }
});

test.run();
