import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { maxFailuresPerLogin } from './login.ts';

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

async function loggedIn(login: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  assert.is((await client.login(login)).statusCode, 303);
  assert.is((await client.get('/account')).statusCode, 200);
  return client;
}

async function isSentToLogin(client: TestClient): Promise<boolean> {
  const res = await client.get('/cases');
  return res.statusCode === 303 && res.headers.location === '/login?next=%2Fcases';
}

async function logsInWith(login: string, password: string): Promise<boolean> {
  const client = new TestClient(ctx.app);
  return (await client.login(login, password)).statusCode === 303;
}

test('the user menu leads to Change password on My settings, its three fields labelled', async () => {
  const client = await loggedIn('kalle');
  const cases = await client.get('/cases');
  assert.match(cases.body, /<a href="\/account#password">Byt lösenord<\/a>/);
  const page = await client.get('/account');
  assert.match(page.body, '<section id="password"');
  assert.match(page.body, /<form method="post" action="\/account\/password"/);
  for (const [name, label] of [
    ['current_password', 'Nuvarande lösenord'],
    ['new_password', 'Nytt lösenord'],
    ['repeat_password', 'Upprepa nytt lösenord'],
  ]) {
    assert.match(page.body, `<label for="f-${name}">${label} <span aria-hidden="true">*</span></label>`);
    assert.match(page.body, new RegExp(`<input id="f-${name}" name="${name}" type="password" value=""`));
  }
});

test('a wrong current password is refused with a message, and the password stays', async () => {
  await seedUser(ctx.db, 'WRONG');
  const client = await loggedIn('wrong');
  const res = await client.post('/account/password', {
    current_password: 'not-my-password',
    new_password: 'a-brand-new-password',
    repeat_password: 'a-brand-new-password',
  });
  assert.is(res.statusCode, 422);
  assert.match(
    res.body,
    '<p class="field-error" id="f-current_password-error">Det är inte ditt nuvarande lösenord.</p>',
  );
  assert.not.match(res.body, 'a-brand-new-password', 'typed passwords are never sent back');
  assert.ok(await logsInWith('wrong', testPassword));
  assert.not.ok(await logsInWith('wrong', 'a-brand-new-password'));
});

test('a repeat that differs, or a new password too short, is refused beside its field', async () => {
  await seedUser(ctx.db, 'TYPO');
  const client = await loggedIn('typo');
  const differs = await client.post('/account/password', {
    current_password: testPassword,
    new_password: 'a-brand-new-password',
    repeat_password: 'a-brand-new-passwrod',
  });
  assert.is(differs.statusCode, 422);
  assert.match(
    differs.body,
    '<p class="field-error" id="f-repeat_password-error">De två nya lösenorden skiljer sig åt.</p>',
  );
  const short = await client.post('/account/password', {
    current_password: testPassword,
    new_password: 'short',
    repeat_password: 'short',
  });
  assert.is(short.statusCode, 422);
  assert.match(short.body, '<p class="field-error" id="f-new_password-error">Minst 10 tecken.</p>');
  const empty = await client.post('/account/password', {});
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, 'id="f-current_password-error">Måste fyllas i.');
  assert.not.ok(await logsInWith('typo', 'a-brand-new-password'));
  assert.ok(await logsInWith('typo', testPassword));
});

test('wrong current passwords count as failed logins: past the limit even the right one waits, here and at the login page', async () => {
  await seedUser(ctx.db, 'GUESS');
  const client = await loggedIn('guess');
  const attempt = (current: string) =>
    client.post('/account/password', {
      current_password: current,
      new_password: 'a-guessed-new-password',
      repeat_password: 'a-guessed-new-password',
    });
  const codes: number[] = [];
  for (let i = 0; i < maxFailuresPerLogin + 2; i++) codes.push((await attempt(`guess-${i}`)).statusCode);
  assert.equal(codes.slice(0, maxFailuresPerLogin), Array(maxFailuresPerLogin).fill(422));
  assert.ok(codes.slice(maxFailuresPerLogin).every((c) => c === 429));
  const right = await attempt(testPassword);
  assert.is(right.statusCode, 429);
  assert.match(right.body, 'För många misslyckade försök. Försök igen om 15 minuter.');
  assert.not.ok(await logsInWith('guess', testPassword), 'the login page counts the same failures');
  assert.not.ok(await logsInWith('guess', 'a-guessed-new-password'));
});

test('a changed password logs in from now on and the old one not; other sessions end, this one goes on', async () => {
  const user = await seedUser(ctx.db, 'CHANGE');
  const here = await loggedIn('change');
  const phone = await loggedIn('change');
  const cookieBefore = here.cookie('casedesk_session');

  const forged = await here.post('/account/password', {
    _csrf: '',
    current_password: testPassword,
    new_password: 'my-own-new-password',
    repeat_password: 'my-own-new-password',
  });
  assert.is(forged.statusCode, 403);
  assert.not.ok(await isSentToLogin(phone), 'nothing changed without the token');

  await here.get('/account');
  const res = await here.post('/account/password', {
    current_password: testPassword,
    new_password: 'my-own-new-password',
    repeat_password: 'my-own-new-password',
  });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/account');
  const page = await here.get('/account');
  assert.is(page.statusCode, 200, 'this client stays logged in');
  assert.match(page.body, 'Lösenordet är bytt. Dina andra inloggningar är avslutade.');
  assert.is((await here.get('/cases')).statusCode, 200);
  assert.ok(await isSentToLogin(phone), 'the other client is sent to the login page');

  // the session goes on under a new id, so an earlier copy of its cookie no longer works
  assert.is.not(here.cookie('casedesk_session'), cookieBefore);
  const copy = await ctx.app.inject({
    method: 'GET',
    url: '/cases',
    headers: { cookie: `casedesk_session=${cookieBefore}` },
  });
  assert.is(copy.statusCode, 303);
  const sessions = await ctx.db.selectFrom('sessions').select('sid').where('user_id', '=', user.id).execute();
  assert.is(sessions.length, 1);

  assert.not.ok(await logsInWith('change', testPassword), 'the old password fails');
  assert.ok(await logsInWith('change', 'my-own-new-password'), 'the new one logs in');
});

test.run();
