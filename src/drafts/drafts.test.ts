import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveInternalNote } from '../cases/internal-note.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { addDiscussionPost } from '../discussions/discussions.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { findDraft, saveDraft } from './drafts.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; kalle: User; anna: User; kase: Case };
const test = suite('Draft endpoints');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  const { customer } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, undefined, {
    contact_name: 'Per Persson',
    contact_email: 'per@acme.se',
    body_html: '<div>Pappret fastnar.</div>',
  });
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const as = async (login: string) => {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
};
const saveAs = (client: TestClient, path: string, form: Record<string, string>, opts: { csrf?: boolean } = {}) =>
  client.request({
    method: 'POST',
    url: `/cases/${ctx.kase.number}/${path}`,
    form,
    headers: opts.csrf === false ? {} : { 'x-csrf-token': client.csrf },
  });
test('a reply draft is stored sanitised, once however often it is saved, and only for its writer', async () => {
  const kalle = await as('kalle');
  const form = {
    body_html: '<div>Hej Per<script>alert(1)</script><img src=x onerror=alert(1)></div>',
    to: 'per@',
    cc: '',
  };
  for (let i = 0; i < 3; i++) assert.is((await saveAs(kalle, 'reply-draft', form)).statusCode, 200);
  const rows = await ctx.db.selectFrom('drafts').select(['user_id', 'box', 'body_html', 'to_addresses']).execute();
  assert.is(rows.length, 1, 'a repeated save stores one draft');
  assert.is(rows[0]?.box, 'reply');
  assert.is(rows[0]?.to_addresses, 'per@', 'a half-typed address is kept as typed');
  assert.not.match(rows[0]?.body_html ?? '', 'script');
  assert.not.match(rows[0]?.body_html ?? '', 'onerror');

  const page = await kalle.get(`/cases/${ctx.kase.number}`);
  assert.match(page.body, 'Hej Per');
  assert.match(page.body, /id="reply-to"[^>]*value="per@"/);
  assert.match(page.body, 'Kasta utkast');

  // ANNA sees her own (empty) box on the same case, and cannot discard KALLE's draft.
  const anna = await as('anna');
  const annasPage = await anna.get(`/cases/${ctx.kase.number}`);
  assert.not.match(annasPage.body, 'Hej Per');
  assert.is((await anna.post(`/cases/${ctx.kase.number}/reply-draft/deletion`)).statusCode, 303);
  assert.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'reply'), "KALLE's draft is still there");
});

test('saving a draft needs the CSRF token, a login and a case that exists', async () => {
  const kalle = await as('kalle');
  const noToken = await saveAs(kalle, 'discussion-draft', { body_html: '<div>x</div>' }, { csrf: false });
  assert.is(noToken.statusCode, 403);
  const anonymous = new TestClient(ctx.app);
  const notLoggedIn = await anonymous.request({
    method: 'POST',
    url: `/cases/${ctx.kase.number}/discussion-draft`,
    form: { body_html: '<div>x</div>' },
  });
  assert.ok([302, 303, 401, 403].includes(notLoggedIn.statusCode), String(notLoggedIn.statusCode));
  const missing = await kalle.request({
    method: 'POST',
    url: '/cases/2099-99999/discussion-draft',
    form: { body_html: '<div>x</div>' },
    headers: { 'x-csrf-token': kalle.csrf },
  });
  assert.is(missing.statusCode, 404);
  assert.is(
    (await ctx.db.selectFrom('drafts').select('box').where('box', '=', 'discussion').execute()).length,
    0,
    'nothing stored',
  );
});

test('an oversized draft is refused with a message and stores nothing', async () => {
  const kalle = await as('kalle');
  const tooLong = await saveAs(kalle, 'internal-draft', {
    internal_note: 'x'.repeat(100_001),
    internal_note_version: '0',
  });
  assert.is(tooLong.statusCode, 422);
  assert.match(tooLong.body, 'Utkastet kunde inte sparas');
  assert.not.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'internal'));
});

test('emptying a box removes its draft; posting and saving the note use the drafts up', async () => {
  const kalle = await as('kalle');
  await saveAs(kalle, 'discussion-draft', { body_html: '<div>Ska vi byta?</div>' });
  assert.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'discussion'));
  const emptied = await saveAs(kalle, 'discussion-draft', { body_html: '<div><br></div>' });
  assert.equal(JSON.parse(emptied.body), { kept: false });
  assert.not.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'discussion'));

  await saveDraft(ctx.db, ctx.kase.id, ctx.kalle.id, { box: 'discussion', body_html: '<div>Ska vi byta?</div>' });
  await addDiscussionPost(ctx.db, ctx.kase.id, '<div>Ska vi byta?</div>', ctx.kalle);
  assert.not.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'discussion'), 'posting uses it up');

  const note = await ctx.db
    .selectFrom('cases')
    .select('internal_note_version')
    .where('id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  await saveAs(kalle, 'internal-draft', {
    internal_note: 'Kunden vill ha besök.',
    internal_note_version: String(note.internal_note_version),
  });
  const internal = await kalle.get(`/cases/${ctx.kase.number}/internal`);
  assert.match(internal.body, 'Kunden vill ha besök.</textarea>');
  await saveInternalNote(ctx.db, ctx.kase.id, note.internal_note_version, 'Kunden vill ha besök.', ctx.kalle);
  assert.not.ok(await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'internal'), 'saving the note uses it up');
});

test("a save from a window filled before the same user's other window saved is refused, and the newer draft stays", async () => {
  const kalle = await as('KALLE');
  const first = await saveAs(kalle, 'discussion-draft', { body_html: '<div>Första fönstret</div>', draft_base: '' });
  assert.is(first.statusCode, 200);
  const { base } = JSON.parse(first.body) as { base: number };
  // the second window, filled from that draft, adds to it
  const second = await saveAs(kalle, 'discussion-draft', {
    body_html: '<div>Första fönstret och det andra</div>',
    draft_base: String(base),
  });
  assert.is(second.statusCode, 200);
  // the first window still thinks it holds the first draft
  const stale = await saveAs(kalle, 'discussion-draft', {
    body_html: '<div>Äldre text</div>',
    draft_base: String(base),
  });
  assert.is(stale.statusCode, 409);
  assert.match(stale.body, 'ändrades i ett annat fönster');
  const kept = await findDraft(ctx.db, ctx.kase.id, ctx.kalle.id, 'discussion');
  assert.is(kept?.body_html, '<div>Första fönstret och det andra</div>');
  // a window that never knew a draft cannot replace one either
  const blind = await saveAs(kalle, 'discussion-draft', { body_html: '<div>Blind</div>', draft_base: '' });
  assert.is(blind.statusCode, 409);
  const emptied = await saveAs(kalle, 'discussion-draft', { body_html: '', draft_base: '1' });
  assert.is(emptied.statusCode, 409, 'nor empty it');
  await saveAs(kalle, 'discussion-draft/deletion', {});
});

test.run();
