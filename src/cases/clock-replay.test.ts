import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { replaySla } from '../service-levels/clock.ts';
import { swedishHolidayDates } from '../service-levels/holidays.ts';
import { createCalendar, createPolicy, type PolicyInput } from '../service-levels/policies.ts';
import { loadSlaPolicy, type SlaPolicyMatch } from '../service-levels/queries.ts';
import { seedUser } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seededRandom } from '../test-support/random.ts';
import { seedAcme, slaPolicyInput } from '../test-support/seeds.ts';
import { clockColumns, clockHistoryOf } from './case-clock.ts';
import { applyCaseEvents } from './case-events.ts';
import { createCaseRecord, quickEditCase } from './cases.ts';
import type { CaseEvent } from './lifecycle.ts';

// Issue 17: "Every case that matches a policy has exactly the deadlines that replaying its history
// gives. A test replays 10,000 synthetic cases and compares." The cases go through the real
// lifecycle (createCaseRecord, applyCaseEvents in batches as Kontroll sends them, quickEditCase for
// a change of priority that switches policy mid-case), with random events spread over weeks of an
// office-hours calendar with the Swedish holidays, so pauses, weekends, nights, holidays and
// policy changes all meet; then every case's stored clock is compared with a fresh replay.
const ctx = {} as { db: Db; drop: () => Promise<void>; kalle: User };
const test = suite('Every case’s stored clock is what replaying its clock events gives');

const cases = 10_000;
const rounds = 10;
const batch = 2_500;
const hour = 3_600_000;

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
});
test.after(async () => ctx.drop());

