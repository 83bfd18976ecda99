import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesChanged } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { slaBadgesOf } from '../service-levels/badges.ts';
import { replaySla } from '../service-levels/clock.ts';
import { swedishClosedDates } from '../service-levels/holidays.ts';
import { createCalendar, createPolicy, movePolicy } from '../service-levels/policies.ts';
import { loadSlaPolicy } from '../service-levels/queries.ts';
import { seedUser } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedAllHoursPolicy, seedPrinterJamCase, slaPolicyInput } from '../test-support/seeds.ts';
import { clockHistoryOf, replayUnfinishedCaseClocks } from './case-clock.ts';
import { applyCaseEvent } from './case-events.ts';
import { quickEditCase } from './cases.ts';

// The service-level clock as the case lifecycle keeps it: every case event moves the deadlines
// stored on the case, and they are always what replaying the case's clock events gives.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  kalle: User;
  customerId: number;
  high: number;
  low: number;
  anyPolicy: number;
  highPolicy: number;
};
const test = suite('The case lifecycle keeps each case’s service-level clock');
const minute = 60_000;

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  const priorities = await ctx.db.selectFrom('priorities').select('id').orderBy('rank').execute();
  ctx.high = priorities[0]?.id as number;
  ctx.low = priorities[priorities.length - 1]?.id as number;
  // always open, so the deadlines are plain wall-clock sums of the targets; first match wins:
  // high priority first, then everything else
  const { calendarId, policyId } = await seedAllHoursPolicy(ctx.db, {
    name: 'Hög',
    priorityId: ctx.high,
    firstResponseMinutes: 15,
    resolutionMinutes: 120,
  });
  ctx.highPolicy = policyId;
  ctx.anyPolicy = await createPolicy(ctx.db, slaPolicyInput(calendarId));
});
test.after(() => ctx.drop());

const stored = (id: number) =>
  ctx.db
    .selectFrom('cases')
    .select(['sla_policy_id', 'sla_clock', 'sla_due_at', 'sla_warn_at', 'version'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();

const newCase = (priorityId: number | null = ctx.low) =>
  seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, undefined, { priority_id: priorityId });

const near = (actual: Date | null, expected: number, what: string) => {
  assert.ok(actual, `${what}: no deadline`);
  assert.ok(Math.abs((actual as Date).getTime() - expected) < 5_000, `${what}: ${actual?.toISOString()}`);
};

// What the case's history gives with its policy, and what is stored, are the same.
async function assertReplayed(kase: Pick<Case, 'id'>) {
  const row = await stored(kase.id);
  const history = (await clockHistoryOf(ctx.db, [kase.id])).get(kase.id) ?? [];
  assert.ok(row.sla_policy_id, 'the case runs by a policy');
  const match = await loadSlaPolicy(ctx.db, row.sla_policy_id as number, (f, t, e) =>
    swedishClosedDates(f, t, { eves: e }),
  );
  assert.ok(match);
  assert.equal(row.sla_clock, replaySla(history, match?.targets as never, match?.calendar as never));
}

const statusOf = async (kind: 'open' | 'waiting' | 'closed') =>
  (
    await ctx.db
      .selectFrom('case_statuses')
      .select('id')
      .where('kind', '=', kind)
      .orderBy('position')
      .executeTakeFirstOrThrow()
  ).id;

test('a new case owes a first response by its policy’s target, and resolution runs', async () => {
  const before = Date.now();
  const kase = await newCase();
  const row = await stored(kase.id);
  assert.is(row.sla_policy_id, ctx.anyPolicy);
  assert.is(row.sla_clock?.response?.target, 'first_response');
  near(row.sla_due_at, before + 60 * minute, 'first response');
  near(row.sla_warn_at, before + 45 * minute, 'its warning at 75 %');
  await assertReplayed(kase);
});

test('the first policy that matches wins: high priority gets 15 minutes', async () => {
  const before = Date.now();
  const kase = await newCase(ctx.high);
  const row = await stored(kase.id);
  assert.is(row.sla_policy_id, ctx.highPolicy);
  near(row.sla_due_at, before + 15 * minute, 'first response');
});

test('a reply meets the response; the customer’s next message owes the next one', async () => {
  const kase = await newCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'reply_sent', setWaiting: false }, ctx.kalle);
  let row = await stored(kase.id);
  assert.is(row.sla_clock?.response, null);
  assert.is(row.sla_clock?.resolution?.target, 'resolution');
  const before = Date.now();
  await applyCaseEvent(ctx.db, kase.id, { type: 'customer_replied' }, null);
  row = await stored(kase.id);
  assert.is(row.sla_clock?.response?.target, 'next_response');
  near(row.sla_due_at, before + 30 * minute, 'next response');
  await assertReplayed(kase);
});

