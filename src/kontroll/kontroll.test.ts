import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import { listCaseEvents } from '../cases/queries.ts';
import type { Config } from '../config.ts';
import { createDb, type Db } from '../db/database.ts';
import type { CaseEventKind, User } from '../db/schema.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, TestClient, testConfig, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { addStaffReply } from '../threads/threads.ts';
import {
  applyKontroll,
  isScheduledKontrollDue,
  loadKontrollRunContext,
  previewKontroll,
  runKontroll,
  runKontrollHoldingLock,
} from './kontroll.ts';
import { loadKontrollSettings } from './settings.ts';

const day = 24 * 60 * 60 * 1000;
const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  kalle: User;
  customerId: number;
  status: { open: number; waiting: number; closed: number };
  type: { support: number; question: number };
  // the start of the waiting periods the tests make; "now" is this plus some days
  t0: Date;
};
const at = (days: number, extraMs = 0) => new Date(ctx.t0.getTime() + days * day + extraMs);
let seq = 0;

const test = suite('Kontroll reminds and closes waiting cases, exactly once');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  const id = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await ctx.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  ctx.status = {
    open: await id('case_statuses', 'Öppen'),
    waiting: await id('case_statuses', 'Väntar på kund'),
    closed: await id('case_statuses', 'Stängd'),
  };
  ctx.type = { support: await id('case_types', 'Support'), question: await id('case_types', 'Fråga') };
  ctx.t0 = new Date(Date.now() - 60_000);
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Åkes Support', from_address: 'support@casedesk.test' })
    .execute();
});
test.after(async () => {
  await ctx.smtp.close();
  await ctx.drop();
});
// Each test starts with no waiting case, both switches on and every type included.
test.before.each(async () => {
  await ctx.db
    .updateTable('cases')
    .set({ status_id: ctx.status.closed })
    .where('status_kind', '=', 'waiting')
    .execute();
  await ctx.db
    .updateTable('case_settings')
    .set({
      kontroll_remind_enabled: true,
      kontroll_close_enabled: true,
      kontroll_remind_days: 7,
      kontroll_close_days: 14,
      kontroll_case_type_ids: null,
    })
    .execute();
});

// A case waiting for Per since t0, whose first message came by mail with its own Message-ID.
async function waitingCase(title: string, opts: { type?: number; since?: Date } = {}) {
  const kase = await createCase(
    ctx.db,
    {
      title,
      responsible_id: ctx.kalle.id,
      customer_id: ctx.customerId,
      status_id: ctx.status.waiting,
      case_type_id: opts.type ?? ctx.type.support,
      priority_id: null,
      due_date: null,
      contact_id: null,
      contact_name: 'Per Persson',
      contact_email: 'per@acme.se',
      contact_phone: null,
      body_html: `<div>${title}</div>`,
    },
    ctx.kalle,
  );
  seq += 1;
  await ctx.db
    .updateTable('thread_entries')
    .set({ message_id: `<kund-${seq}@acme.se>` })
    .where('case_id', '=', kase.id)
    .execute();
  await ctx.db
    .updateTable('cases')
    .set({ waiting_since: opts.since ?? ctx.t0 })
    .where('id', '=', kase.id)
    .execute();
  return kase;
}

const events = (caseId: number, kind: CaseEventKind) =>
  ctx.db.selectFrom('case_events').selectAll().where('case_id', '=', caseId).where('kind', '=', kind).execute();
const kindOf = async (caseId: number) =>
  (await ctx.db.selectFrom('cases').select('status_kind').where('id', '=', caseId).executeTakeFirstOrThrow())
    .status_kind;
const run = (now: Date, db = ctx.db) => runKontroll(db, ctx.config, { now, actor: ctx.kalle });

test('a reminder goes out once the limit is reached, not before', async () => {
  const kase = await waitingCase('Skrivaren fastnar');
  const early = await run(at(7, -1000));
  assert.equal(early.status === 'done' && [early.reminded, early.closed], [0, 0]);
  assert.is((await events(kase.id, 'kontroll_reminder')).length, 0);

  const due = await run(at(7));
  assert.equal(due.status === 'done' && [due.reminded, due.closed], [1, 0]);
  const [event] = await events(kase.id, 'kontroll_reminder');
  assert.is(event?.new_value, 'per@acme.se');
  const entry = await ctx.db
    .selectFrom('thread_entries')
    .selectAll()
    .where('case_id', '=', kase.id)
    .where('side', '=', 'system')
    .executeTakeFirstOrThrow();
  assert.ok(entry.body_html.includes('Per Persson'), entry.body_html);
  assert.ok(entry.body_html.includes('7 dagar'), entry.body_html);
  assert.is(entry.delivery, 'to_send');
  const mail = await ctx.db
    .selectFrom('outbox')
    .selectAll()
    .where('thread_entry_id', '=', entry.id)
    .executeTakeFirstOrThrow();
  assert.is(mail.status, 'queued');
  assert.is(mail.message_id, entry.message_id);
  assert.is(await kindOf(kase.id), 'waiting');
});