test('10,000 synthetic cases, random lifecycle events, priority changes mid-case', async () => {
  const { db, kalle } = ctx;
  const random = seededRandom(17_2026);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const customerId = (await seedAcme(db)).customer.id;
  const priorities = (await db.selectFrom('priorities').select('id').orderBy('rank').execute()).map((p) => p.id);
  const types = (await db.selectFrom('case_types').select('id').where('active', '=', true).execute()).map((t) => t.id);
  const statuses = await db.selectFrom('case_statuses').select(['id', 'kind']).where('active', '=', true).execute();
  const ofKind = (kind: string) => statuses.filter((s) => s.kind === kind).map((s) => s.id);
  const [open, waiting, closed] = [ofKind('open'), ofKind('waiting'), ofKind('closed')];
  const high = priorities[0] as number;

  const calendarId = await createCalendar(db, {
    name: 'Kontorstid',
    timeZone: 'Europe/Stockholm',
    week: [
      [
        [480, 720],
        [780, 1020],
      ],
      [[480, 1020]],
      [[480, 1020]],
      [[480, 1020]],
      [[480, 1020]],
      [],
      [],
    ],
    swedishHolidays: true,
    closedEves: true,
  });
  const policy = (name: string, over: Partial<PolicyInput>): PolicyInput =>
    slaPolicyInput(calendarId, {
      name,
      firstResponseMinutes: 480,
      nextResponseMinutes: 480,
      resolutionMinutes: 2400,
      ...over,
    });
  // the high-priority policy keeps counting while waiting, so a switch changes that rule too
  await createPolicy(
    db,
    policy('Hög', {
      priorityId: high,
      firstResponseMinutes: 120,
      nextResponseMinutes: 240,
      resolutionMinutes: 960,
      pauseWhileWaiting: false,
    }),
  );
  await createPolicy(db, policy('Övriga', {}));

  // Created one by one, as the app does; in a few transactions, as a commit each would dominate,
  // and with the statuses remembered, as Read mail does (one lookup less per case).
  const ids: number[] = [];
  const statusKinds = new Map();
  for (let lo = 0; lo < cases; lo += 1_000) {
    // fresh statistics as the table grows (see the analyze below)
    if (lo) await sql`analyze cases`.execute(db);
    await db.transaction().execute(async (trx) => {
      for (let i = lo; i < Math.min(cases, lo + 1_000); i++) {
        const created = await createCaseRecord(
          trx,
          {
            title: `Ärende ${i}`,
            customer_id: random() < 0.02 ? null : customerId,
            contact_id: null,
            contact_name: null,
            contact_email: null,
            contact_phone: null,
            responsible_id: kalle.id,
            case_type_id: pick(types),
            priority_id: random() < 0.05 ? null : pick(priorities),
            previous_case_id: null,
            created_by: kalle.id,
            ...(random() < 0.1 ? { status_id: pick(waiting) } : {}),
          },
          kalle,
          { statusKinds, ...(random() < 0.5 ? { via: 'email' as const } : {}) },
        );
        ids.push(created.id);
      }
    });
  }

  // As autovacuum would after so many new cases: without fresh statistics the foreign-key checks
  // of case_clock_events keep a plan made for an empty cases table (a scan of every case for each
  // event row), and each round's statements took seconds.
  await sql`analyze cases`.execute(db);

  // Each round is a moment a few hours to two days after the last, so events fall at night, at
  // weekends and on the Christmas holidays as well as in office hours.
  let now = Date.now();
  const randomEvent = (): CaseEvent<number> => {
    const r = random();
    if (r < 0.25) return { type: 'customer_replied' };
    if (r < 0.5) return { type: 'reply_sent', setWaiting: random() < 0.4 };
    if (r < 0.6) return { type: 'status_set', status: pick(open) };
    if (r < 0.7) return { type: 'status_set', status: pick(waiting) };
    if (r < 0.82) return { type: 'status_set', status: pick(closed) };
    if (r < 0.9) return { type: 'reopened' };
    return { type: 'send_undone', status: pick([...open, ...waiting]) };
  };
  for (let round = 0; round < rounds; round++) {
    now += Math.floor((2 + random() * 46) * hour);
    const items = ids
      .filter(() => random() < 0.7)
      .flatMap((caseId) => Array.from({ length: random() < 0.2 ? 2 : 1 }, () => ({ caseId, event: randomEvent() })));
    for (let lo = 0; lo < items.length; lo += batch) {
      await applyCaseEvents(db, items.slice(lo, lo + batch), kalle, { now: new Date(now + lo) });
    }
    // a few priority changes, which switch the policy and replay the case's whole history
    for (const caseId of ids.filter(() => random() < 0.004)) {
      const c = await db
        .selectFrom('cases')
        .select(['version', 'priority_id'])
        .where('id', '=', caseId)
        .executeTakeFirstOrThrow();
      const other = c.priority_id === high ? pick(priorities.filter((p) => p !== high)) : high;
      await quickEditCase(db, caseId, c.version, 'priority_id', String(other), kalle);
    }
  }

  // Every case against a replay of its history with the policy it stores.
  const policies = new Map<number, SlaPolicyMatch | null>();
  let compared = 0;
  let switched = 0;
  const mismatches: string[] = [];
  for (let lo = 0; lo < ids.length; lo += batch) {
    const chunk = ids.slice(lo, lo + batch);
    const rows = await db
      .selectFrom('cases')
      .select(['id', 'sla_policy_id', 'sla_clock', 'sla_due_at', 'sla_warn_at'])
      .where('id', 'in', chunk)
      .execute();
    const history = await clockHistoryOf(db, chunk);
    for (const row of rows) {
      if (row.sla_policy_id === null) {
        mismatches.push(`case ${row.id} matches no policy`);
        continue;
      }
      if (!policies.has(row.sla_policy_id))
        policies.set(row.sla_policy_id, await loadSlaPolicy(db, row.sla_policy_id, swedishHolidayDates));
      const p = policies.get(row.sla_policy_id);
      if (!p) throw new Error(`No policy ${row.sla_policy_id}`);
      const events = history.get(row.id) ?? [];
      const expected = clockColumns(p.policyId, replaySla(events, p.targets, p.calendar));
      const stored = canonical({ clock: row.sla_clock, due: row.sla_due_at, warn: row.sla_warn_at });
      const wanted = canonical({ clock: expected.sla_clock, due: expected.sla_due_at, warn: expected.sla_warn_at });
      if (stored !== wanted) mismatches.push(`case ${row.id}: stored ${stored}\n  replay ${wanted}`);
      compared++;
    }
  }
  switched = Number(
    (
      await db
        .selectFrom('case_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('field', '=', 'priority_id')
        .executeTakeFirstOrThrow()
    ).n,
  );
  assert.is(compared, cases);
  assert.ok(switched > 50, `priority changes: ${switched}`);
  assert.equal(mismatches.slice(0, 5), [], `${mismatches.length} of ${cases} cases differ from their replay`);
  // the mix reached the states that matter: running, paused, closed, breached
  const states = await db
    .selectFrom('cases')
    .select((eb) => [
      eb.fn.count<number>('sla_due_at').as('running'),
      eb.fn.countAll<number>().filterWhere('status_kind', '=', 'closed').as('closed'),
      eb.fn.countAll<number>().filterWhere('sla_due_at', '<', new Date(now)).as('breached'),
    ])
    .executeTakeFirstOrThrow();
  assert.ok(
    Number(states.running) > 1_000 && Number(states.closed) > 1_000 && Number(states.breached) > 100,
    JSON.stringify(states),
  );
});

// JSON with sorted keys: jsonb keeps an object's keys in its own order, not the order written.
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

test.run();
