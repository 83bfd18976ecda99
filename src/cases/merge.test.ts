import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { loadSecret } from '../db/secrets.ts';
import { addDiscussionPost } from '../discussions/discussions.ts';
import { createMessageId } from '../mail/outbound/message-id.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';
import { saveInternalNote } from './internal-note.ts';

// Merging a duplicate case over HTTP (issue 18, part 4): everything of B moves to A and says
// where it came from, B is closed as merged and leads to A, mail answering B lands in A, a
// second click merges nothing twice, and every refusal is a clear answer.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  config: Config;
  kalle: User;
  client: TestClient;
  customerId: number;
  contactId: number;
  secret: string;
};
const test = suite('Merging cases');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig(), app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
  ctx.secret = await loadSecret(ctx.db, 'message-id');
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_address: 'support@casedesk.test', subject_tag: '[#{number}]' })
    .execute();
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const newCase = (title: string, customerId = ctx.customerId) =>
  seedPrinterJamCase(ctx.db, ctx.kalle, customerId, customerId === ctx.customerId ? ctx.contactId : undefined, {
    title,
  });
const caseRow = (id: number) =>
  ctx.db
    .selectFrom('cases')
    .select(['number', 'status_kind', 'merged_into_id'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
// the history lines of cases merged into this one
const mergedInto = (caseId: number) =>
  ctx.db.selectFrom('case_events').select('id').where('case_id', '=', caseId).where('kind', '=', 'merged_in').execute();
const merge = (source: Case, into: string, form: Record<string, string> = {}) =>
  ctx.client.post(`/cases/${source.number}/merge`, { into, ...form });

test('B merged into A: its thread, discussion, note and history move to A and say so; B is closed and leads to A', async () => {
  const a = await newCase('Skrivaren fastnar');
  const b = await newCase('Skrivaren fastnar igen');
  await addStaffReply(
    ctx.db,
    b.id,
    { body_html: '<div>Har ni provat att starta om den?</div>', delivery: 'saved' },
    ctx.kalle,
  );
  await addDiscussionPost(ctx.db, b.id, '<div>Samma kund som i går.</div>', ctx.kalle);
  await saveInternalNote(ctx.db, b.id, b.internal_note_version, 'Kunden har serviceavtal.', ctx.kalle);

  const confirm = await ctx.client.get(`/cases/${b.number}/merge?into=${encodeURIComponent(a.number)}`);
  assert.is(confirm.statusCode, 200, confirm.body);
  assert.match(confirm.body, `Slå ihop ${b.number} med ${a.number}`);
  assert.not.match(confirm.body, 'olika kunder', 'the same customer: no warning');

  const res = await merge(b, a.number);
  assert.is(res.statusCode, 303, res.body);
  assert.is(res.headers.location, `/cases/${a.number}`);
  const page = await ctx.client.get(`/cases/${a.number}`);
  assert.match(page.body, `Ärende ${b.number} slogs ihop med ${a.number}.`);
  assert.match(page.body, 'Har ni provat att starta om den?');
  assert.match(page.body, `från ärende ${b.number}`);
  const discussion = await ctx.client.get(`/cases/${a.number}/discussion`);
  assert.match(discussion.body, 'Samma kund som i går.');
  assert.match(discussion.body, `från ärende ${b.number}`);
  const note = await ctx.db
    .selectFrom('cases')
    .select('internal_note')
    .where('id', '=', a.id)
    .executeTakeFirstOrThrow();
  assert.match(note.internal_note, `${b.number}:\nKunden har serviceavtal.`);

  assert.equal(await caseRow(b.id), { number: b.number, status_kind: 'closed', merged_into_id: a.id });
  const history = await ctx.client.get(`/cases/${a.number}/history`);
  assert.match(history.body, 'Ärende sammanslaget med detta');
  assert.match(history.body, `href="/cases/${encodeURIComponent(b.number)}"`);
  assert.match(history.body, `<td>Ärendet skapades <span class="moved-from">(från ärende ${b.number})</span></td>`);
  assert.match(history.body, '<td>Ärendet skapades</td>', 'A’s own line has no mark');

  // B's page, and each of its tabs, lead to A
  const old = await ctx.client.get(`/cases/${b.number}`);
  assert.is(old.statusCode, 302);
  assert.is(old.headers.location, `/cases/${a.number}`);
  const oldTab = await ctx.client.get(`/cases/${b.number}/history`);
  assert.is(oldTab.headers.location, `/cases/${a.number}/history`);
  // B's own history is the merge (the rest moved), seen in the database as no page shows B any more
  const bHistory = await ctx.db
    .selectFrom('case_events')
    .select(['kind', 'new_value'])
    .where('case_id', '=', b.id)
    .execute();
  assert.equal(bHistory, [{ kind: 'merged', new_value: a.number }]);

  // nothing more is written into B
  const reply = await ctx.client.post(`/cases/${b.number}/thread`, { body_html: '<div>Hej</div>', delivery: 'saved' });
  assert.is(reply.statusCode, 409);
  assert.match(reply.body, 'Ärendet har slagits ihop med ett annat ärende');

  // a second click: the same answer, nothing merged twice
  const again = await merge(b, a.number);
  assert.is(again.statusCode, 303);
  assert.is(again.headers.location, `/cases/${a.number}`);
  assert.is((await mergedInto(a.id)).length, 1);
});

test('two clicks that race (both posted before either merged): one merge, and both get its answer', async () => {
  const a = await newCase('Skärmen är svart');
  const b = await newCase('Skärmen är svart igen');
  // B held locked elsewhere, so both posts pass the route's check and wait in the merge together.
  // The posts start only once the lock is held: started before, one of them could take B first,
  // the holder would wait behind it, and nothing would be left to release it (a hang in CI).
  let release = () => {};
  let locked = () => {};
  const lockTaken = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const held = ctx.db.transaction().execute(async (trx) => {
    await sql`select id from cases where id = ${b.id} for update`.execute(trx);
    locked();
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  await lockTaken;
  const posts = [merge(b, a.number), merge(b, a.number)];
  for (let waited = 0; ; waited += 20) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::integer as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(ctx.db);
    if ((rows[0]?.n ?? 0) >= 2) break;
    assert.ok(waited < 10_000, 'both posts wait for the lock');
    await new Promise((r) => setTimeout(r, 20));
  }
  release();
  await held;
  const answers = await Promise.all(posts);
  for (const answer of answers) {
    assert.is(answer.statusCode, 303, answer.body.slice(0, 500));
    assert.is(answer.headers.location, `/cases/${a.number}`);
  }
  assert.is((await mergedInto(a.id)).length, 1, 'merged once');
});

test('mail answering the merged case, by its tag or by its Message-ID, lands in the case it was merged into', async () => {
  const a = await newCase('Nätverket ligger nere');
  const b = await newCase('Nätverket är nere');
  const ours = createMessageId('casedesk.test', ctx.secret);
  await ctx.db
    .insertInto('outbox')
    .values({
      kind: 'reply',
      case_id: b.id,
      message_id: ours,
      envelope_from: 'support@casedesk.test',
      envelope_to: ['per@acme.se'],
      subject: `[#${b.number}] Nätverket är nere`,
      raw: Buffer.from('x'),
      status: 'sent',
    })
    .execute();
  assert.is((await merge(b, a.number)).statusCode, 303);

  const byTag = await receiveMail(
    ctx.db,
    ctx.config,
    testMail(
      { From: 'Per Persson <per@acme.se>', Subject: `SV: [#${b.number}] Nätverket är nere` },
      'Nu fungerar det igen.',
    ),
  );
  assert.is(byTag.caseNumber, a.number, JSON.stringify(byTag));
  const byReference = await receiveMail(
    ctx.db,
    ctx.config,
    testMail(
      { From: 'Per Persson <per@acme.se>', Subject: 'SV: Nätverket', 'In-Reply-To': ours },
      'Det krånglar igen.',
    ),
  );
  assert.is(byReference.caseNumber, a.number, JSON.stringify(byReference));
  const bodies = (
    await ctx.db
      .selectFrom('thread_entries')
      .select('body_html')
      .where('case_id', '=', a.id)
      .where('side', '=', 'customer')
      .execute()
  ).map((e) => e.body_html);
  assert.ok(bodies.some((b) => b.includes('Nu fungerar det igen.')));
  assert.ok(bodies.some((b) => b.includes('Det krånglar igen.')));
});

test('refusals are clear answers and merge nothing: itself, no such case, a closed or merged target, hostile forms', async () => {
  const a = await newCase('Skärmen flimrar');
  const b = await newCase('Skärmen flimrar fortfarande');
  const closed = await newCase('Gammalt ärende');
  await ctx.db.updateTable('cases').set({ merged_into_id: null }).where('id', '=', closed.id).execute();
  const closedStatus = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'closed')
    .executeTakeFirstOrThrow();
  const { quickEditCase } = await import('./cases.ts');
  await quickEditCase(ctx.db, closed.id, closed.version, 'status_id', String(closedStatus.id), ctx.kalle);

  const self = await merge(b, b.number);
  assert.is(self.statusCode, 422);
  assert.match(self.body, 'Ett ärende kan inte slås ihop med sig självt.');
  const none = await merge(b, '2099-99999');
  assert.is(none.statusCode, 422);
  assert.match(none.body, 'Det finns inget ärende 2099-99999.');
  const toClosed = await merge(b, closed.number);
  assert.is(toClosed.statusCode, 422);
  assert.match(toClosed.body, `Ärende ${closed.number} är stängt`);
  const repeated = await ctx.client.request({
    method: 'POST',
    url: `/cases/${b.number}/merge`,
    payload: `_csrf=${ctx.client.csrf}&into=${a.number}&into=${closed.number}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.is(repeated.statusCode, 422);
  // a NUL is no part of a case number: taken out, and the rest is looked up as typed
  const nul = await merge(b, '2099\u0000-99999');
  assert.is(nul.statusCode, 422);
  assert.match(nul.body, 'Det finns inget ärende');
  const noCsrf = await merge(b, a.number, { _csrf: '' });
  assert.is(noCsrf.statusCode, 403);
  assert.equal(await caseRow(b.id), { number: b.number, status_kind: 'open', merged_into_id: null }, 'nothing merged');

  // merged into A, B cannot be merged again, nor be merged into
  assert.is((await merge(b, a.number)).statusCode, 303);
  const c = await newCase('Skärmen är svart');
  const intoMerged = await merge(c, b.number);
  assert.is(intoMerged.statusCode, 422);
  assert.match(intoMerged.body, `Ärende ${b.number} har slagits ihop med ett annat ärende`);
  const mergedAgain = await merge(b, c.number);
  assert.is(mergedAgain.statusCode, 409);
});

test('another customer’s case: the confirmation says the customers differ, and the merge still goes through', async () => {
  const beta = await createCustomer(ctx.db, { number: 'K3003', name: 'Beta AB', email_domains: ['beta.se'] });
  const a = await newCase('Fakturan är fel');
  const b = await newCase('Fel på fakturan', beta.id);
  const confirm = await ctx.client.get(`/cases/${b.number}/merge?into=${encodeURIComponent(a.number)}`);
  assert.match(confirm.body, 'Ärendena har olika kunder: Beta AB och Acme AB.');
  assert.is((await merge(b, a.number)).statusCode, 303);
  assert.is((await caseRow(b.id)).merged_into_id, a.id);
});

test('the target typed as only the digits of its number, as read off a list, is the case with that number', async () => {
  const a = await newCase('Routern startar om');
  const b = await newCase('Routern startar om hela tiden');
  const digits = String(Number(/\d+$/.exec(a.number)?.[0]));
  assert.is.not(digits, a.number);
  const confirm = await ctx.client.get(`/cases/${b.number}/merge?into=${digits}`);
  assert.match(confirm.body, `Slå ihop ${b.number} med ${a.number}?`);
  assert.is((await merge(b, digits)).statusCode, 303);
  assert.is((await caseRow(b.id)).merged_into_id, a.id);
  // the second click of that form: the same answer
  const again = await merge(b, digits);
  assert.is(again.statusCode, 303);
  assert.is(again.headers.location, `/cases/${a.number}`);
  // digits no case has are still no case
  const none = await merge(await newCase('Skrivaren'), '987654');
  assert.match(none.body, 'Det finns inget ärende 987654.');
});

test('a visitor who is not signed in, or a case number that is not one, merges nothing', async () => {
  const a = await newCase('Kopiatorn piper');
  const b = await newCase('Kopiatorn piper (igen)');
  const stranger = new TestClient(ctx.app);
  const anonymous = await stranger.post(`/cases/${b.number}/merge`, { into: a.number });
  assert.is(anonymous.statusCode, 401);
  const word = await merge(b, 'abc');
  assert.is(word.statusCode, 422);
  const own = await merge(b, b.number);
  assert.is(own.statusCode, 422);
  assert.equal(await caseRow(b.id), { number: b.number, status_kind: 'open', merged_into_id: null }, 'nothing merged');
});

test.run();
