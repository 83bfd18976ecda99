import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quickEditCase } from '../../cases/cases.ts';
import type { Config } from '../../config.ts';
import { createContact, createCustomer } from '../../customers/customers.ts';
import type { Db } from '../../db/database.ts';
import type { Case, Customer, User } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { addDiscussionPost } from '../../discussions/discussions.ts';
import { applyKontroll, loadKontrollRunContext } from '../../kontroll/kontroll.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { findCaseByNumber, receiveMail, testMail } from '../../test-support/inbound.ts';
import { seedAcme } from '../../test-support/seeds.ts';
import { createMessageId } from '../outbound/message-id.ts';

// Who may write into a case (issue 15, items 3-5), through the pipeline Read mail and
// mail:import run: store the raw message, then process it.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  config: Config;
  kalle: User;
  anna: User;
  acme: Customer;
  secret: string;
  app: FastifyInstance;
};
const test = suite('Who may write into a case');

const eml = testMail;
const receive = (raw: Buffer) => receiveMail(ctx.db, ctx.config, raw);
const caseByNumber = (number: string | undefined) => findCaseByNumber(ctx.db, number);

const entriesOf = (caseId: number) =>
  ctx.db
    .selectFrom('thread_entries')
    .select(['side', 'author_email', 'body_html'])
    .where('case_id', '=', caseId)
    .orderBy('id')
    .execute();
const notificationsOf = (caseId: number) =>
  ctx.db.selectFrom('notifications').selectAll().where('case_id', '=', caseId).execute();

async function statusId(kind: 'open' | 'waiting'): Promise<number> {
  const row = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', kind)
    .orderBy('position')
    .executeTakeFirstOrThrow();
  return row.id;
}

