import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyCaseEvent } from '../cases/case-events.ts';
import { statusOfKind } from '../cases/statuses.ts';
import { tablesChanged } from '../db/cached.ts';
import { createDb, type Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { seedUser, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedAllHoursPolicy, seedPrinterJamCase } from '../test-support/seeds.ts';
import { escalationSlices, runSlaEscalation } from './escalation.ts';

// The escalation job: each deadline's warning and breach reach the responsible person and the
// escalation user once, however often and from however many instances the job runs. The cases run
// by a 24/7 calendar, so the deadlines are plain sums of the targets, and the job is handed the
// instant to judge by.
const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  kalle: User;
  boss: User;
  customerId: number;
  policyId: number;
};
const test = suite('The escalation job tells each person of each deadline once');
const minute = 60_000;
const config = testConfig({ PUBLIC_URL: 'https://casedesk.example' });

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'agent', { language: 'en' });
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  ctx.policyId = (await seedAllHoursPolicy(ctx.db)).policyId;
});
test.after(() => ctx.drop());

async function setEscalationUser(userId: number | null) {
  await ctx.db.updateTable('sla_policies').set({ escalation_user_id: userId }).where('id', '=', ctx.policyId).execute();
  tablesChanged(ctx.db, 'sla_policies');
}

// A fresh case opened at `at`, and the job's clock from then.
async function openCase(responsible: User | null = ctx.kalle): Promise<{ kase: Case; after: (m: number) => Date }> {
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, undefined, {
    responsible_id: responsible?.id,
  });
  const opened = (
    await ctx.db.selectFrom('cases').select('sla_clock').where('id', '=', kase.id).executeTakeFirstOrThrow()
  ).sla_clock?.response?.runningSince as string;
  assert.ok(opened, 'the case runs by the policy');
  return { kase, after: (m: number) => new Date(new Date(opened).getTime() + m * minute) };
}

const dueOf = async (caseId: number) =>
  (await ctx.db.selectFrom('cases').select('sla_clock').where('id', '=', caseId).executeTakeFirstOrThrow()).sla_clock
    ?.response?.dueAt;
const bellsOf = (caseId: number) =>
  ctx.db
    .selectFrom('notifications')
    .select(['user_id', 'kind', 'link', 'summary'])
    .where('case_id', '=', caseId)
    .orderBy('id')
    .execute();
const countBells = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const byUser = (bells: { user_id: number; kind: string }[]) =>
  bells.map((b) => [b.user_id, b.kind]).sort((x, y) => Number(x[0]) - Number(y[0]));
const mailsOf = (caseId: number) =>
  ctx.db
    .selectFrom('outbox')
    .select(['envelope_to', 'subject', 'compose'])
    .where('case_id', '=', caseId)
    .where('kind', '=', 'notification')
    .orderBy('id')
    .execute();
const breachLines = (caseId: number) =>
  ctx.db
    .selectFrom('case_events')
    .select(['kind', 'new_value'])
    .where('case_id', '=', caseId)
    .where('kind', '=', 'sla_breached')
    .execute();

test('the warning at 75 % and then the breach, each once; a re-run tells nobody', async () => {
  await setEscalationUser(null);
  const { kase, after } = await openCase();
  assert.is((await runSlaEscalation(ctx.db, config, after(40))).notified, 0, 'before the warning point');
  assert.equal(await bellsOf(kase.id), []);

  const warned = await runSlaEscalation(ctx.db, config, after(46));
  assert.ok(warned.warnings >= 1);
  let bells = await bellsOf(kase.id);
  assert.equal(
    bells.map((b) => [b.user_id, b.kind, b.link]),
    [[ctx.kalle.id, 'sla_warning', `/cases/${kase.number}`]],
  );
  let mails = await mailsOf(kase.id);
  assert.is(mails.length, 1);
  assert.equal(mails[0]?.envelope_to, ['kalle@example.com']);
  assert.match(mails[0]?.subject ?? '', /Tidsgräns nära/);
  assert.match(JSON.stringify(mails[0]?.compose), /https:\/\/casedesk\.example\/cases\//);
  assert.equal(await breachLines(kase.id), [], 'a warning is no breach');

  await runSlaEscalation(ctx.db, config, after(47));
  assert.is((await bellsOf(kase.id)).length, 1, 'the same deadline is not announced again');

  await runSlaEscalation(ctx.db, config, after(61));
  bells = await bellsOf(kase.id);
  assert.equal(
    bells.map((b) => b.kind),
    ['sla_warning', 'sla_breached'],
  );
  mails = await mailsOf(kase.id);
  assert.is(mails.length, 2);
  assert.match(mails[1]?.subject ?? '', /Tidsgräns överskriden/);
  assert.equal(await breachLines(kase.id), [{ kind: 'sla_breached', new_value: 'first_response' }]);

  const again = await runSlaEscalation(ctx.db, config, after(62));
  assert.is(again.notified, 0);
  assert.is((await bellsOf(kase.id)).length, 2);
  assert.is((await breachLines(kase.id)).length, 1, 'the history records the breach once');
});

test('a breach stays announced once when a close and reopen move its deadline', async () => {
  await setEscalationUser(null);
  const { kase, after } = await openCase();
  await runSlaEscalation(ctx.db, config, after(61));
  assert.equal(
    (await bellsOf(kase.id)).map((b) => b.kind),
    ['sla_breached'],
  );
  // closed and reopened a minute later: the clock picks up with what it had, its deadline moves
  const closed = await statusOfKind(ctx.db, 'closed');
  const open = await statusOfKind(ctx.db, 'open');
  const dueBefore = await dueOf(kase.id);
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: closed }, ctx.kalle, { now: after(62) });
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: open }, ctx.kalle, { now: after(63) });
  assert.is.not(await dueOf(kase.id), dueBefore, 'the deadline was recomputed to another instant');
  const again = await runSlaEscalation(ctx.db, config, after(64));
  assert.is(again.notified, 0, 'nobody is told of the same breach again');
  assert.is((await bellsOf(kase.id)).length, 1);
  assert.is((await breachLines(kase.id)).length, 1);
});