test('no second reminder in the same waiting period', async () => {
  const kase = await waitingCase('Lösenordet');
  await run(at(8));
  const again = await run(at(9));
  assert.equal(again.status === 'done' && [again.reminded, again.closed], [0, 0]);
  assert.is((await events(kase.id, 'kontroll_reminder')).length, 1);
});

test('a new waiting period after the customer answered gets a new reminder', async () => {
  const kase = await waitingCase('Faktura');
  await run(at(8));
  // The customer answers (incoming mail sets the case open), then staff wait for them again.
  await ctx.db.updateTable('cases').set({ status_id: ctx.status.open }).where('id', '=', kase.id).execute();
  const open = await ctx.db
    .selectFrom('cases')
    .select('waiting_since')
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is(open.waiting_since, null);
  await ctx.db.updateTable('cases').set({ status_id: ctx.status.waiting }).where('id', '=', kase.id).execute();
  const again = await ctx.db
    .selectFrom('cases')
    .select('waiting_since')
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  const newStart = again.waiting_since as Date;
  assert.ok(newStart.getTime() > ctx.t0.getTime());

  const tooEarly = await run(new Date(newStart.getTime() + 6 * day));
  assert.equal(tooEarly.status === 'done' && tooEarly.reminded, 0);
  const due = await run(new Date(newStart.getTime() + 7 * day));
  assert.equal(due.status === 'done' && due.reminded, 1);
  assert.is((await events(kase.id, 'kontroll_reminder')).length, 2);
});

test('a reply sent to the customer while waiting restarts the clock', async () => {
  const kase = await waitingCase('Nätverket');
  await addStaffReply(
    ctx.db,
    kase.id,
    { body_html: '<div>Har du provat igen?</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalle,
    { config: ctx.config },
  );
  const row = await ctx.db
    .selectFrom('cases')
    .select('waiting_since')
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.ok((row.waiting_since as Date).getTime() > ctx.t0.getTime());
  const result = await run(at(7));
  assert.equal(result.status === 'done' && result.reminded, 0);
});

test('the reply box can set the case waiting for the customer', async () => {
  const kase = await waitingCase('Skärmen');
  await ctx.db.updateTable('cases').set({ status_id: ctx.status.open }).where('id', '=', kase.id).execute();
  await addStaffReply(
    ctx.db,
    kase.id,
    { body_html: '<div>Svara när du kan.</div>', delivery: 'to_send', to: ['per@acme.se'], set_waiting: true },
    ctx.kalle,
    { config: ctx.config },
  );
  const row = await ctx.db
    .selectFrom('cases')
    .select(['status_kind', 'waiting_since', 'version'])
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is(row.status_kind, 'waiting');
  assert.ok(row.waiting_since);
  const changed = await ctx.db
    .selectFrom('case_events')
    .selectAll()
    .where('case_id', '=', kase.id)
    .where('field', '=', 'status_id')
    .execute();
  assert.is(changed.at(-1)?.new_value, String(ctx.status.waiting));
});

test('a case past the closing limit is closed with the configured status', async () => {
  const kase = await waitingCase('Gammalt ärende');
  const result = await run(at(14));
  assert.equal(result.status === 'done' && [result.reminded, result.closed], [0, 1]);
  const row = await ctx.db
    .selectFrom('cases')
    .select(['status_id', 'waiting_since', 'version'])
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is(row.status_id, ctx.status.closed);
  assert.is(row.waiting_since, null);
  assert.is(row.version, 2);
  // the history row names both statuses, and records the change like any other status change
  const [event] = (await listCaseEvents(ctx.db, kase.id)).filter((e) => e.kind === 'kontroll_closed');
  assert.equal([event?.field, event?.old_value, event?.new_value], ['status_id', 'Väntar på kund', 'Stängd']);
  const again = await run(at(20));
  assert.equal(again.status === 'done' && again.closed, 0);
});

test('case types left out and switches turned off are respected', async () => {
  const question = await waitingCase('En fråga', { type: ctx.type.question });
  const support = await waitingCase('Support', { type: ctx.type.support });
  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_case_type_ids: [ctx.type.support] })
    .execute();
  const result = await run(at(8));
  assert.equal(result.status === 'done' && result.reminded, 1);
  assert.is((await events(question.id, 'kontroll_reminder')).length, 0);
  assert.is((await events(support.id, 'kontroll_reminder')).length, 1);

  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: false, kontroll_close_enabled: false, kontroll_case_type_ids: null })
    .execute();
  const off = await run(at(30));
  assert.equal(off.status === 'done' && [off.reminded, off.closed], [0, 0]);
  assert.is(await kindOf(question.id), 'waiting');

  await ctx.db.updateTable('case_settings').set({ kontroll_close_enabled: true }).execute();
  const closeOnly = await previewKontroll(ctx.db, await loadKontrollSettings(ctx.db), at(10));
  assert.equal([closeOnly.remind.length, closeOnly.close.length], [0, 0]);
});

