import http from 'node:http';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AppProcess, startApp } from '../bench/app-process.ts';
import { type BrowserSession, logIn } from '../bench/session.ts';
import { createCase } from '../cases/cases.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import type { JobOutcome } from '../jobs/run-job.ts';
import { seedUser, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { addTestMailbox, startTestImapServer, type TestImapServer, testMessage } from '../test-support/imap.ts';
import { type JobProcess, startJobProcess } from '../test-support/job-process.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { isInstalled, needs } from '../test-support/system-packages.ts';

// Real app processes on one test database, as two machines behind a load balancer would run:
// A and B, each with its outbox sender on, and as the schedulers of the two, two processes that
// run THE schedule's entries (src/jobs/schedule.ts) through runJob when told to. They serve the
// tests of sessions and edits, then those of the background work, which must happen once however
// many instances run it. The WEB_CONCURRENCY test starts an app of its own.
type Smtp = Awaited<ReturnType<typeof startTestSmtpServer>>;
const test = suite<{
  db: Db;
  url: string;
  drop: () => Promise<void>;
  smtp: Smtp;
  imap?: TestImapServer;
  kalle: User;
  customerId: number;
  // A and B
  apps: AppProcess[];
  schedulers: JobProcess[];
  // a session made on A, for the tests of the background work
  session: BrowserSession;
  // started by a test for itself, stopped after it
  own: AppProcess[];
}>('cluster');
const secret = 's'.repeat(40);

test.before(async (ctx) => {
  Object.assign(ctx, await createTestDatabase(), { apps: [], schedulers: [], own: [] });
  // Dovecot only for the Read mail test (withDovecot): the others run on a machine without it.
  const [smtp, imap] = await Promise.all([
    startTestSmtpServer(),
    isInstalled('dovecot') ? startTestImapServer() : undefined,
  ]);
  Object.assign(ctx, { smtp, imap });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Åkes Support', from_address: 'support@casedesk.test' })
    .execute();
  const env = { SESSION_SECRET: secret, JOBS: 'false', MAIL_SENDER: 'true', SMTP_URL: smtp.url };
  const started = await Promise.allSettled([
    startApp(ctx.url, env, { startTimeoutMs: 180_000 }),
    startApp(ctx.url, env, { startTimeoutMs: 180_000 }),
    startJobProcess({ databaseUrl: ctx.url, smtpUrl: smtp.url }),
    startJobProcess({ databaseUrl: ctx.url, smtpUrl: smtp.url }),
  ]);
  for (const s of started) {
    if (s.status !== 'fulfilled') continue;
    if ('baseUrl' in s.value) ctx.apps.push(s.value);
    else ctx.schedulers.push(s.value);
  }
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  ctx.session = await logIn(appA(ctx).baseUrl, 'KALLE', testPassword);
});
test.after.each(async (ctx) => {
  await Promise.all(ctx.own.map((app) => app.stop()));
  ctx.own = [];
});
test.after(async (ctx) => {
  await Promise.all([...ctx.apps.map((a) => a.stop()), ...ctx.schedulers.map((s) => s.stop())]);
  await Promise.all([ctx.smtp?.close(), ctx.imap?.close()]);
  await ctx.drop();
});

type Ctx = Parameters<Parameters<typeof test.before>[0]>[0];
const appA = (ctx: Ctx) => ctx.apps[0] as AppProcess;
const appB = (ctx: Ctx) => ctx.apps[1] as AppProcess;

// A request on a new connection each time, so the cluster may hand it to any worker.
function getFresh(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
    // an answer that never comes fails the test here instead of at the runner's 5-minute limit
    request.setTimeout(10_000, () => request.destroy(new Error(`no answer from ${url} within 10 s`)));
  });
}

// The thread entries of these cases written by one side (the customer's mails, Kontroll's reminders).
function threadEntriesOf(ctx: Ctx, cases: { id: number }[], side: 'customer' | 'system') {
  return ctx.db
    .selectFrom('thread_entries')
    .select('case_id')
    .where(
      'case_id',
      'in',
      cases.map((c) => c.id),
    )
    .where('side', '=', side)
    .execute();
}

