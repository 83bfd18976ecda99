import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; app: FastifyInstance };
const test = suite('The list of keyboard shortcuts');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  await seedUser(ctx.db, 'KALLE');
  await seedUser(ctx.db, 'ANNA', 'agent', { language: 'en' });
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('a page of its own, and for htmx the dialog "?" opens, in the user’s language', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('kalle');
  const page = await kalle.get('/shortcuts');
  assert.is(page.statusCode, 200);
  assert.match(String(page.headers.vary), /HX-Request/i);
  assert.match(page.body, '<h1>Kortkommandon</h1>');
  assert.match(page.body, '<kbd>j</kbd> / <kbd>k</kbd>');
  assert.not.match(page.body, '<dialog id="shortcuts-dialog"');

  const fragment = await kalle.get('/shortcuts', { htmx: true });
  assert.is(fragment.statusCode, 200);
  assert.match(
    fragment.body,
    /^<dialog id="shortcuts-dialog" class="shortcuts-dialog" aria-labelledby="shortcuts-title">/,
  );
  assert.match(fragment.body, '<h2 id="shortcuts-title">Kortkommandon</h2>');
  assert.match(fragment.body, '<form method="dialog"><button type="submit">Stäng</button></form>');
  assert.not.match(fragment.body, '<html');

  const anna = new TestClient(ctx.app);
  await anna.login('anna');
  const english = await anna.get('/shortcuts', { htmx: true });
  assert.match(english.body, '<h2 id="shortcuts-title">Keyboard shortcuts</h2>');
  assert.match(english.body, '>Close</button>');
});

test('every logged-in page loads the shortcuts and links the list from the user menu; the login page does not', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('kalle');
  for (const url of ['/cases', '/notifications', '/account']) {
    const page = await kalle.get(url);
    assert.match(page.body, /<script src="\/static\/shortcuts\.js\?v=\w+" defer><\/script>/, url);
    assert.match(page.body, '<a href="/shortcuts" data-shortcuts-open>Kortkommandon</a>', url);
  }
  const visitor = new TestClient(ctx.app);
  const login = await visitor.get('/login');
  assert.not.match(login.body, 'shortcuts.js');
  const list = await visitor.get('/shortcuts');
  assert.ok([302, 303].includes(list.statusCode), 'a visitor is sent to log in');
});

test.run();