test('waiting for the customer pauses the clock; closing stops it; reopening picks it up', async () => {
  const kase = await newCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'reply_sent', setWaiting: true }, ctx.kalle);
  let row = await stored(kase.id);
  assert.ok(row.sla_clock?.waiting);
  assert.is(row.sla_due_at, null, 'nothing runs while waiting');
  await applyCaseEvent(ctx.db, kase.id, { type: 'customer_replied' }, null);
  row = await stored(kase.id);
  assert.not.ok(row.sla_clock?.waiting);
  assert.ok(row.sla_due_at, 'running again');
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: await statusOf('closed') }, ctx.kalle);
  row = await stored(kase.id);
  assert.ok(row.sla_clock?.closed);
  assert.is(row.sla_due_at, null);
  assert.is(row.sla_warn_at, null);
  await applyCaseEvent(ctx.db, kase.id, { type: 'reopened' }, null);
  row = await stored(kase.id);
  assert.not.ok(row.sla_clock?.closed);
  assert.is(row.sla_clock?.response?.target, 'next_response');
  await assertReplayed(kase);
});

test('a change of priority replays the case’s history with the policy that now matches', async () => {
  const kase = await newCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: await statusOf('waiting') }, ctx.kalle);
  await applyCaseEvent(ctx.db, kase.id, { type: 'customer_replied' }, null);
  const { version } = await stored(kase.id);
  await quickEditCase(ctx.db, kase.id, version, 'priority_id', String(ctx.high), ctx.kalle);
  const row = await stored(kase.id);
  assert.is(row.sla_policy_id, ctx.highPolicy);
  assert.is(row.sla_clock?.response?.minutes, 15);
  assert.is(row.sla_clock?.resolution?.minutes, 120);
  await assertReplayed(kase);
  // and back again
  await quickEditCase(ctx.db, kase.id, row.version, 'priority_id', String(ctx.low), ctx.kalle);
  assert.is((await stored(kase.id)).sla_policy_id, ctx.anyPolicy);
  await assertReplayed(kase);
});

test('the warning point stored is the earliest of all running targets, not only the next deadline’s', async () => {
  const kase = await newCase();
  const opened = (await stored(kase.id)).sla_clock?.resolution?.runningSince as string;
  const at = (minutes: number) => new Date(Date.parse(opened) + minutes * minute);
  await applyCaseEvent(ctx.db, kase.id, { type: 'reply_sent', setWaiting: false }, ctx.kalle, { now: at(1) });
  // a next response owed from 440 min: due at 470, its warning at 462.5; resolution (600 min)
  // warns at 450, before it, though its deadline is later
  await applyCaseEvent(ctx.db, kase.id, { type: 'customer_replied' }, null, { now: at(440) });
  const row = await stored(kase.id);
  assert.is(row.sla_due_at?.toISOString(), at(470).toISOString());
  assert.is(row.sla_warn_at?.toISOString(), at(450).toISOString());
  await assertReplayed(kase);
});