// Per at Acme writes in (Cc his colleague at a partner firm); Kalle is responsible and answers
// with a signed Message-ID, and the case waits for Per.
async function waitingCaseFromPer(subject: string): Promise<{ kase: Case; ourMessageId: string }> {
  const created = await receive(
    eml(
      { From: 'Per Persson <per@acme.se>', Cc: 'Lena Konsult <lena@partner.example>', Subject: subject },
      'Pappret fastnar i fack 2.',
    ),
  );
  assert.is(created.outcome, 'created');
  let kase = await caseByNumber(created.caseNumber);
  await quickEditCase(ctx.db, kase.id, kase.version, 'responsible_id', String(ctx.kalle.id), ctx.kalle);
  kase = await caseByNumber(kase.number);
  await quickEditCase(ctx.db, kase.id, kase.version, 'status_id', String(await statusId('waiting')), ctx.kalle);
  const ourMessageId = createMessageId('casedesk.test', ctx.secret);
  await ctx.db
    .insertInto('outbox')
    .values({
      kind: 'reply',
      case_id: kase.id,
      message_id: ourMessageId,
      envelope_from: 'support@casedesk.test',
      envelope_to: ['per@acme.se'],
      subject: `[#${kase.number}] ${subject}`,
      raw: Buffer.from('x'),
      status: 'sent',
    })
    .execute();
  return { kase: await caseByNumber(kase.number), ourMessageId };
}

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.acme = (await seedAcme(ctx.db)).customer;
  await createContact(ctx.db, ctx.acme.id, { name: 'Eva Ek', email: 'eva@acme.se', phone: '' });
  const other = await createCustomer(ctx.db, { number: 'K2002', name: 'Beta AB', email_domains: ['beta.se'] });
  await createContact(ctx.db, other.id, { name: 'Bo Beta', email: 'bo@beta.se', phone: '' });
  ctx.secret = await loadSecret(ctx.db, 'message-id');
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_address: 'support@casedesk.test', subject_tag: '[#{number}]' })
    .execute();
  ctx.app = await buildTestApp(ctx.db);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('mallory quoting a case’s Message-ID makes a new case, linked and flagged; the case is untouched', async () => {
  const { kase, ourMessageId } = await waitingCaseFromPer('Skrivaren fastnar');
  const before = await entriesOf(kase.id);
  const result = await receive(
    eml(
      {
        From: 'Mallory <mallory@evil.example>',
        Subject: 'Re: Skrivaren fastnar',
        'In-Reply-To': ourMessageId,
        References: ourMessageId,
      },
      'Betala fakturan till konto 1234 i stället.',
    ),
  );
  assert.is(result.outcome, 'stranger');
  const fresh = await caseByNumber(result.caseNumber);
  assert.is.not(fresh.id, kase.id);
  assert.is(fresh.previous_case_id, kase.id);
  assert.is(fresh.triage_reason, 'unknown_sender_on_case');
  assert.is(fresh.customer_id, null, 'not placed at the named case’s customer');
  assert.equal(
    (await entriesOf(fresh.id)).map((e) => e.author_email),
    ['mallory@evil.example'],
  );

  const after = await caseByNumber(kase.number);
  assert.equal([after.status_kind, after.waiting_since?.getTime()], ['waiting', kase.waiting_since?.getTime()]);
  assert.equal(await entriesOf(kase.id), before);
  assert.equal(await notificationsOf(kase.id), []);

  // What an agent sees: the flag in the overview row and on the case page, and a way to clear it.
  const client = new TestClient(ctx.app);
  await client.login('KALLE');
  const overview = await client.get('/cases?resp=any&kind=all');
  const row = new RegExp(`id="case-row-${fresh.id}"[\\s\\S]*?</tr>`).exec(overview.body)?.[0] ?? '';
  assert.match(row, 'Att granska');
  const oldRow = new RegExp(`id="case-row-${kase.id}"[\\s\\S]*?</tr>`).exec(overview.body)?.[0] ?? '';
  assert.not.match(oldRow, 'Att granska');
  const page = await client.get(`/cases/${fresh.number}`);
  assert.match(page.body, 'Avsändaren är okänd i ärendet som meddelandet svarar på');
  assert.match(page.body, `href="/cases/${kase.number}"`);
  // linked both ways (src/case-links/): under "Linked cases" on each, a line in each history
  const link = await ctx.db.selectFrom('case_links').selectAll().where('to_case_id', '=', kase.id).executeTakeFirst();
  assert.equal([link?.kind, link?.from_case_id], ['related', fresh.id]);
  const linked = /<section class="case-links"[\s\S]*?<\/section>/;
  assert.match(linked.exec(page.body)?.[0] ?? '', `href="/cases/${kase.number}"`);
  const named = await client.get(`/cases/${kase.number}`);
  assert.match(linked.exec(named.body)?.[0] ?? '', `href="/cases/${fresh.number}"`);
  assert.match((await client.get(`/cases/${kase.number}/history`)).body, 'Ärende länkat');
  const cleared = await client.post(`/cases/${fresh.number}/triage-clearance`);
  assert.is(cleared.statusCode, 303);
  assert.is((await caseByNumber(fresh.number)).triage_reason, null);
  const again = await client.get(`/cases/${fresh.number}`);
  assert.match(again.body, 'Ärendet är granskat.');
  assert.not.match(again.body, 'Avsändaren är okänd i ärendet');
  assert.match((await client.get(`/cases/${fresh.number}/history`)).body, 'Granskat');
});

test('another customer’s contact with the case tag makes a flagged case of their own customer', async () => {
  const { kase } = await waitingCaseFromPer('Toner slut');
  const before = await entriesOf(kase.id);
  const result = await receive(
    eml({ From: 'Bo Beta <bo@beta.se>', Subject: `SV: [#${kase.number}] Toner slut` }, 'Vi har också slut på toner.'),
  );
  assert.is(result.outcome, 'stranger');
  const fresh = await caseByNumber(result.caseNumber);
  assert.is(fresh.previous_case_id, kase.id);
  assert.is(fresh.triage_reason, 'unknown_sender_on_case');
  assert.is.not(fresh.customer_id, ctx.acme.id);
  const after = await caseByNumber(kase.number);
  assert.is(after.status_kind, 'waiting');
  assert.equal(await entriesOf(kase.id), before);
  assert.equal(await notificationsOf(kase.id), []);
});

