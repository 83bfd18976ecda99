import { isDeepStrictEqual } from 'node:util';
import { type RawBuilder, sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clockColumns, clockHistoryOf } from '../cases/case-clock.ts';
import type { Db } from '../db/database.ts';
import { replaySla } from '../service-levels/clock.ts';
import { runSlaEscalation } from '../service-levels/escalation.ts';
import { swedishHolidayDates } from '../service-levels/holidays.ts';
import { findSlaPolicy, loadSlaPolicy, type SlaPolicyMatch } from '../service-levels/queries.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { verifyPassword } from '../users/password.ts';
import { SeedRefusedError, seedSyntheticData, syntheticAgentPassword } from './synthetic-data.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; nextNumberBefore: number };
const test = suite('Synthetic organisation');
const cases = 2_000;

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  const series = await t.db
    .selectFrom('number_series')
    .select('next_number')
    .where('purpose', '=', 'cases')
    .executeTakeFirstOrThrow();
  ctx.nextNumberBefore = series.next_number;
  await seedSyntheticData(t.db, { cases, customers: 2_000, batchSize: 700 });
});
test.after(async () => ctx.drop());

const one = async <T>(db: Db, query: RawBuilder<T>): Promise<T> => {
  const row = (await query.execute(db)).rows[0];
  if (!row) throw new Error('no row');
  return row;
};

test('has 30 agents sharing the demo password, and customers with one to three contacts', async () => {
  const agents = await ctx.db
    .selectFrom('users')
    .select(['login', 'password_hash'])
    .where('role', '=', 'agent')
    .execute();
  assert.is(agents.length, 30);
  assert.ok(agents.some((a) => a.login === 'KALLE'));
  assert.is(new Set(agents.map((a) => a.password_hash)).size, 1, 'hashed once');
  assert.ok(await verifyPassword(syntheticAgentPassword, agents[0]?.password_hash ?? ''));
  const customers = await one(
    ctx.db,
    sql<{ n: number; min: number; max: number; numbers: number; domains: number }>`
      select count(*)::int as n, min(contacts)::int as min, max(contacts)::int as max,
        count(distinct number)::int as numbers, count(distinct email_domains[1])::int as domains
      from (select cu.number, cu.email_domains, count(ct.id) as contacts
            from customers cu left join contacts ct on ct.customer_id = cu.id group by cu.id) per_customer`,
  );
  assert.equal(customers, { n: 2_000, min: 1, max: 3, numbers: 2_000, domains: 2_000 });
});

test('about 3% of the cases are unfinished, a tenth of those unassigned', async () => {
  const kinds = await one(
    ctx.db,
    sql<{ total: number; unfinished: number; unassigned: number; overdue: number; closed_unassigned: number }>`
      select count(*)::int as total,
        count(*) filter (where status_kind <> 'closed')::int as unfinished,
        count(*) filter (where status_kind <> 'closed' and responsible_id is null)::int as unassigned,
        count(*) filter (where status_kind <> 'closed' and due_date < current_date)::int as overdue,
        count(*) filter (where status_kind = 'closed' and responsible_id is null)::int as closed_unassigned
      from cases`,
  );
  assert.is(kinds.total, cases);
  assert.ok(kinds.unfinished >= cases * 0.01 && kinds.unfinished <= cases * 0.06, `unfinished: ${kinds.unfinished}`);
  assert.ok(kinds.unassigned < kinds.unfinished * 0.3, `unassigned: ${kinds.unassigned}`);
  assert.ok(kinds.overdue > 0, 'some are overdue');
  assert.is(kinds.closed_unassigned, 0);
});

test('status_kind is the kind of the status, as the trigger would have set it', async () => {
  const wrong = await one(
    ctx.db,
    sql<{ n: number }>`
      select count(*)::int as n from cases c join case_statuses s on s.id = c.status_id where c.status_kind <> s.kind`,
  );
  assert.is(wrong.n, 0);
  const wrongRank = await one(
    ctx.db,
    sql<{ n: number }>`
      select count(*)::int as n from cases c left join priorities p on p.id = c.priority_id
      where c.priority_rank is distinct from p.rank`,
  );
  assert.is(wrongRank.n, 0, 'priority_rank is the rank of the priority');
});

