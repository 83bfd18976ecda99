import type { FastifyInstance, Session } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApp } from '../app.ts';
import type { Db } from '../db/database.ts';
import { seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { escapeWatch } from '../test-support/escapes.ts';
import { PgSessionStore } from './session-store.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void> };
const test = suite('No error in a request ends the process: it answers 5xx and the next request is served');

const escapes = escapeWatch();
const { escaped } = escapes;

test.before(async () => {
  escapes.start();
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'KALLE');
  // The app with a few routes that fail in the ways a real route might, late in the request.
  const app = await buildApp({ config: testConfig(), db: t.db }, { logger: false });
  app.get('/test/header-with-line-break', async (_request, reply) =>
    reply.header('X-Note', 'a\r\nSet-Cookie: x=1').send('ok'),
  );
  app.get('/test/header-past-latin-1', async (_request, reply) => reply.header('X-Note', 'price in €').send('ok'));
  app.get('/test/location-off-site', async (_request, reply) => reply.redirect('//evil.example/', 303));
  app.post('/test/redirect-with-line-break', async (request, reply) => {
    // a changed session is saved in onSend, and the reply written from the store's callback
    request.session.flash = 'saved';
    return reply.redirect('/x\r\nX: 1', 303);
  });
  app.get('/test/session-refused', async (request, reply) => {
    // PostgreSQL refuses \u0000 in jsonb: the session cannot be saved
    request.session.flash = 'a\u0000b';
    return reply.send('ok');
  });
  app.get('/test/broken-template', async (_request, reply) => reply.view('error', {}));
  app.register(async (scoped) => {
    scoped.addHook('onSend', (_request, _reply, _payload, done) => {
      setImmediate(() => done(new Error('a hook failed later')));
    });
    scoped.get('/test/failing-hook', async () => 'ok');
  });
  await app.ready();
  ctx.app = app;
});
test.after(async () => {
  await ctx.app?.close();
  await ctx.drop?.();
  escapes.stop();
});

async function assertStillServing(client: TestClient) {
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(escaped, [], 'nothing escaped to the process');
  assert.is((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.is((await client.get('/cases')).statusCode, 200);
}

test('a response header Node refuses answers 500 without the header', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  for (const url of ['/test/header-with-line-break', '/test/header-past-latin-1']) {
    const res = await client.get(url, { headers: { accept: 'text/html' } });
    assert.is(res.statusCode, 500, url);
    assert.is(res.headers['x-note'], undefined);
    assert.not.match(String(res.headers['set-cookie'] ?? ''), 'x=1');
    await assertStillServing(client);
  }
});

test('a Location off the site answers 500, not a redirect', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.get('/test/location-off-site');
  assert.is(res.statusCode, 500);
  assert.is(res.headers.location, undefined);
  await assertStillServing(client);
});

test('a redirect written from the session store callback, with a line break, answers 500', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.post('/test/redirect-with-line-break');
  assert.is(res.statusCode, 500);
  assert.is(res.headers.location, undefined);
  assert.is(res.headers.x, undefined);
  await assertStillServing(client);
});

test('a session the database refuses to save fails the request, and the next one is served', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.get('/test/session-refused');
  assert.ok(res.statusCode >= 400, String(res.statusCode));
  await assertStillServing(client);
});

test('a template that throws answers 500', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.get('/test/broken-template');
  assert.is(res.statusCode, 500);
  await assertStillServing(client);
});

test('a callback hook that fails later answers 500', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const res = await client.get('/test/failing-hook');
  assert.is(res.statusCode, 500);
  await assertStillServing(client);
});

test('the session store hands a throw from its callback back as an error, never as an unhandled rejection', async () => {
  const lost: unknown[] = [];
  const store = new PgSessionStore(ctx.db, 60_000, (error) => lost.push(error));
  const calls: unknown[] = [];
  await new Promise<void>((resolve) => {
    store.set('sid-1', { cookie: {} } as unknown as Session, (error) => {
      calls.push(error);
      if (calls.length === 2) return resolve();
      throw new Error('the reply could not be written');
    });
  });
  assert.is(calls[0], null);
  assert.match(String(calls[1]), 'the reply could not be written');
  // a callback that throws again on the error has nobody left to tell but the log
  await new Promise<void>((resolve) => {
    store.get('sid-1', () => {
      setImmediate(resolve);
      throw new Error('again and again');
    });
  });
  assert.is(lost.length, 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(escaped, []);
});

test.run();