test('the contact, a colleague at the customer, a Cc’d address and a staff user join the case', async () => {
  const { kase } = await waitingCaseFromPer('Nätverket');
  const senders = [
    'Per Persson <per@acme.se>',
    'Eva Ek <eva@acme.se>',
    'Nils Ny <nils@acme.se>',
    'Lena Konsult <lena@partner.example>',
    'Anna Testsson <anna@example.com>',
  ];
  for (const from of senders) {
    const result = await receive(eml({ From: from, Subject: `Re: [#${kase.number}] Nätverket` }, `Från ${from}.`));
    assert.is(result.outcome, 'appended', from);
    assert.is(result.caseNumber, kase.number, from);
  }
  const entries = await entriesOf(kase.id);
  assert.equal(
    entries.map((e) => e.author_email),
    ['per@acme.se', 'per@acme.se', 'eva@acme.se', 'nils@acme.se', 'lena@partner.example', 'anna@example.com'],
  );
  const after = await caseByNumber(kase.number);
  assert.is(after.status_kind, 'open', 'the contact’s answer opened it');
  assert.is(after.triage_reason, null);
});

test('a staff member answering a mention mail writes in the discussion under their name', async () => {
  const { kase } = await waitingCaseFromPer('Fakturan');
  await addDiscussionPost(ctx.db, kase.id, '<div>@ANNA kan du titta på fakturan?</div>', ctx.kalle, {
    config: ctx.config,
  });
  const mention = await ctx.db
    .selectFrom('outbox')
    .select(['message_id', 'subject', 'envelope_to'])
    .where('kind', '=', 'notification')
    .where('case_id', '=', kase.id)
    // a mention's mail is composed when it is queued, so it has its Message-ID
    .$narrowType<{ message_id: string }>()
    .executeTakeFirstOrThrow();
  assert.equal(mention.envelope_to, ['anna@example.com']);
  const threadBefore = await entriesOf(kase.id);

  const result = await receive(
    eml(
      {
        From: 'Anna Testsson <Anna@example.com>',
        Subject: `Re: ${mention.subject}`,
        'In-Reply-To': mention.message_id,
        References: mention.message_id,
      },
      `Ja, jag ringer kunden i eftermiddag.\n\nOn Wed, 25 Nov 2026 at 10:00, Casedesk <support@casedesk.test> wrote:\n> Kalle Testsson nämnde dig i ${kase.number}\n`,
    ),
  );
  assert.is(result.outcome, 'discussion');
  assert.is(result.caseNumber, kase.number);
  const posts = await ctx.db
    .selectFrom('discussion_posts')
    .select(['user_id', 'body_html'])
    .where('case_id', '=', kase.id)
    .orderBy('id')
    .execute();
  assert.is(posts.length, 2);
  assert.is(posts[1]?.user_id, ctx.anna.id);
  assert.match(posts[1]?.body_html ?? '', 'Ja, jag ringer kunden i eftermiddag.');
  assert.not.match(posts[1]?.body_html ?? '', 'nämnde dig');
  assert.equal(await entriesOf(kase.id), threadBefore, 'nothing in the customer thread');
  assert.is((await caseByNumber(kase.number)).status_kind, 'waiting');

  const client = new TestClient(ctx.app);
  await client.login('KALLE');
  const discussion = await client.get(`/cases/${kase.number}/discussion`);
  assert.match(discussion.body, 'Anna Testsson');
  assert.match(discussion.body, 'Ja, jag ringer kunden i eftermiddag.');
});