test("the overview's tile counters count the seeded cases, which were written with triggers off", async () => {
  const counted = await one(
    ctx.db,
    sql<{ mine: number; unassigned: number; waiting: number }>`
      select count(*) filter (where responsible_id = (select min(responsible_id) from cases))::int as mine,
        count(*) filter (where responsible_id is null)::int as unassigned,
        count(*) filter (where status_kind = 'waiting')::int as waiting
      from cases where status_kind <> 'closed'`,
  );
  const kept = await one(
    ctx.db,
    sql<{ mine: number; unassigned: number; waiting: number }>`
      select coalesce(sum(n) filter (where tally = 'responsible'
          and responsible_id = (select min(responsible_id) from cases)), 0)::int as mine,
        coalesce(sum(n) filter (where tally = 'responsible' and responsible_id is null), 0)::int as unassigned,
        coalesce(sum(n) filter (where tally = 'waiting'), 0)::int as waiting
      from case_tile_counts`,
  );
  assert.ok(counted.mine > 0 && counted.unassigned > 0 && counted.waiting > 0);
  assert.equal(kept, counted);
});

test('every case has a thread, customer first, and some have discussions', async () => {
  const threads = await one(
    ctx.db,
    sql<{ without: number; entries: number; first_not_customer: number; discussed: number; orphans: number }>`
      select
        (select count(*)::int from cases c where not exists (select 1 from thread_entries t where t.case_id = c.id)) as without,
        (select count(*)::int from thread_entries) as entries,
        (select count(*)::int from thread_entries t where t.side <> 'customer'
           and t.id = (select min(id) from thread_entries f where f.case_id = t.case_id)) as first_not_customer,
        (select count(distinct case_id)::int from discussion_posts) as discussed,
        (select count(*)::int from thread_entries t where not exists (select 1 from cases c where c.id = t.case_id)) as orphans`,
  );
  assert.is(threads.without, 0);
  assert.ok(threads.entries >= cases * 2.5 && threads.entries <= cases * 3.6, `entries: ${threads.entries}`);
  assert.is(threads.first_not_customer, 0);
  assert.ok(threads.discussed >= cases * 0.02 && threads.discussed <= cases * 0.09, `discussed: ${threads.discussed}`);
  assert.is(threads.orphans, 0);
});

test('the search vector is what case_search_document gives, and finds words from the thread', async () => {
  const empty = await one(
    ctx.db,
    sql<{ n: number }>`select count(*)::int as n from cases where search_vector = ''::tsvector`,
  );
  assert.is(empty.n, 0);
  // Lexemes with their weights; positions depend on the order string_agg happens to see the thread in.
  const differing = await one(
    ctx.db,
    sql<{ n: number }>`
      with lexemes as (
        select c.id,
          (select string_agg(lexeme || ':' || (select string_agg(w, '' order by w) from unnest(weights) w), ' ' order by lexeme)
           from unnest(c.search_vector)) as seeded,
          (select string_agg(lexeme || ':' || (select string_agg(w, '' order by w) from unnest(weights) w), ' ' order by lexeme)
           from unnest(case_search_document(c.id))) as computed
        from cases c
      )
      select count(*)::int as n from lexemes where seeded is distinct from computed`,
  );
  assert.is(differing.n, 0);
  // Swedish stemming makes "skrivaren" and "skriver" one lexeme, skriv.
  const found = await one(
    ctx.db,
    sql<{ n: number; text: number }>`
      select count(*)::int as n,
        count(*) filter (where exists (select 1 from thread_entries t where t.case_id = c.id and t.body_html ~* '\\mskriv'))::int
          as text
      from cases c where c.search_vector @@ to_tsquery('casedesk_search', 'skrivaren')`,
  );
  assert.ok(found.n > 0);
  assert.is(found.text, found.n, 'every match has the word in its thread');
});

test('case numbers are unique per year and the number series continues after them', async () => {
  const numbers = await one(
    ctx.db,
    sql<{ n: number; distinct: number; malformed: number }>`
      select count(*)::int as n, count(distinct number)::int as distinct,
        count(*) filter (where number !~ '^\\d{4}-\\d{5,}$')::int as malformed
      from cases`,
  );
  assert.equal(numbers, { n: cases, distinct: cases, malformed: 0 });
  const series = await ctx.db
    .selectFrom('number_series')
    .select(['prefix', 'next_number'])
    .where('purpose', '=', 'cases')
    .executeTakeFirstOrThrow();
  const used = await one(
    ctx.db,
    sql<{ n: number; max: number | null }>`
      select count(*)::int as n, max(substr(number, length(${series.prefix}::text) + 1)::int) as max
      from cases where number like ${`${series.prefix}%`}::text`,
  );
  assert.ok(used.n > 0, 'cases this year use the series');
  assert.is(series.next_number, ctx.nextNumberBefore + used.n);
  assert.is(series.next_number, (used.max ?? 0) + 1);
});