const row = (html: string, id: number) =>
  /id="case-row-\d+"[\s\S]*?<\/tr>/g.exec(html.slice(html.indexOf(`id="case-row-${id}"`)))?.[0] ?? '';

// A form post as the browser sends it, with the session made on A (valid on either instance).
async function post(ctx: Ctx, app: AppProcess, path: string, fields: Record<string, string> = {}) {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { cookie: ctx.session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: ctx.session.csrf, ...fields }),
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.text();
  assert.ok(response.status === 302 || response.status === 303, `POST ${path}: ${response.status} ${body}`);
  return response.headers.get('location') ?? '';
}

async function waitUntil(what: string, done: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Nothing left for a sender to do: every message went or failed for good.
const outboxDrained = (ctx: Ctx) => async () =>
  !(await ctx.db.selectFrom('outbox').select('id').where('status', 'in', ['queued', 'sending']).executeTakeFirst());

// How many mails each address got, among those received since `from`.
function mailsPerAddress(ctx: Ctx, from: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of ctx.smtp.received.slice(from)) {
    for (const to of mail.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

const schedulerOutcomes = (outcomes: JobOutcome[]) => outcomes.map((o) => o.status).join(', ');

test('two instances: a session from one works on the other, a quick edit shows there, a logout ends it there', async (ctx) => {
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId);
  const waiting = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('name', '=', 'Väntar på kund')
    .executeTakeFirstOrThrow();
  const [a, b] = [appA(ctx), appB(ctx)];

  const session = await logIn(a.baseUrl, 'KALLE', testPassword);
  const onB = () => fetch(`${b.baseUrl}/cases`, { headers: { cookie: session.cookie }, redirect: 'manual' });
  const before = await onB();
  assert.is(before.status, 200, 'the session made on A is valid on B');
  const beforeRow = row(await before.text(), kase.id);
  assert.match(beforeRow, 'Skrivaren fastnar');

  const edit = await fetch(`${a.baseUrl}/cases/${kase.number}/quick-edit`, {
    method: 'POST',
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'hx-request': 'true',
      'x-csrf-token': session.csrf,
    },
    body: new URLSearchParams({ field: 'status_id', value: String(waiting.id), version: String(kase.version) }),
  });
  assert.is(edit.status, 200, await edit.clone().text());
  const afterRow = row(await (await onB()).text(), kase.id);
  assert.is.not(afterRow, beforeRow, "A's quick edit shows on B's overview");
  assert.match(afterRow, /selected>Väntar på kund<|>Väntar på kund</);

  const out = await fetch(`${a.baseUrl}/logout`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: session.csrf }),
    redirect: 'manual',
  });
  assert.ok(out.status === 302 || out.status === 303, `logout answered ${out.status}`);
  const deadline = Date.now() + 1_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    status = (await onB()).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 50));
  }
  assert.is.not(status, 200, 'within a second of the logout on A the session no longer opens /cases on B');
});

test('replies sent on both instances, both senders running: each arrives once', async (ctx) => {
  const n = 20;
  // Each reply is held for Undo, and the sender of the instance it was sent on wakes when the
  // first hold ends. With replies sent on both and all their holds ending at that moment, both
  // senders wake together to twenty due messages and reach for them side by side.
  await ctx.db.updateTable('case_settings').set({ undo_send_seconds: 3 }).execute();
  const cases = await Promise.all([
    seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId),
    seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId),
  ]);
  const before = ctx.smtp.received.length;
  await Promise.all(
    [appA(ctx), appB(ctx)].map(async (app, side) => {
      const kase = cases[side] as Case;
      for (let i = side; i < n; i += 2) {
        await post(ctx, app, `/cases/${kase.number}/thread`, {
          body_html: `<div>Svar ${i}</div>`,
          delivery: 'to_send',
          to: `svar${i}@acme.se`,
        });
      }
    }),
  );
  await sql`update outbox set held_until = (select min(held_until) from outbox where status = 'queued')
    where status = 'queued'`.execute(ctx.db);
  await ctx.smtp.waitFor(before + n, 30_000);
  await waitUntil('the outbox is empty', outboxDrained(ctx));
  const received = ctx.smtp.received.slice(before);
  const ids = received.map((m) => m.parsed.messageId);
  assert.is(new Set(ids).size, n, 'n different messages arrived');
  assert.is(received.length, n, `each arrived once (${received.length} deliveries of ${new Set(ids).size} messages)`);
  const perAddress = mailsPerAddress(ctx, before);
  for (let i = 0; i < n; i++) assert.is(perAddress.get(`svar${i}@acme.se`), 1, `svar${i} got its reply once`);
  // what makes the test worth its time: both instances sent (each sender keeps one connection)
  assert.ok(new Set(received.map((m) => m.connection)).size >= 2, 'both senders delivered');
});