test('a case the customer answered a second before is left alone', async () => {
  const kase = await waitingCase('Svarade nyss');
  const runContext = await loadKontrollRunContext(ctx.db, ctx.config, at(8), null);
  const preview = await previewKontroll(ctx.db, runContext.settings, at(8));
  assert.ok(preview.remind.some((c) => c.id === kase.id));
  // Between reading the candidates and handling the case, the customer's mail opened it again.
  await ctx.db.updateTable('cases').set({ status_id: ctx.status.open }).where('id', '=', kase.id).execute();
  const done = await applyKontroll(ctx.db, kase.id, runContext);
  assert.is(done, 'skipped');
  assert.is((await events(kase.id, 'kontroll_reminder')).length, 0);
  assert.is((await ctx.db.selectFrom('outbox').select('id').where('case_id', '=', kase.id).execute()).length, 0);
});

test('two concurrent runs on two connections have one effect', async () => {
  const cases = await Promise.all([1, 2, 3, 4, 5].map((n) => waitingCase(`Samtidigt ${n}`)));
  const old = await Promise.all([1, 2, 3].map((n) => waitingCase(`Gammal ${n}`, { since: at(-10) })));
  const other = createDb(ctx.url, 5);
  try {
    const [a, b] = await Promise.all([run(at(8)), run(at(8), other)]);
    const done = [a, b].filter((r) => r.status === 'done');
    const reminded = done.reduce((n, r) => n + (r.status === 'done' ? r.reminded : 0), 0);
    const closed = done.reduce((n, r) => n + (r.status === 'done' ? r.closed : 0), 0);
    assert.equal([reminded, closed], [5, 3]);

    // Even past the advisory lock (two instances each holding their own), the row lock and the
    // per-period record keep it to one reminder per case.
    const more = await Promise.all([1, 2, 3, 4].map((n) => waitingCase(`Förbi låset ${n}`)));
    const [c, d] = await Promise.all([
      runKontrollHoldingLock(ctx.db, ctx.config, { now: at(8), concurrency: 4 }),
      runKontrollHoldingLock(other, ctx.config, { now: at(8), concurrency: 4 }),
    ]);
    assert.is(c.reminded + d.reminded, 4);
    for (const kase of [...cases, ...more]) assert.is((await events(kase.id, 'kontroll_reminder')).length, 1);
    for (const kase of old) assert.is((await events(kase.id, 'kontroll_closed')).length, 1);
  } finally {
    await other.destroy();
  }
});