test('every case runs by its first matching policy, with the clock a replay of its clock events gives', async () => {
  const policies = await ctx.db.selectFrom('sla_policies').select(['id', 'name']).orderBy('position').execute();
  assert.equal(
    policies.map((p) => p.name),
    ['Hög prioritet', 'Reklamationer', 'Övriga ärenden'],
  );
  const rows = await ctx.db
    .selectFrom('cases')
    .select([
      'id',
      'status_kind',
      'customer_id',
      'priority_id',
      'case_type_id',
      'sla_policy_id',
      'sla_clock',
      'sla_due_at',
      'sla_warn_at',
    ])
    .orderBy('id')
    .execute();
  const history = await clockHistoryOf(
    ctx.db,
    rows.map((r) => r.id),
  );
  const matches = new Map<number, SlaPolicyMatch | null>();
  const wrong: number[] = [];
  for (const row of rows) {
    const expected = await findSlaPolicy(
      ctx.db,
      { customerId: row.customer_id, priorityId: row.priority_id, caseTypeId: row.case_type_id },
      swedishHolidayDates,
    );
    if (row.sla_policy_id === null || row.sla_policy_id !== expected?.policyId) {
      wrong.push(row.id);
      continue;
    }
    if (!matches.has(row.sla_policy_id))
      matches.set(row.sla_policy_id, await loadSlaPolicy(ctx.db, row.sla_policy_id, swedishHolidayDates));
    const policy = matches.get(row.sla_policy_id) as SlaPolicyMatch;
    const replayed = clockColumns(
      policy.policyId,
      replaySla(history.get(row.id) ?? [], policy.targets, policy.calendar),
    );
    const same =
      isDeepStrictEqual(row.sla_clock, replayed.sla_clock) &&
      row.sla_due_at?.getTime() === replayed.sla_due_at?.getTime() &&
      row.sla_warn_at?.getTime() === replayed.sla_warn_at?.getTime();
    if (!same) wrong.push(row.id);
  }
  assert.equal(wrong.slice(0, 10), [], `${wrong.length} cases`);
  // the tile and the filters have something to show; finished and waiting cases have no deadline
  const levels = await one(
    ctx.db,
    sql<{
      at_risk: number;
      breached: number;
      ok: number;
      long_breached: number;
      idle_with_deadline: number;
      closed_running: number;
    }>`
      select count(*) filter (where sla_warn_at <= now())::int as at_risk,
        count(*) filter (where sla_due_at <= now())::int as breached,
        count(*) filter (where sla_warn_at > now())::int as ok,
        count(*) filter (where sla_due_at <= now() - interval '15 days')::int as long_breached,
        count(*) filter (where status_kind in ('closed', 'waiting') and sla_due_at is not null)::int as idle_with_deadline,
        count(*) filter (where status_kind = 'closed' and (sla_clock->'response'->>'runningSince' is not null
          or sla_clock->'resolution'->>'runningSince' is not null))::int as closed_running
      from cases`,
  );
  assert.ok(levels.breached > 0 && levels.at_risk > levels.breached - 1, JSON.stringify(levels));
  // realistic clocks: most deadlines ahead, a few breached, and by days at most, not years
  assert.ok(levels.breached * 4 < levels.ok + levels.at_risk, JSON.stringify(levels));
  assert.is(levels.long_breached, 0);
  assert.is(levels.idle_with_deadline, 0);
  assert.is(levels.closed_running, 0);
});

test('the deadlines that passed before the seed are taken as announced: the first escalation run tells nobody of them', async () => {
  const counts = await one(
    ctx.db,
    sql<{ alerts: number; passed: number }>`select (select count(*) from sla_alerts)::int as alerts,
      (select count(*) from cases where sla_warn_at <= now())::int as passed`,
  );
  assert.ok(counts.passed > 0, 'the seed has deadlines past their warning point');
  assert.ok(counts.alerts >= counts.passed, JSON.stringify(counts));
  const run = await runSlaEscalation(ctx.db, undefined);
  assert.equal(
    { warnings: run.warnings, breaches: run.breaches, notified: run.notified },
    { warnings: 0, breaches: 0, notified: 0 },
  );
  const bells = await one(ctx.db, sql<{ n: number }>`select count(*)::int as n from notifications`);
  assert.is(bells.n, 0, 'no bells for old breaches');
});

test('refuses a database that already has cases', async () => {
  try {
    await seedSyntheticData(ctx.db, { cases: 10 });
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, SeedRefusedError);
  }
  const count = await one(ctx.db, sql<{ n: number }>`select count(*)::int as n from cases`);
  assert.is(count.n, cases);
});

test.run();