const withDovecot = needs('dovecot', test);

withDovecot(
  'Read mail clicked on both instances while both schedulers read: each mail is one case, stored once',
  async (ctx) => {
    const imap = ctx.imap;
    if (!imap) throw new Error('Dovecot did not start');
    const m = 10;
    const mailbox = await addTestMailbox(ctx.db, imap);
    const subjects = Array.from({ length: m }, (_, i) => `Klustret fråga ${i}`);
    const messageIds = subjects.map((_, i) => `<kluster-${i}.${Date.now()}@acme.se>`);
    for (const [i, subject] of subjects.entries()) {
      await imap.appendMessage(testMessage({ subject, messageId: messageIds[i] }));
    }

    // All four at the same moment: a person's click on A, one on B, and both schedules.
    const [, , ...outcomes] = await Promise.all([
      post(ctx, appA(ctx), '/mail/read'),
      post(ctx, appB(ctx), '/mail/read'),
      ...ctx.schedulers.map((s) => s.run('read-mail')),
    ]);
    assert.not.ok(
      outcomes.some((o) => o.status === 'failed'),
      `${schedulerOutcomes(outcomes as JobOutcome[])}: ${ctx.schedulers.map((s) => s.output()).join('\n')}`,
    );
    await waitUntil(
      'no Read mail is running',
      async () =>
        !(await ctx.db.selectFrom('mail_reads').select('id').where('state', '=', 'running').executeTakeFirst()),
    );

    const cases = await ctx.db.selectFrom('cases').select(['id', 'title']).where('title', 'in', subjects).execute();
    for (const subject of subjects) {
      assert.is(cases.filter((c) => c.title === subject).length, 1, `"${subject}" became one case`);
    }
    const entries = await threadEntriesOf(ctx, cases, 'customer');
    assert.is(entries.length, m, 'each case has the one mail in its thread');
    const stored = await ctx.db
      .selectFrom('inbound_messages')
      .select(['message_id', 'status'])
      .where('mailbox_id', '=', mailbox.id)
      .execute();
    assert.equal(stored.map((s) => s.message_id).sort(), [...messageIds].sort(), 'each mail stored once');
    const flags = await imap.listMessages();
    assert.is(flags.length, m);
    assert.ok(
      flags.every((f) => f.flags.includes('\\Seen')),
      'every mail is marked read on the server',
    );
  },
);