test('the mails arrive threaded, filled in and marked as automatic', async () => {
  await ctx.db.updateTable('outbox').set({ status: 'cancelled' }).where('status', '=', 'queued').execute();
  const remind = await waitingCase('Skrivaren igen');
  const close = await waitingCase('Routern', { since: at(-7) });
  await run(at(8));
  const sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  const before = ctx.smtp.received.length;
  await sender.runOnce();
  await sender.stop();
  await ctx.smtp.waitFor(before + 2);
  const mails = ctx.smtp.received.slice(before);
  const byCase = (number: string) => mails.find((m) => m.parsed.subject?.includes(number));
  const reminder = byCase(remind.number);
  const closing = byCase(close.number);
  assert.ok(reminder && closing, mails.map((m) => m.parsed.subject).join(' | '));
  assert.is(reminder.parsed.subject, `[#${remind.number}] Påminnelse: Skrivaren igen`);
  assert.is(closing.parsed.subject, `[#${close.number}] Ärendet är avslutat: Routern`);
  assert.equal(reminder.envelopeTo, ['per@acme.se']);
  for (const [mail, kase] of [
    [reminder, remind],
    [closing, close],
  ] as const) {
    assert.is(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
    const first = await ctx.db
      .selectFrom('thread_entries')
      .select('message_id')
      .where('case_id', '=', kase.id)
      .where('side', '=', 'customer')
      .executeTakeFirstOrThrow();
    assert.is(mail.parsed.inReplyTo, first.message_id);
    assert.ok([mail.parsed.references].flat().includes(first.message_id as string));
    const text = (mail.parsed.text ?? '').replace(/\s+/g, ' ');
    assert.ok(text.includes(`ärende ${kase.number}`), text);
    assert.ok(text.includes('Per Persson'));
    assert.ok(text.includes('Kalle Testsson'));
  }
  assert.ok(reminder.parsed.text?.replace(/\s+/g, ' ').includes('8 dagar'), reminder.parsed.text);
  assert.ok(closing.parsed.text?.replace(/\s+/g, ' ').includes('15 dagar'), closing.parsed.text);
  // composed when sent: the outbox keeps the very bytes that went, for a retry and the E-mail OUT copy
  const row = await ctx.db
    .selectFrom('outbox')
    .select(['raw', 'compose', 'status'])
    .where('case_id', '=', remind.id)
    .executeTakeFirstOrThrow();
  assert.is(row.status, 'sent');
  assert.is(row.compose, null);
  const kept = row.raw?.toString() ?? '';
  assert.ok(kept.includes(`Message-ID: ${reminder.parsed.messageId}`), kept.slice(0, 500));
  // the same mail as the one that arrived (the server's copy differs only in line endings)
  assert.is(kept.replace(/\r?\n/g, '\n').trim(), reminder.raw.toString().replace(/\r?\n/g, '\n').trim());
});

test('a reminder is written when it goes, with the mail settings of that moment', async () => {
  await ctx.db.updateTable('outbox').set({ status: 'cancelled' }).where('status', '=', 'queued').execute();
  const remind = await waitingCase('Skannern');
  await run(at(8));
  const queued = await ctx.db
    .selectFrom('outbox')
    .select(['raw', 'compose', 'message_id'])
    .where('case_id', '=', remind.id)
    .where('status', '=', 'queued')
    .executeTakeFirstOrThrow();
  assert.is(queued.raw, null, 'nothing composed inside the run');
  await ctx.db.updateTable('mail_settings').set({ from_name: 'Kundtjänst Acme' }).execute();
  const sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  const before = ctx.smtp.received.length;
  await sender.runOnce();
  await sender.stop();
  await ctx.smtp.waitFor(before + 1);
  const mail = ctx.smtp.received.slice(before).find((m) => m.parsed.subject?.includes(remind.number));
  assert.is(mail?.parsed.from?.value[0]?.name, 'Kundtjänst Acme');
  assert.is(mail?.parsed.messageId, queued.message_id, 'the Message-ID fixed when it was queued');
  await ctx.db.updateTable('mail_settings').set({ from_name: 'Casedesk' }).execute();
});

test('a contact who reads English gets the English texts, others the Swedish ones', async () => {
  const english = await ctx.db
    .insertInto('contacts')
    .values({ customer_id: ctx.customerId, name: 'Jane Doe', email: 'jane@acme.se', language: 'en' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const kase = await waitingCase('Printer jam');
  await ctx.db
    .updateTable('cases')
    .set({ contact_id: english.id, contact_name: null, contact_email: null })
    .where('id', '=', kase.id)
    .execute();
  const swedish = await waitingCase('Skrivarstopp');
  await run(at(8));
  const subjectOf = async (caseId: number) =>
    (await ctx.db.selectFrom('outbox').select(['subject', 'envelope_to']).where('case_id', '=', caseId).execute()).map(
      (o) => [o.subject, o.envelope_to],
    );
  assert.equal(await subjectOf(kase.id), [[`[#${kase.number}] Reminder: Printer jam`, ['jane@acme.se']]]);
  assert.equal(await subjectOf(swedish.id), [[`[#${swedish.number}] Påminnelse: Skrivarstopp`, ['per@acme.se']]]);
});

test('the schedule runs once a day from the configured local time', async () => {
  const config = testConfig({ TIME_ZONE: 'Europe/Stockholm' });
  await ctx.db.updateTable('case_settings').set({ kontroll_run_at: '07:00' }).execute();
  // 05:59 UTC is 06:59 in Stockholm in November (UTC+1)
  assert.is(await isScheduledKontrollDue(ctx.db, config, new Date('2030-11-27T05:59:00Z')), false);
  assert.is(await isScheduledKontrollDue(ctx.db, config, new Date('2030-11-27T06:00:00Z')), true);
  await runKontrollHoldingLock(ctx.db, config, { now: new Date('2030-11-27T06:00:00Z'), source: 'schedule' });
  assert.is(await isScheduledKontrollDue(ctx.db, config, new Date('2030-11-27T06:01:00Z')), false);
  assert.is(await isScheduledKontrollDue(ctx.db, config, new Date('2030-11-28T06:00:00Z')), true);
  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: false, kontroll_close_enabled: false })
    .execute();
  assert.is(await isScheduledKontrollDue(ctx.db, config, new Date('2030-11-28T06:00:00Z')), false);
});

test('Manage → Kontroll: preview, run and summary over HTTP; settings validated', async () => {
  const app = await buildTestApp(ctx.db);
  try {
    const remind = await waitingCase('Via webben', { since: new Date(Date.now() - 8 * day) });
    const close = await waitingCase('Via webben, gammal', { since: new Date(Date.now() - 15 * day) });
    const client = new TestClient(app);
    await client.get('/login');
    await client.post('/login', { login: 'KALLE', password: testPassword });
    const preview = await client.get('/kontroll');
    assert.is(preview.statusCode, 200);
    assert.ok(preview.body.includes(`/cases/${remind.number}`));
    assert.ok(preview.body.includes(`/cases/${close.number}`));
    const refused = await client.post('/kontroll', { _csrf: '' });
    assert.is(refused.statusCode, 403);
    const posted = await client.post('/kontroll');
    assert.is(posted.statusCode, 303);
    const summary = await client.get(posted.headers.location as string);
    assert.is(summary.statusCode, 200);
    assert.ok(summary.body.includes(remind.number) && summary.body.includes(close.number));
    assert.is(await kindOf(close.id), 'closed');
    assert.match(summary.body, '<h1>Kontroll klar</h1>');

    // a run whose process died before it finished (kill -9): its page says so, with what it did
    const runId = /\/kontroll\/runs\/(\d+)/.exec(posted.headers.location as string)?.[1] as string;
    await ctx.db
      .updateTable('kontroll_runs')
      .set({ finished_at: null, reminded: 0, closed: 0 })
      .where('id', '=', runId)
      .execute();
    const cut = await client.get(`/kontroll/runs/${runId}`);
    assert.match(cut.body, '<h1>Kontroll inte avslutad</h1>');
    assert.match(cut.body, '1 ärende påmint, 1 ärende stängt');

    // settings are for administrators, and checked
    assert.is((await client.get('/admin/settings/kontroll')).statusCode, 403);
    await seedUser(ctx.db, 'ADMIN', 'admin');
    const admin = new TestClient(app);
    await admin.get('/login');
    await admin.post('/login', { login: 'ADMIN', password: testPassword });
    const form = await admin.get('/admin/settings/kontroll');
    assert.is(form.statusCode, 200);
    const good = {
      remind_enabled: 'on',
      remind_days: '5',
      remind_subject_sv: 'Påminnelse {case_number}',
      remind_text_sv: 'Hej {contact_name}',
      remind_subject_en: 'Reminder {case_number}',
      remind_text_en: 'Hello {contact_name}',
      close_enabled: 'on',
      close_days: '10',
      close_subject_sv: 'Stängt',
      close_text_sv: 'Stängt efter {days} dagar',
      close_subject_en: 'Closed',
      close_text_en: 'Closed after {days} days',
      close_status_id: String(ctx.status.closed),
      case_type_ids: String(ctx.type.support),
      run_at: '06:30',
    };
    const bad = await admin.post('/admin/settings/kontroll', {
      ...good,
      close_days: '3',
      remind_text_sv: 'Hej {namn}',
    });
    assert.is(bad.statusCode, 422);
    assert.ok(bad.body.includes('f-close_days-error') && bad.body.includes('f-remind_text_sv-error'));
    const saved = await admin.post('/admin/settings/kontroll', good);
    assert.is(saved.statusCode, 303);
    const s = await loadKontrollSettings(ctx.db);
    assert.equal([s.remind.days, s.close.days, s.caseTypeIds, s.runAt], [5, 10, [ctx.type.support], '06:30']);
  } finally {
    await app.close();
  }
});

test.run();