test('50 acknowledgements in an hour: 10 entries, 40 possible loops, listed for the administrator, never answered', async () => {
  const { kase } = await waitingCaseFromPer('Kvittens');
  const ack = () =>
    eml(
      {
        From: 'Acme Helpdesk <helpdesk@acme.se>',
        Subject: `Re: [#${kase.number}] Kvittens`,
      },
      'Tack för ditt meddelande. Vi återkommer så snart vi kan.',
    );
  const outcomes: string[] = [];
  for (let i = 0; i < 50; i += 1) outcomes.push((await receive(ack())).outcome);
  assert.is(outcomes.filter((o) => o === 'appended').length, 10);
  assert.is(outcomes.filter((o) => o === 'possible_loop').length, 40);
  assert.equal(outcomes.slice(10), Array(40).fill('possible_loop'));
  const entries = await entriesOf(kase.id);
  assert.is(entries.filter((e) => e.author_email === 'helpdesk@acme.se').length, 10);

  // An agent sets it waiting again; the loop goes on: the case stays waiting, nobody is told.
  let current = await caseByNumber(kase.number);
  await quickEditCase(ctx.db, kase.id, current.version, 'status_id', String(await statusId('waiting')), ctx.kalle);
  const twentyDaysAgo = new Date(Date.now() - 20 * 24 * 60 * 60 * 1000);
  await ctx.db.updateTable('cases').set({ waiting_since: twentyDaysAgo }).where('id', '=', kase.id).execute();
  const bellsBefore = (await notificationsOf(kase.id)).length;
  const loopIds: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const raw = ack();
    const result = await receive(raw);
    assert.is(result.outcome, 'possible_loop');
    loopIds.push(/Message-ID: (<[^>]+>)/.exec(raw.toString())?.[1] ?? '');
  }
  current = await caseByNumber(kase.number);
  assert.equal([current.status_kind, current.waiting_since?.getTime()], ['waiting', twentyDaysAgo.getTime()]);
  assert.is((await notificationsOf(kase.id)).length, bellsBefore);

  // Kontroll reminds the customer of the waiting case, but answers none of the loop's mails.
  await ctx.db.updateTable('case_settings').set({ kontroll_remind_enabled: true, kontroll_remind_days: 7 }).execute();
  const run = await loadKontrollRunContext(ctx.db, ctx.config, new Date(), null);
  assert.is(await applyKontroll(ctx.db, kase.id, run), 'remind');
  const reminder = await ctx.db
    .selectFrom('outbox')
    .select('compose')
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'reply')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  // the reminder is composed when it goes; its In-Reply-To and References are fixed already
  const { inReplyTo, references } = reminder.compose as { inReplyTo: string | null; references: string[] };
  assert.ok(references.length > 0, 'the reminder answers the customer mails that are not a loop');
  const head = [inReplyTo, ...references].join(' ');
  const loopMessageIds = await ctx.db
    .selectFrom('inbound_messages')
    .select('message_id')
    .where('case_id', '=', kase.id)
    .where('outcome', '=', 'possible_loop')
    .execute();
  assert.is(loopMessageIds.length, 43);
  for (const { message_id } of loopMessageIds) assert.not.ok(head.includes(message_id as string), message_id ?? '');

  // Administration → Possible loops lists them with the case and the sender, linked from the menu.
  await seedUser(ctx.db, 'ADMINA', 'admin');
  const admin = new TestClient(ctx.app);
  await admin.login('ADMINA');
  const menu = await admin.get('/admin');
  assert.match(menu.body, 'href="/admin/possible-loops"');
  const page = await admin.get('/admin/possible-loops');
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Möjliga e-postslingor');
  const rows = page.body.match(/<tr>\s*<td><time/g) ?? [];
  assert.is(rows.length, 43);
  assert.is(page.body.split(`href="/cases/${kase.number}"`).length - 1, 43);
  assert.is(page.body.split('helpdesk@acme.se').length - 1, 43);
});

test('the loop limit is a basic setting next to the other case settings', async () => {
  await seedUser(ctx.db, 'ADMINB', 'admin');
  const admin = new TestClient(ctx.app);
  await admin.login('ADMINB');
  const page = await admin.get('/admin/settings');
  assert.match(page.body, 'Gräns för e-post per avsändare och ärende (per timme)');
  assert.match(page.body, /name="loop_limit_per_hour" type="number" value="10"/);
  const saved = await admin.post('/admin/settings', {
    reopen_closed_within_days: '14',
    read_mail_every_minutes: '1',
    max_inbound_mb: '25',
    undo_send_seconds: '10',
    loop_limit_per_hour: '3',
  });
  assert.is(saved.statusCode, 303);
  const row = await ctx.db.selectFrom('case_settings').select('loop_limit_per_hour').executeTakeFirstOrThrow();
  assert.is(row.loop_limit_per_hour, 3);
  await ctx.db.updateTable('case_settings').set({ loop_limit_per_hour: 10 }).execute();
});

test.run();