test('Kontroll run on both instances while both schedulers run it: each customer is reminded once', async (ctx) => {
  const k = 20;
  const waiting = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('name', '=', 'Väntar på kund')
    .executeTakeFirstOrThrow();
  const type = await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  // Reminders after 7 days, closing after 14; the schedule is due from midnight.
  await ctx.db
    .updateTable('case_settings')
    .set({
      kontroll_remind_enabled: true,
      kontroll_close_enabled: true,
      kontroll_remind_days: 7,
      kontroll_close_days: 14,
      kontroll_case_type_ids: null,
      kontroll_run_at: '00:00',
    })
    .execute();
  const cases: Case[] = [];
  for (let i = 0; i < k; i++) {
    cases.push(
      await createCase(
        ctx.db,
        {
          title: `Väntar ${i}`,
          responsible_id: ctx.kalle.id,
          customer_id: ctx.customerId,
          status_id: waiting.id,
          case_type_id: type.id,
          priority_id: null,
          due_date: null,
          contact_id: null,
          contact_name: `Kund ${i}`,
          contact_email: `vantar${i}@acme.se`,
          contact_phone: null,
          body_html: `<div>Fråga ${i}</div>`,
        },
        ctx.kalle,
      ),
    );
  }
  await ctx.db
    .updateTable('cases')
    .set({ waiting_since: new Date(Date.now() - 9 * 24 * 3600_000) })
    .where(
      'id',
      'in',
      cases.map((c) => c.id),
    )
    .execute();
  const before = ctx.smtp.received.length;

  const [, , ...outcomes] = await Promise.all([
    post(ctx, appA(ctx), '/kontroll'),
    post(ctx, appB(ctx), '/kontroll'),
    ...ctx.schedulers.map((s) => s.run('kontroll')),
  ]);
  assert.not.ok(
    outcomes.some((o) => o.status === 'failed'),
    `${schedulerOutcomes(outcomes as JobOutcome[])}: ${ctx.schedulers.map((s) => s.output()).join('\n')}`,
  );
  // Another run a moment later finds nothing left to do; it also wakes A's sender, as a
  // scheduler's run (which may have been the one that did the work) wakes none.
  const again = await post(ctx, appA(ctx), '/kontroll');
  assert.match(again, /^\/kontroll\/runs\/\d+$/);
  const rerun = await fetch(`${appA(ctx).baseUrl}${again}`, { headers: { cookie: ctx.session.cookie } });
  assert.match(await rerun.text(), '0 ärenden påminda, 0 ärenden stängda');
  await ctx.smtp.waitFor(before + k, 30_000);
  await waitUntil('the outbox is empty', outboxDrained(ctx));
  const perAddress = mailsPerAddress(ctx, before);
  for (let i = 0; i < k; i++) assert.is(perAddress.get(`vantar${i}@acme.se`), 1, `vantar${i} got one reminder`);
  assert.is(ctx.smtp.received.length - before, k, 'no other mail went');
  const reminders = await threadEntriesOf(ctx, cases, 'system');
  assert.is(reminders.length, k, 'one reminder in each case thread');
});

test('WEB_CONCURRENCY=2 serves from two processes; a worker killed with SIGKILL is replaced while requests go on', async (ctx) => {
  const app = await startApp(
    ctx.url,
    { WEB_CONCURRENCY: '2', LOG_LEVEL: 'info', SESSION_SECRET: secret },
    { startTimeoutMs: 180_000 },
  );
  ctx.own.push(app);
  const servingPids = () =>
    new Set([...app.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => Number(m[1])));
  // /healthz answers as soon as the first worker listens; the primary says when both do.
  const readyBy = Date.now() + 120_000;
  while (!app.output().includes('with 2 web processes') && Date.now() < readyBy)
    await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 10; i++) assert.is(await getFresh(`${app.baseUrl}/healthz`), 200);
  const pids = servingPids();
  assert.is(pids.size, 2, `requests were served by ${[...pids].join(', ')}`);
  assert.not.ok(pids.has(app.pid), 'the primary serves no requests itself');

  const [victim] = [...pids];
  process.kill(victim as number, 'SIGKILL');
  const killedAt = Date.now();
  const answers: { afterMs: number; status: number }[] = [];
  while (Date.now() < killedAt + 3_000) {
    const status = await getFresh(`${app.baseUrl}/healthz`).catch(() => 0);
    answers.push({ afterMs: Date.now() - killedAt, status });
    await new Promise((r) => setTimeout(r, 50));
  }
  // Connections the primary handed to the killed worker before it heard of the exit die with it
  // (a load balancer in front retries those); once it has, every request is served by the other.
  const failed = answers.filter((a) => a.status !== 200);
  assert.ok(
    failed.length <= 3,
    `at most the requests of the first moment failed: ${failed.length} of ${answers.length}`,
  );
  assert.ok(
    failed.every((a) => a.afterMs < 1_000),
    `every request from a second after the kill answered 200: ${JSON.stringify(failed)}`,
  );
  assert.ok(answers.filter((a) => a.afterMs >= 1_000).length > 5, 'requests went on meanwhile');
  // The replacement takes a few seconds to load the app; until then the other worker serves.
  const fresh = () => [...servingPids()].filter((pid) => !pids.has(pid));
  const waitUntil = Date.now() + 30_000;
  while (fresh().length === 0 && Date.now() < waitUntil) {
    assert.is(await getFresh(`${app.baseUrl}/healthz`), 200);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(fresh().length, 1, `a new worker serves: ${[...servingPids()].join(', ')}`);
});

test.run();