test('the responsible person and the escalation user each hear once, in their own language', async () => {
  await setEscalationUser(ctx.boss.id);
  const { kase, after } = await openCase();
  await runSlaEscalation(ctx.db, config, after(46));
  const bells = await bellsOf(kase.id);
  assert.equal(
    byUser(bells),
    byUser([
      { user_id: ctx.boss.id, kind: 'sla_warning' },
      { user_id: ctx.kalle.id, kind: 'sla_warning' },
    ]),
  );
  const mails = await mailsOf(kase.id);
  assert.equal(mails.map((m) => m.envelope_to[0]).sort(), ['boss@example.com', 'kalle@example.com']);
  assert.ok(
    mails.some((m) => /Deadline near/.test(m.subject)),
    'BOSS reads English',
  );
});

test('a case nobody is responsible for alerts the escalation user only', async () => {
  await setEscalationUser(ctx.boss.id);
  const { kase, after } = await openCase(null);
  await runSlaEscalation(ctx.db, config, after(61));
  const bells = await bellsOf(kase.id);
  assert.equal(
    bells.map((b) => [b.user_id, b.kind]),
    [[ctx.boss.id, 'sla_breached']],
    'a deadline first seen past due is announced as breached only',
  );
});

test('a response sent before the warning point leaves nothing to warn of', async () => {
  await setEscalationUser(ctx.boss.id);
  const { kase, after } = await openCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'reply_sent', setWaiting: false }, ctx.kalle, { now: after(10) });
  await runSlaEscalation(ctx.db, config, after(61));
  assert.equal(await bellsOf(kase.id), []);
  // the resolution target still runs, and warns at its own point
  await runSlaEscalation(ctx.db, config, after(451));
  assert.equal(
    (await bellsOf(kase.id)).map((b) => b.kind),
    ['sla_warning', 'sla_warning'],
  );
});

test('a case waiting for the customer has its clock paused and alerts nobody', async () => {
  await setEscalationUser(ctx.boss.id);
  const { kase, after } = await openCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'reply_sent', setWaiting: true }, ctx.kalle, { now: after(10) });
  await runSlaEscalation(ctx.db, config, after(2000));
  assert.equal(await bellsOf(kase.id), []);
});

test('two instances running the job at the same moment notify each person once', async () => {
  await setEscalationUser(ctx.boss.id);
  const cases = await Promise.all([openCase(), openCase(), openCase()]);
  const at = new Date(Math.max(...cases.map((c) => c.after(61).getTime())));
  const bellsBefore = await countBells();
  const other = createDb(ctx.url, 4);
  try {
    const [a, b] = await Promise.all([runSlaEscalation(ctx.db, config, at), runSlaEscalation(other, config, at)]);
    // between them, each case's breach once (the other cases of this file are announced too)
    const ours = cases.map((c) => c.kase.id);
    // each run works in slices of cases by id, side by side: the cases fall in every slice
    assert.is(new Set(ours.map((id) => id % escalationSlices)).size, escalationSlices);
    for (const id of ours) {
      const bells = await bellsOf(id);
      assert.equal(
        byUser(bells),
        byUser([
          { user_id: ctx.boss.id, kind: 'sla_breached' },
          { user_id: ctx.kalle.id, kind: 'sla_breached' },
        ]),
      );
      assert.is((await mailsOf(id)).length, 2);
      assert.is((await breachLines(id)).length, 1);
    }
    // what the two runs say they did is what was written: neither counted the other's claims
    assert.is(a.notified + b.notified, (await countBells()) - bellsBefore);
    const alerts = await ctx.db
      .selectFrom('sla_alerts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('case_id', 'in', ours)
      .executeTakeFirstOrThrow();
    assert.is(Number(alerts.n), 3, 'one claimed deadline per case');
  } finally {
    await other.destroy();
  }
});

test.run();
