import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; app: FastifyInstance; kalle: User };
const test = suite('My settings');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const stored = () => ctx.db.selectFrom('users').selectAll().where('id', '=', ctx.kalle.id).executeTakeFirstOrThrow();

test('the user menu leads to My settings, where both e-mail kinds start switched on', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const cases = await client.get('/cases');
  assert.match(cases.body, 'href="/account"');
  assert.match(cases.body, 'Mina inställningar');
  const page = await client.get('/account');
  assert.is(page.statusCode, 200);
  assert.match(page.body, /name="email_on_mention" value="on" checked/);
  assert.match(page.body, /name="email_on_assigned" value="on" checked/);
  assert.match(page.body, 'E-posten skickas till kalle@example.com.');
});

test('switching a kind off and choosing a language is saved, and only with the form’s CSRF token', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/account');
  const forged = await client.post('/account', { _csrf: '', email_on_assigned: 'on' });
  assert.is(forged.statusCode, 403);
  assert.is((await stored()).email_on_mention, true, 'nothing changed');

  const saved = await client.post('/account', { email_on_assigned: 'on', language: 'en' });
  assert.is(saved.statusCode, 303);
  assert.is(saved.headers.location, '/account');
  const user = await stored();
  assert.is(user.email_on_mention, false);
  assert.is(user.email_on_assigned, true);
  assert.is(user.language, 'en');
  const page = await client.get('/account');
  assert.match(page.body, 'My settings');
  assert.match(page.body, 'Saved.');
  assert.not.match(page.body, /name="email_on_mention" value="on" checked/);
  assert.match(page.body, /<option value="en" selected>/);

  await client.post('/account', { email_on_mention: 'on', email_on_assigned: 'on', language: '' });
  assert.is((await stored()).language, null, 'back to the browser’s language');
});

test('a user without an e-mail address is told so', async () => {
  await ctx.db.updateTable('users').set({ email: null, language: 'sv' }).where('id', '=', ctx.kalle.id).execute();
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const page = await client.get('/account');
  assert.match(page.body, 'Du har ingen e-postadress');
});

test('an unknown language is refused beside the field', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/account');
  const res = await client.post('/account', { language: 'de' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'f-language-error');
});

test.run();