test('a case closed before its first reply owes it again when reopened; closed, it shows no badge', async () => {
  const kase = await newCase();
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: await statusOf('closed') }, ctx.kalle);
  let row = await stored(kase.id);
  assert.is(row.sla_due_at, null, 'nothing runs while closed');
  assert.equal(await slaBadgesOf(ctx.db, [row]), [null]);
  await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: await statusOf('open') }, ctx.kalle);
  row = await stored(kase.id);
  assert.is(row.sla_clock?.response?.target, 'first_response');
  assert.ok(row.sla_due_at, 'the first response runs again');
  assert.is((await slaBadgesOf(ctx.db, [row]))[0]?.target, 'first_response');
  await assertReplayed(kase);
});

test('a policy whose calendar is never open is passed over, so its cases take the next policy', async () => {
  const never = await createCalendar(ctx.db, {
    name: 'Aldrig öppet',
    timeZone: 'Europe/Stockholm',
    week: Array.from({ length: 7 }, (): [number, number][] => []),
    swedishHolidays: false,
    closedEves: false,
  });
  const first = await createPolicy(ctx.db, slaPolicyInput(never, { name: 'Aldrig', priorityId: ctx.low }));
  await movePolicy(ctx.db, first, 'up');
  await movePolicy(ctx.db, first, 'up');
  const kase = await newCase();
  assert.is((await stored(kase.id)).sla_policy_id, ctx.anyPolicy);
  await ctx.db.deleteFrom('sla_policies').where('id', '=', first).execute();
  tablesChanged(ctx.db, 'sla_policies');
});

test('after an edit of the policies, every unfinished case’s clock is what its replay gives now', async () => {
  const kase = await newCase();
  const before = await stored(kase.id);
  const target = await ctx.db
    .selectFrom('sla_policies')
    .selectAll()
    .where('id', '=', ctx.anyPolicy)
    .executeTakeFirstOrThrow();
  await ctx.db
    .updateTable('sla_policies')
    .set({ first_response_minutes: 240 })
    .where('id', '=', ctx.anyPolicy)
    .execute();
  tablesChanged(ctx.db, 'sla_policies');
  try {
    assert.ok((await replayUnfinishedCaseClocks(ctx.db, { batch: 2 })) > 0);
    const after = await stored(kase.id);
    assert.is(after.sla_clock?.response?.minutes, 240);
    assert.is(
      (after.sla_due_at as Date).getTime() - (before.sla_due_at as Date).getTime(),
      180 * minute,
      'three hours later on a calendar open all day',
    );
    await assertReplayed(kase);
    // nothing changed since: nothing to write
    assert.is(await replayUnfinishedCaseClocks(ctx.db), 0);
  } finally {
    await ctx.db
      .updateTable('sla_policies')
      .set({ first_response_minutes: target.first_response_minutes })
      .where('id', '=', ctx.anyPolicy)
      .execute();
    tablesChanged(ctx.db, 'sla_policies');
    await replayUnfinishedCaseClocks(ctx.db);
  }
});

test('a case no policy matches has no clock, and gets none from its events', async () => {
  await ctx.db.updateTable('sla_policies').set({ active: false }).execute();
  try {
    // the cache hears of the change through the feed; a fresh read is what a new instance sees
    const { tablesChanged } = await import('../db/cached.ts');
    tablesChanged(ctx.db, 'sla_policies');
    const kase = await newCase();
    await applyCaseEvent(ctx.db, kase.id, { type: 'customer_replied' }, null);
    const row = await stored(kase.id);
    assert.is(row.sla_policy_id, null);
    assert.is(row.sla_clock, null);
    assert.is(row.sla_due_at, null);
  } finally {
    await ctx.db.updateTable('sla_policies').set({ active: true }).execute();
    const { tablesChanged } = await import('../db/cached.ts');
    tablesChanged(ctx.db, 'sla_policies');
  }
});

test.run();
