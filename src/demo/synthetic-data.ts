import { type RawBuilder, sql, type Transaction } from 'kysely';
import { clockColumns } from '../cases/case-clock.ts';
import { rebuildTileCounts } from '../cases/tile-counts.ts';
import type { Db } from '../db/database.ts';
import type { Database, StatusKind } from '../db/schema.ts';
import { rebuildReportFacts } from '../reports/facts.ts';
import { replaySla } from '../service-levels/clock.ts';
import { claimPassedDeadlinesQuietly } from '../service-levels/escalation.ts';
import { swedishHolidayDates } from '../service-levels/holidays.ts';
import { createCalendar, createPolicy } from '../service-levels/policies.ts';
import { findSlaPolicy, type SlaPolicyMatch } from '../service-levels/queries.ts';
import type { SlaClock, SlaEvent } from '../service-levels/types.ts';
import { hashPassword } from '../users/password.ts';
import { initialsOf } from '../users/users.ts';
import * as words from './swedish-words.ts';

// The benches log in as the synthetic agents; a synthetic organisation is load data for a
// throwaway bench database, never a place for real cases.
export const syntheticAgentPassword = 'synthetic-load-data';

// A large, realistic Swedish organisation for measuring the overview: 30 agents, 20,000
// customers, and as many cases as asked for over the last three years, ~3% of them unfinished,
// each with a short thread. Everything is generated set-based in PostgreSQL from deterministic
// pseudo-random expressions, so the same options (including `now`) give the same data.

export type SyntheticOptions = {
  cases: number;
  customers?: number;
  // Cases generated per SQL statement; also how often onProgress is called.
  batchSize?: number;
  // The end of the three years; cases are spread evenly up to it.
  now?: Date;
  // Calendar years (case numbers, due dates) are counted in this time zone.
  timeZone?: string;
  onProgress?: (done: number, total: number) => void;
  // Phases that take a while without progress of their own (index builds, vacuum).
  log?: (msg: string) => void;
};

export type SyntheticSummary = {
  users: number;
  customers: number;
  contacts: number;
  cases: number;
  threadEntries: number;
  discussionPosts: number;
  ms: number;
};

export class SeedRefusedError extends Error {}

const refused = () =>
  new SeedRefusedError('The database already has cases; seed an empty database (e.g. createdb a new one).');

const threeYearsMs = Math.round(3 * 365.25 * 86_400_000);
const msPerDay = 86_400_000;

export async function seedSyntheticData(db: Db, options: SyntheticOptions): Promise<SyntheticSummary> {
  const started = Date.now();
  const total = options.cases;
  const now = options.now ?? new Date();
  if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`cases must be a positive integer: ${total}`);
  // Hashed once: scrypt is slow on purpose, and every agent shares the demo password.
  const passwordHash = await hashPassword(syntheticAgentPassword);
  // Checked here too (and again under the lock below), so a refused seed adds no service levels.
  if (await db.selectFrom('cases').select('id').limit(1).executeTakeFirst()) throw refused();
  // Through the administration's own writers, outside the load's transaction: createPolicy takes
  // its own transaction (a lock on the policy order), which a Kysely transaction cannot nest.
  await ensureServiceLevels(db);

  const counts = await db.transaction().execute(async (trx) => {
    // Another seeding (or a user creating a case) must not slip in between the check and the load.
    await sql`lock table cases in share row exclusive mode`.execute(trx);
    if (await trx.selectFrom('cases').select('id').limit(1).executeTakeFirst()) throw refused();
    // Replica mode skips per-row triggers (status_kind, priority_rank, search_vector) and foreign-key
    // checks; we fill those columns ourselves, set-based, and insert parents first.
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql`set local work_mem = '256MB'`.execute(trx);
    await sql`set local synchronous_commit = off`.execute(trx);
    // JIT would spend seconds compiling each batch's long expressions for a few hundred ms of work.
    await sql`set local jit = off`.execute(trx);
    // Each batch's cases wait in a temp table while their clocks are worked out (insertCaseBatch);
    // with the default 8 MB of temp buffers a batch of them would go through files.
    await sql`set local temp_buffers = '256MB'`.execute(trx);
    await createRandomFunctions(trx);

    const indexes = await dropSecondaryIndexes(trx);

    const users = await insertAgents(trx, passwordHash);
    const customers = await insertCustomers(trx, options.customers ?? 20_000, now);
    const plan = await planCases(trx, { ...options, now });
    const policies = await policyFinder(trx, now);
    for (let lo = 1; lo <= total; lo += plan.batchSize) {
      const hi = Math.min(total, lo + plan.batchSize - 1);
      await insertCaseBatch(trx, plan, users, customers, policies, lo, hi);
      options.onProgress?.(hi, total);
    }
    await finishNumbering(trx, plan);
    options.log?.(`rebuilding ${indexes.length} indexes`);
    await sql`set local maintenance_work_mem = '512MB'`.execute(trx);
    for (const definition of indexes) await sql.raw(definition).execute(trx);
    await sql`drop function pg_temp.pick(text[], bigint, integer), pg_temp.rnd(bigint, integer), pg_temp.slug(text), pg_temp.contact_count(bigint)`.execute(
      trx,
    );
    return { users: users.ids.length, customers: customers.count, contacts: customers.contacts };
  });

  // The load wrote with triggers off, so the overview's tile counters are counted here once.
  await rebuildTileCounts(db);
  // and the reports' per-case facts built once, set-wise
  await rebuildReportFacts(db);
  // and the service-level deadlines that passed before today taken as announced back then
  const announced = await claimPassedDeadlinesQuietly(db);
  options.log?.(`${announced} passed deadlines taken as announced`);
  options.log?.('vacuum and analyze');
  // Visibility map and hint bits set once now rather than by the first readers, and fresh
  // statistics so the planner knows that ~3% of the cases are unfinished.
  await sql`vacuum (analyze) cases, thread_entries, case_events, case_clock_events, discussion_posts, customers, contacts, users, case_report_facts, case_report_times, sla_alerts`.execute(
    db,
  );
  // Everything written is put on disk now (a checkpoint writes and syncs every changed file), not
  // by a slow checkpoint and the kernel's write-back over the next minutes, when a bench started
  // after the seed would measure the disk catching up: creating cases through the API measured
  // 206 req/s straight after a seed, during that checkpoint, and 288-294 after it. Needs a
  // superuser or pg_checkpoint; without the right the seed is no less complete.
  options.log?.('checkpoint');
  await sql`checkpoint`.execute(db).catch((error: Error) => options.log?.(`no checkpoint: ${error.message}`));
  const count = async (table: 'thread_entries' | 'discussion_posts') =>
    (
      await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
  return {
    ...counts,
    cases: total,
    threadEntries: await count('thread_entries'),
    discussionPosts: await count('discussion_posts'),
    ms: Date.now() - started,
  };
}

// The indexes of the tables we fill, except those behind primary keys and unique constraints:
// building each once after the load, by sorting, is much faster than growing it row by row.
// Dropped inside the seeding transaction, so a failed seed leaves them in place. Returns their
// definitions, to create them again.
async function dropSecondaryIndexes(trx: Transaction<Database>): Promise<string[]> {
  const tables = ['cases', 'thread_entries', 'case_events', 'case_clock_events', 'discussion_posts'];
  const { rows } = await sql<{ name: string; definition: string }>`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    where i.indrelid = any(${tables}::regclass[])
      and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
    order by i.indexrelid`.execute(trx);
  for (const row of rows) await sql`drop index ${sql.raw(row.name)}`.execute(trx);
  return rows.map((row) => row.definition);
}

// rnd(key, seed): a uniform number in [0, 1), the same for the same key and seed; different
// seeds give independent draws for one key. Plain SQL functions, so the planner inlines them.
async function createRandomFunctions(trx: Transaction<Database>): Promise<void> {
  await sql`
    create function pg_temp.rnd(key bigint, seed integer) returns double precision
      language sql immutable parallel safe
      as $$ select (hashint8extended(key, seed) & 2147483647)::double precision / 2147483648 $$;
    create function pg_temp.pick(list text[], key bigint, seed integer) returns text
      language sql immutable parallel safe
      as $$ select list[1 + floor(pg_temp.rnd(key, seed) * cardinality(list))::integer] $$;
    create function pg_temp.slug(t text) returns text
      language sql immutable parallel safe
      as $$ select regexp_replace(translate(lower(t), 'åäöéèü', 'aaoeeu'), '[^a-z0-9]+', '', 'g') $$;
    -- 1–3 contacts per customer; the cases pick their contact with the same expression
    create function pg_temp.contact_count(customer_key bigint) returns integer
      language sql immutable parallel safe
      as $$ select 1 + floor(pg_temp.rnd(customer_key, 102) * 3)::integer $$;
  `.execute(trx);
}

type Agents = { ids: number[]; names: string[]; emails: string[] };

async function insertAgents(trx: Transaction<Database>, passwordHash: string): Promise<Agents> {
  await trx
    .insertInto('users')
    .values(
      words.agents.map((a) => ({
        login: a.login,
        name: a.name,
        initials: initialsOf(a.name),
        email: `${a.login.toLowerCase()}@casedesk.example`,
        role: 'agent' as const,
        password_hash: passwordHash,
      })),
    )
    .onConflict((oc) => oc.column('login').doNothing())
    .execute();
  const rows = await trx
    .selectFrom('users')
    .select(['id', 'login', 'name', 'email'])
    .where(
      'login',
      'in',
      words.agents.map((a) => a.login),
    )
    .execute();
  const byLogin = new Map(rows.map((r) => [r.login, r]));
  const ordered = words.agents.map((a) => byLogin.get(a.login)).filter((r) => r !== undefined);
  return {
    ids: ordered.map((r) => r.id),
    names: ordered.map((r) => r.name),
    emails: ordered.map((r) => r.email ?? ''),
  };
}

type Customers = { idBase: number; contactIdBase: number; count: number; contacts: number; multiplier: number };

// A multiplier coprime to n, so k → k·m mod n shuffles 0…n−1 without repeats.
function shuffleMultiplier(n: number): number {
  return [7919, 7927, 7933].find((m) => n % m !== 0) ?? 1;
}

async function insertCustomers(trx: Transaction<Database>, count: number, now: Date): Promise<Customers> {
  const base = await sql<{ customers: number; contacts: number }>`
    select (select coalesce(max(id), 0) from customers) as customers, (select coalesce(max(id), 0) from contacts) as contacts`
    .execute(trx)
    .then((r) => r.rows[0] ?? { customers: 0, contacts: 0 });
  const multiplier = shuffleMultiplier(count);
  const combos = words.surnames.length * words.trades.length * words.places.length;
  // Names from surname × trade × place, shuffled; the domain is unique as long as the combos last.
  await sql`
    insert into customers (id, number, name, email_domains, created_at, updated_at)
    select ${base.customers}::integer + k, (100000 + k)::text,
      case form when 0 then s || ' ' || t || ' AB' when 1 then s || 's ' || t || ' i ' || p else p || ' ' || t || ' AB' end,
      array[pg_temp.slug(s || t) || '-' || pg_temp.slug(p) || case when x >= ${combos} then (x / ${combos})::text else '' end || '.se'],
      created, created
    from (
      select k, x,
        (${words.surnames}::text[])[1 + x % ${words.surnames.length}] as s,
        (${words.trades}::text[])[1 + (x / ${words.surnames.length}) % ${words.trades.length}] as t,
        (${words.places}::text[])[1 + (x / ${words.surnames.length * words.trades.length}) % ${words.places.length}] as p,
        floor(pg_temp.rnd(k, 100) * 3)::integer as form,
        ${now}::timestamptz - interval '3 years' - pg_temp.rnd(k, 101) * interval '5 years' as created
      from (select k, ((k - 1) * ${multiplier}::bigint) % ${count} as x from generate_series(1, ${count}::bigint) k) shuffled
    ) named`.execute(trx);
  const contacts = await sql`
    insert into contacts (id, customer_id, name, email, phone, created_at, updated_at)
    select ${base.contacts}::integer + (k - 1) * 3 + j, cu.id, f || ' ' || s,
      pg_temp.slug(f) || '.' || pg_temp.slug(s) || '@' || cu.email_domains[1],
      pg_temp.pick(array['08', '031', '040', '018', '021', '019', '013', '042', '035', '011'], k * 4 + j, 105)
        || '-' || lpad(floor(pg_temp.rnd(k * 4 + j, 106) * 1000000)::text, 6, '0'),
      cu.created_at, cu.created_at
    from generate_series(1, ${count}::bigint) k
      cross join lateral generate_series(1, pg_temp.contact_count(k)) j
      cross join lateral (select pg_temp.pick(${words.firstNames}::text[], k * 4 + j, 103) as f,
                                 pg_temp.pick(${words.surnames}::text[], k * 4 + j, 104) as s) person
      join customers cu on cu.id = ${base.customers}::integer + k`.execute(trx);
  await sql`
    select setval(pg_get_serial_sequence('customers', 'id'), (select max(id) from customers)),
           setval(pg_get_serial_sequence('contacts', 'id'), (select max(id) from contacts))`.execute(trx);
  return {
    idBase: base.customers,
    contactIdBase: base.contacts,
    count,
    contacts: Number(contacts.numAffectedRows ?? 0),
    multiplier,
  };
}

type YearRange = { year: number; firstN: number; lastN: number; prefix: string; base: number };
type CasePlan = {
  total: number;
  batchSize: number;
  nowMs: number;
  startMs: number;
  stepMs: number;
  timeZone: string;
  digits: number;
  years: YearRange[];
  series: { id: number; prefix: string } | null;
  statusIds: Record<StatusKind, number[]>;
  typeIds: number[];
  priorityIds: number[];
};

// Case n (1…total) is created at start + (n−1)·step: evenly over three years, in number order.
// With integer milliseconds, which n fall in which calendar year is exact, and each year's
// cases are numbered <year>-00001… — or, for the year of the active number series, from its
// next_number on, so the cases users create next continue the series without a collision.
async function planCases(trx: Transaction<Database>, options: SyntheticOptions): Promise<CasePlan> {
  const total = options.cases;
  const timeZone = options.timeZone ?? 'Europe/Stockholm';
  const nowMs = (options.now ?? new Date()).getTime();
  const stepMs = Math.max(1, Math.floor(threeYearsMs / total));
  // The newest case was created one step before now.
  const startMs = nowMs - total * stepMs;
  const firstYear = new Date(startMs).getUTCFullYear() - 1;
  const lastYear = new Date(nowMs).getUTCFullYear() + 1;
  const yearStarts = await sql<{ year: number; ms: string }>`
    select y as year, (extract(epoch from make_timestamptz(y, 1, 1, 0, 0, 0, ${timeZone})) * 1000)::bigint::text as ms
    from generate_series(${firstYear}::integer, ${lastYear}::integer) y order by y`
    .execute(trx)
    .then((r) => r.rows.map((row) => ({ year: row.year, ms: Number(row.ms) })));
  const firstNOf = (yearStartMs: number) =>
    Math.min(total + 1, Math.max(1, Math.ceil((yearStartMs - startMs) / stepMs) + 1));

  const series = await trx
    .selectFrom('number_series')
    .select(['id', 'prefix', 'next_number', 'digits'])
    .where('active', '=', true)
    .where('purpose', '=', 'cases')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  const years: YearRange[] = [];
  for (let i = 0; i + 1 < yearStarts.length; i++) {
    const start = yearStarts[i];
    const next = yearStarts[i + 1];
    if (!start || !next) continue;
    const firstN = firstNOf(start.ms);
    const lastN = firstNOf(next.ms) - 1;
    if (firstN > lastN) continue;
    const prefix = `${start.year}-`;
    years.push({ year: start.year, firstN, lastN, prefix, base: series?.prefix === prefix ? series.next_number : 1 });
  }

  const covered = years.reduce((n, y) => n + y.lastN - y.firstN + 1, 0);
  if (covered !== total) throw new Error(`Calendar years cover ${covered} of ${total} cases`);

  const statuses = await trx
    .selectFrom('case_statuses')
    .select(['id', 'kind'])
    .where('active', '=', true)
    .orderBy('position')
    .orderBy('id')
    .execute();
  const statusIds = { open: [], waiting: [], work_order: [], closed: [] } as Record<StatusKind, number[]>;
  for (const s of statuses) statusIds[s.kind].push(s.id);
  const missing = (Object.keys(statusIds) as StatusKind[]).filter((kind) => statusIds[kind].length === 0);
  if (missing.length)
    throw new Error(`No active case status of kind ${missing.join(', ')}; add one under Administration.`);
  const typeIds = (
    await trx.selectFrom('case_types').select('id').where('active', '=', true).orderBy('position').execute()
  ).map((t) => t.id);
  const priorityIds = (
    await trx.selectFrom('priorities').select('id').where('active', '=', true).orderBy('rank').execute()
  ).map((p) => p.id);
  if (!typeIds.length) throw new Error('No active case type; add one under Administration.');

  return {
    total,
    batchSize: Math.max(1, options.batchSize ?? 50_000),
    nowMs,
    startMs,
    stepMs,
    timeZone,
    digits: Math.max(5, series?.digits ?? 5),
    years,
    series: series ? { id: series.id, prefix: series.prefix } : null,
    statusIds,
    typeIds,
    priorityIds,
  };
}

// `case when r < w1 then id1 when r < w1+w2 then id2 … end`, for a weighted pick among a few ids.
function weightedPick(
  r: RawBuilder<number>,
  choices: { id: number | null; weight: number }[],
): RawBuilder<number | null> {
  const sum = choices.reduce((s, c) => s + c.weight, 0);
  const literal = (id: number | null | undefined) => (id === null || id === undefined ? sql.raw('null') : sql.lit(id));
  let acc = 0;
  // The last choice takes whatever is left, so rounding in the sums can never yield no choice.
  const whens = choices.slice(0, -1).map((c) => {
    acc += c.weight / sum;
    return sql`when ${r} < ${sql.lit(acc)} then ${literal(c.id)}`;
  });
  const last = literal(choices.at(-1)?.id);
  return whens.length
    ? sql<number | null>`(case ${sql.join(whens, sql` `)} else ${last} end)::integer`
    : sql<number | null>`${last}::integer`;
}

// Support cases are the most common, then questions, then complaints; further types rarer still.
const weightsByPosition = (n: number) => Array.from({ length: n }, (_, i) => [60, 25, 15][i] ?? 5);

function rnd(seed: number, key: RawBuilder<unknown> = sql.ref('n')): RawBuilder<number> {
  return sql<number>`pg_temp.rnd(${key}, ${sql.lit(seed)})`;
}

// One batch of cases n = lo…hi with their thread entries, events and discussions, in one statement.
async function insertCaseBatch(
  trx: Transaction<Database>,
  plan: CasePlan,
  users: Agents,
  customers: Customers,
  policies: PolicyFinder,
  lo: number,
  hi: number,
): Promise<void> {
  const statusPick = (kind: StatusKind) =>
    weightedPick(
      rnd(2),
      plan.statusIds[kind].map((id) => ({ id, weight: 1 })),
    );
  const typeId = weightedPick(
    rnd(6),
    plan.typeIds.map((id, i) => ({ id, weight: weightsByPosition(plan.typeIds.length)[i] ?? 5 })),
  );
  // Most cases are "Normal"; a few urgent or low; 5% without priority.
  const priorityWeights =
    plan.priorityIds.length === 3 ? [10, 75, 10] : plan.priorityIds.map(() => 95 / plan.priorityIds.length);
  const priorityId = weightedPick(rnd(7), [
    ...plan.priorityIds.map((id, i) => ({ id, weight: priorityWeights[i] ?? 1 })),
    { id: null, weight: 5 },
  ]);
  const userCount = users.ids.length;
  const customerKey = sql`1 + (floor(${customers.count} * power(${rnd(12)}, 1.8))::bigint * ${customers.multiplier}) % ${customers.count}`;
  const entryKey = sql`c.n * 64 + e`;

  const w = sql`    w as (
      select ${words.caseSubjects}::text[] as subjects, ${words.caseProblems}::text[] as problems,
        ${words.caseLocated}::boolean[] as located, ${words.caseThings}::text[] as things,
        ${words.locations}::text[] as locations, ${words.whenPhrases}::text[] as whens,
        ${words.greetings}::text[] as greetings, ${words.customerDetails}::text[] as details,
        ${words.customerFollowUps}::text[] as follow_ups, ${words.staffReplies}::text[] as replies,
        ${words.signOffs}::text[] as sign_offs, ${words.discussionTexts}::text[] as discussion,
        ${words.firstNames}::text[] as first_names, ${words.surnames}::text[] as surnames,
        ${words.freeMailDomains}::text[] as free_domains,
        ${users.ids}::integer[] as user_ids, ${users.names}::text[] as user_names, ${users.emails}::text[] as user_emails,
        (${new Date(plan.nowMs)}::timestamptz at time zone ${plan.timeZone})::date as today
    )`;

  // The cases' columns first, into a table of the batch's own: the clocks are worked out from
  // them in JavaScript (the lifecycle's own replaySla) before the rows are written.
  await sql`
    create temp table seed_batch as
    with
    ${w},
    years as (
      select * from unnest(${plan.years.map((y) => y.firstN)}::bigint[], ${plan.years.map((y) => y.lastN)}::bigint[],
        ${plan.years.map((y) => y.prefix)}::text[], ${plan.years.map((y) => y.base)}::bigint[]) as y(first_n, last_n, prefix, base)
    ),
    g as (
      select n,
        ${plan.startMs}::bigint + (n - 1) * ${plan.stepMs}::bigint as created_ms,
        'epoch'::timestamptz + (${plan.startMs}::bigint + (n - 1) * ${plan.stepMs}::bigint) * interval '1 millisecond'
          as created_at,
        (${plan.nowMs}::bigint - ${plan.startMs}::bigint - (n - 1) * ${plan.stepMs}::bigint) / ${sql.lit(msPerDay)}::double precision as age_days
      from generate_series(${lo}::bigint, ${hi}::bigint) n
    ),
    -- Recent cases are often still being worked on, old ones nearly always closed: overall ~3%
    -- unfinished (2% open, 0.7% waiting, 0.3% work order).
    k as (
      select n, created_ms, created_at, age_days,
        case when r >= p then 'closed' when r < p * 0.6667 then 'open' when r < p * 0.9 then 'waiting' else 'work_order' end as kind
      from (select g.*, ${rnd(1)} as r, 0.8 * exp(-age_days / 30) + 0.008 as p from g) drawn
    ),
    c as (
      select k.n, k.kind, k.created_ms, k.created_at,
        case k.kind when 'open' then ${statusPick('open')} when 'waiting' then ${statusPick('waiting')}
          when 'work_order' then ${statusPick('work_order')} else ${statusPick('closed')} end as status_id,
        y.prefix || lpad((y.base + k.n - y.first_n)::text, greatest(${plan.digits}, length((y.base + k.n - y.first_n)::text)), '0') as number,
        -- ~10% of unfinished cases wait for someone to take them; some agents carry more than others
        case when k.kind <> 'closed' and ${rnd(4)} < 0.10 then null
          else 1 + floor(${userCount} * power(${rnd(3)}, 1.4))::integer end as resp,
        1 + floor(${userCount} * ${rnd(5)})::integer as helper,
        ${typeId} as case_type_id,
        ${priorityId} as priority_id,
        case when k.kind <> 'closed' and ${rnd(8)} < 0.35 then w.today + (floor(${rnd(9)} * 51)::integer - 20)
          when k.kind = 'closed' and ${rnd(8)} < 0.12
            then (k.created_at at time zone ${plan.timeZone})::date + (1 + floor(${rnd(9)} * 14)::integer)
        end as due_date,
        -- unknown senders (no customer yet) stay rare
        case when ${rnd(11)} < 0.003 then null else ${customerKey} end as customer_key,
        case when ${rnd(11)} < 0.003 then 'named' when ${rnd(13)} < 0.85 then 'known' when ${rnd(13)} < 0.95 then 'named'
          else 'none' end as contact_mode,
        1 + floor(cardinality(w.subjects) * ${rnd(15)})::integer as topic,
        -- ~3 entries a case; one case in a thousand is a long saga of 40–60. An unfinished case
        -- older than a day has been answered and has heard from the customer again (see cc)
        greatest(case when ${rnd(16)} < 0.001 then 40 + floor(${rnd(17)} * 21)::integer
          else 1 + floor(${rnd(17)} * 5)::integer end,
          case when k.kind <> 'closed' and k.age_days > 1 then 3 else 1 end) as entries,
        (0.5 + ${rnd(18)} * 30) * 3600000 as gap_ms,
        -- an unfinished case's last entry, this long before now: mostly a few hours (well within
        -- any response target), some within a day (near it, or past it after a working day), a
        -- few days or two weeks (breached by hours to days)
        case when ${rnd(50)} < 0.78 then ${rnd(51)} * 4 when ${rnd(50)} < 0.92 then 4 + ${rnd(51)} * 20
          when ${rnd(50)} < 0.98 then 24 + ${rnd(51)} * 72 else 96 + ${rnd(51)} * 240 end * 3600000 as since_ms,
        -- and how long staff took to answer each message of the customer's
        (0.5 + ${rnd(52)} * 7.5) * 3600000 as reply_ms,
        case when ${rnd(19)} < 0.05 then 1 + floor(${rnd(20)} * 3)::integer else 0 end as posts,
        ${rnd(10)} < 0.55 as from_email,
        (1 + ${rnd(21)} * 47) * 3600000 as closing_ms
      from k cross join w join years y on k.n between y.first_n and y.last_n
    ),
    cc as materialized (
      select c.n, c.n::integer as id, c.number, c.kind, c.status_id, c.created_at, c.case_type_id, c.priority_id,
        c.due_date, c.topic, c.entries, c.posts,
        w.subjects[c.topic] || ' ' || w.problems[c.topic] as title,
        cu.id as customer_id, cu.name as customer_name,
        ct.id as contact_id,
        case when c.contact_mode = 'named' then person.first || ' ' || person.last end as contact_name,
        case when c.contact_mode = 'named' then pg_temp.slug(person.first) || '.' || pg_temp.slug(person.last) || '@'
          || coalesce(cu.email_domains[1], pg_temp.pick(w.free_domains, c.n, 22)) end as contact_email,
        coalesce(ct.name, case when c.contact_mode = 'named' then person.first || ' ' || person.last end, cu.name) as author_name,
        coalesce(ct.email, case when c.contact_mode = 'named' then pg_temp.slug(person.first) || '.'
          || pg_temp.slug(person.last) || '@' || coalesce(cu.email_domains[1], pg_temp.pick(w.free_domains, c.n, 22)) end)
          as author_email,
        case when ct.id is not null then split_part(ct.name, ' ', 1) when c.contact_mode = 'named' then person.first end
          as greet_name,
        w.user_ids[c.resp] as responsible_id,
        coalesce(c.resp, c.helper) as staff,
        case when c.from_email or cu.id is null then 'email' else 'manual' end as source,
        case when c.from_email or cu.id is null then null else w.user_ids[coalesce(c.resp, c.helper)] end as created_by,
        w.subjects[c.topic] || case when w.located[c.topic] then ' ' || pg_temp.pick(w.locations, c.n, 23) else '' end
          || ' ' || w.problems[c.topic] || ' ' || pg_temp.pick(w.whens, c.n, 24) || '.' as opening,
        timing.reply_ms, timing.wait_ms,
        'epoch'::timestamptz + least(${plan.nowMs}::bigint, c.created_ms
          + (c.entries / 2) * timing.reply_ms + ((c.entries - 1) / 2) * timing.wait_ms
          + case when c.kind = 'closed' then c.closing_ms else 0 end)::double precision * interval '1 millisecond'
          as last_activity_at
      from c cross join w
        left join customers cu on cu.id = ${customers.idBase}::integer + c.customer_key
        left join contacts ct on c.contact_mode = 'known'
          and ct.id = ${customers.contactIdBase}::integer + (c.customer_key - 1) * 3 + 1
            + floor(${rnd(14, sql.ref('c.n'))} * pg_temp.contact_count(c.customer_key))::integer
        cross join lateral (select pg_temp.pick(w.first_names, c.n, 25) as first, pg_temp.pick(w.surnames, c.n, 26) as last) person
        cross join lateral (select (${plan.nowMs}::bigint - c.created_ms)::double precision as age_ms) age
        -- from the opening to the last entry: an unfinished case's ends since_ms before now (at
        -- most half its age), so its clock, which ran until the last entry only while staff owed
        -- an answer, runs from a recent moment and not from years back
        cross join lateral (select age.age_ms - least(c.since_ms, age.age_ms / 2) as span_ms) span
        -- Entry e (the customer writes the odd ones, staff the even ones) comes e / 2 answers and
        -- (e − 1) / 2 waits for the customer after the opening. A finished case's entries are
        -- evenly apart; entries never lie in the future: the newest cases get theirs closer
        -- together. An unfinished case's answers come within hours and its waits fill the rest.
        cross join lateral (
          select case when c.kind = 'closed' then least(c.gap_ms, age.age_ms / (c.entries + 1.0))
            else least(c.reply_ms, span.span_ms / c.entries) end as reply_ms
        ) answer
        cross join lateral (
          select answer.reply_ms,
            case when c.kind = 'closed' or c.entries < 3 then answer.reply_ms
              else (span.span_ms - (c.entries / 2) * answer.reply_ms) / ((c.entries - 1) / 2) end as wait_ms
        ) timing
    )
    select * from cc`.execute(trx);
  // a temp table has no statistics until analyzed; the joins below want the row count
  await sql`analyze seed_batch`.execute(trx);

  const clocks = await batchClocks(trx, plan, policies);
  // The clocks in a table of their own, analyzed, for the join below: as parameters zipped by
  // position the planner took them for a hundred rows and joined them 50,000 times over.
  await sql`
    create temp table seed_clocks as
    select * from rows from (
      unnest(${clocks.caseIds}::integer[]), unnest(${clocks.policyIds}::integer[]),
      jsonb_array_elements(${JSON.stringify(clocks.clocks)}::jsonb),
      unnest(${clocks.dueAtMs}::bigint[]), unnest(${clocks.warnAtMs}::bigint[])
    ) as v(case_id, policy_id, clock, due_ms, warn_ms)`.execute(trx);
  await sql`analyze seed_clocks`.execute(trx);

  await sql`
    with
    ${w},
    cc as (select * from seed_batch),
    clocks as (
      select case_id, policy_id, clock, 'epoch'::timestamptz + due_ms * interval '1 millisecond' as due_at,
        'epoch'::timestamptz + warn_ms * interval '1 millisecond' as warn_at
      from seed_clocks
    ),
    -- what the clock heard, in order, so replaying a case's history gives its stored clock
    clock_events as (
      insert into case_clock_events (case_id, type, at)
      select case_id, type, 'epoch'::timestamptz + at_ms * interval '1 millisecond'
      from unnest(${clocks.eventCaseIds}::integer[], ${clocks.eventTypes}::text[], ${clocks.eventAtMs}::bigint[])
        with ordinality as v(case_id, type, at_ms, n)
      order by n
    ),
    -- Customer and staff take turns; the customer opens. Every message is greeting, text,
    -- sign-off and signature; the HTML and its tag-stripped text (what case_search_document
    -- indexes: each tag becomes one space) are put together from the same parts.
    parts as (
      select c.id as case_id, e, c.created_at, c.reply_ms, c.wait_ms,
        case when e % 2 = 1 then 'customer' else 'staff' end as side,
        case when e % 2 = 0 then w.user_ids[c.staff] when e = 1 then c.created_by end as user_id,
        case when e % 2 = 1 then c.author_name else w.user_names[c.staff] end as author_name,
        case when e % 2 = 1 then c.author_email else w.user_emails[c.staff] end as author_email,
        case when e % 2 = 1 then pg_temp.pick(w.greetings, ${entryKey}, 30)
          else 'Hej' || coalesce(' ' || c.greet_name, '') || '!' end as greeting,
        case when e % 2 = 0 then replace(pg_temp.pick(w.replies, ${entryKey}, 34), '{sak}', w.things[c.topic])
          when e = 1 then c.opening || ' ' || pg_temp.pick(w.details, ${entryKey}, 31)
          else replace(pg_temp.pick(w.follow_ups, ${entryKey}, 32), '{sak}', w.things[c.topic]) end as message,
        case when e % 2 = 1 then pg_temp.pick(w.sign_offs, ${entryKey}, 33) else 'Med vänliga hälsningar' end as sign_off,
        replace(case when e % 2 = 1 then c.author_name else w.user_names[c.staff] end, '&', '&amp;') as signature
      from cc c cross join w cross join lateral generate_series(1, c.entries) e
    ),
    t as materialized (
      select case_id, e, side, user_id, author_name, author_email,
        '<div>' || greeting || '<br><br>' || message || '<br><br>' || sign_off || '<br>' || signature || '</div>'
          as body_html,
        ' ' || greeting || '  ' || message || '  ' || sign_off || ' ' || signature || ' ' as plain_text,
        created_at + ((e / 2) * reply_ms + ((e - 1) / 2) * wait_ms)::double precision * interval '1 millisecond'
          as created_at
      from parts
    ),
    thread as (
      insert into thread_entries (case_id, side, user_id, author_name, author_email, body_html, created_at)
      select case_id, side, user_id, author_name, author_email, body_html, created_at from t order by case_id, e
    ),
    discussion as (
      insert into discussion_posts (case_id, user_id, body_html, created_at)
      select c.id, w.user_ids[1 + floor(cardinality(w.user_ids) * ${rnd(40, sql`c.n * 4 + d`)})::integer],
        '<div>' || replace(pg_temp.pick(w.discussion, c.n * 4 + d, 41), '{sak}', w.things[c.topic]) || '</div>',
        c.created_at + (c.last_activity_at - c.created_at) * (d / (c.posts + 1.0))::double precision
      from cc c cross join w cross join lateral generate_series(1, c.posts) d
      order by c.id, d
    ),
    events as (
      insert into case_events (case_id, user_id, kind, field, old_value, new_value, created_at)
      select id, created_by, 'created', null, null, null, created_at from cc
      union all
      select c.id, w.user_ids[c.staff], 'field_changed', 'status_id', ${plan.statusIds.open[0] ?? 0}::text,
        c.status_id::text, c.last_activity_at
      from cc c cross join w where c.kind = 'closed'
    ),
    documents as (
      select case_id, string_agg(plain_text, ' ' order by e) as thread_text
      from t group by case_id
    )
    insert into cases (id, number, title, customer_id, contact_id, contact_name, contact_email, responsible_id,
      status_id, case_type_id, priority_id, due_date, source, created_by, created_at, updated_at, last_activity_at,
      status_kind, closed_at, priority_rank, search_vector, sla_policy_id, sla_clock, sla_due_at, sla_warn_at)
    select c.id, c.number, c.title, c.customer_id, c.contact_id, c.contact_name, c.contact_email, c.responsible_id,
      c.status_id, c.case_type_id, c.priority_id, c.due_date, c.source, c.created_by, c.created_at, c.last_activity_at,
      -- closed when its status event says (above); the lifecycle's clock, set here as replica mode skips triggers
      c.last_activity_at, s.kind, case when s.kind = 'closed' then c.last_activity_at end, pr.rank,
      -- the same document as case_search_document(id), built for the whole batch at once
      case_search_head_document(c.number, c.title, c.customer_name, c.contact_name)
        || setweight(to_tsvector('public.casedesk_search'::regconfig, coalesce(d.thread_text, '')), 'C'),
      k.policy_id, k.clock, k.due_at, k.warn_at
    from cc c join case_statuses s on s.id = c.status_id left join priorities pr on pr.id = c.priority_id
      left join documents d on d.case_id = c.id
      left join clocks k on k.case_id = c.id
    order by c.id`.execute(trx);
  await sql`drop table seed_batch, seed_clocks`.execute(trx);
}

// ---- service levels

const minutes = (hours: number) => hours * 60;

// The synthetic organisation's service levels: office hours Monday–Friday 08:00–17:00 in
// Stockholm, closed on the Swedish holidays and the three eves; high priority answered fast,
// complaints a little faster than the rest. Left as they are when the database already has
// policies (an administrator's, or an earlier seed's whose cases were removed).
async function ensureServiceLevels(db: Db): Promise<void> {
  if (await db.selectFrom('sla_policies').select('id').limit(1).executeTakeFirst()) return;
  const name = 'Kontorstid';
  const existing = await db.selectFrom('business_calendars').select('id').where('name', '=', name).executeTakeFirst();
  const calendarId =
    existing?.id ??
    (await createCalendar(db, {
      name,
      timeZone: 'Europe/Stockholm',
      week: [[[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [], []],
      swedishHolidays: true,
      closedEves: true,
    }));
  const high = await db
    .selectFrom('priorities')
    .select('id')
    .where('active', '=', true)
    .orderBy('rank')
    .limit(1)
    .executeTakeFirst();
  const complaints = await db
    .selectFrom('case_types')
    .select('id')
    .where('name', '=', 'Reklamation')
    .where('active', '=', true)
    .executeTakeFirst();
  const policy = (name: string, hours: [number, number, number]) => ({
    name,
    active: true,
    customerNumber: null,
    priorityId: null,
    caseTypeId: null,
    calendarId,
    firstResponseMinutes: minutes(hours[0]),
    nextResponseMinutes: minutes(hours[1]),
    resolutionMinutes: minutes(hours[2]),
    pauseWhileWaiting: true,
    warnPercent: 75,
    escalationUserId: null,
  });
  // first match wins: the specific ones before the catch-all
  if (high) await createPolicy(db, { ...policy('Hög prioritet', [2, 4, 16]), priorityId: high.id });
  if (complaints) await createPolicy(db, { ...policy('Reklamationer', [4, 8, 24]), caseTypeId: complaints.id });
  await createPolicy(db, policy('Övriga ärenden', [8, 8, 40]));
}

type PolicyFinder = (facts: {
  customerId: number | null;
  priorityId: number | null;
  caseTypeId: number;
}) => Promise<SlaPolicyMatch | null>;

// findSlaPolicy, as the lifecycle asks it, remembered per combination of the facts the policies
// look at (a million lookups would each build the policy's calendar anew). One match object per
// policy: the calendar's business-time caches are kept per calendar object, so the replays share
// one calendar's worked-out days instead of each building its own.
async function policyFinder(trx: Transaction<Database>, now: Date): Promise<PolicyFinder> {
  const conditions = await trx
    .selectFrom('sla_policies')
    .select(['customer_id', 'priority_id', 'case_type_id'])
    .execute();
  const byCustomer = conditions.some((p) => p.customer_id !== null);
  const byPriority = conditions.some((p) => p.priority_id !== null);
  const byType = conditions.some((p) => p.case_type_id !== null);
  const byFacts = new Map<string, SlaPolicyMatch | null>();
  const byPolicy = new Map<number, SlaPolicyMatch>();
  return async (facts) => {
    const key = `${byCustomer ? facts.customerId : ''}:${byPriority ? facts.priorityId : ''}:${byType ? facts.caseTypeId : ''}`;
    let match = byFacts.get(key);
    if (match === undefined) {
      const found = await findSlaPolicy(trx, facts, swedishHolidayDates, now);
      match = found ? (byPolicy.get(found.policyId) ?? found) : null;
      if (match) byPolicy.set(match.policyId, match);
      byFacts.set(key, match);
    }
    return match;
  };
}

type BatchClocks = {
  caseIds: number[];
  policyIds: number[];
  // one JSON array for the batch: PostgreSQL parses it in one go, where a jsonb[] parameter
  // would be escaped element by element on the way
  clocks: SlaClock[];
  dueAtMs: (number | null)[];
  warnAtMs: (number | null)[];
  eventCaseIds: number[];
  eventTypes: string[];
  eventAtMs: number[];
};

// Each case of the batch its clock as the lifecycle would have kept it: the events it would have
// heard (opened at creation; from the thread, a staff reply or a customer's message per entry,
// an unfinished case waiting between an answer and the customer's next message; waiting at the
// last entry, or closed when the case was), replayed with the policy the case
// matches first (replaySla), stored as clockColumns stores them, and the events themselves for
// a later replay.
async function batchClocks(trx: Transaction<Database>, plan: CasePlan, policies: PolicyFinder): Promise<BatchClocks> {
  const { rows } = await sql<{
    id: number;
    kind: StatusKind;
    created_ms: string;
    entries: number;
    reply_ms: number;
    wait_ms: number;
    closed_ms: string;
    customer_id: number | null;
    priority_id: number | null;
    case_type_id: number;
  }>`
    select id, kind, (extract(epoch from created_at) * 1000)::bigint::text as created_ms, entries,
      reply_ms::double precision as reply_ms, wait_ms::double precision as wait_ms, floor(extract(epoch from last_activity_at) * 1000)::bigint::text as closed_ms,
      customer_id, priority_id, case_type_id
    from seed_batch order by id`.execute(trx);
  const out: BatchClocks = {
    caseIds: [],
    policyIds: [],
    clocks: [],
    dueAtMs: [],
    warnAtMs: [],
    eventCaseIds: [],
    eventTypes: [],
    eventAtMs: [],
  };
  for (const row of rows) {
    const policy = await policies({
      customerId: row.customer_id,
      priorityId: row.priority_id,
      caseTypeId: row.case_type_id,
    });
    if (!policy) continue;
    const created = Number(row.created_ms);
    // the thread's entries, as the seed timed them (to the millisecond)
    const entryAt = (e: number) =>
      Math.floor(created + Math.floor(e / 2) * row.reply_ms + Math.floor((e - 1) / 2) * row.wait_ms);
    const heard: { type: SlaEvent['type']; ms: number }[] = [{ type: 'opened', ms: created }];
    // An unfinished case waited for the customer after each answer the customer wrote back to:
    // its clock stood still then (the policies pause while waiting), as the agents set it.
    const waits = row.kind !== 'closed';
    for (let e = 2; e <= row.entries; e++) {
      const ms = entryAt(e);
      if (e % 2 === 0) {
        heard.push({ type: 'staff_reply', ms });
        if (waits && e < row.entries) heard.push({ type: 'waiting', ms });
      } else {
        if (waits) heard.push({ type: 'resumed', ms });
        heard.push({ type: 'customer_message', ms });
      }
    }
    if (row.kind === 'waiting') heard.push({ type: 'waiting', ms: Math.min(plan.nowMs, entryAt(row.entries)) });
    if (row.kind === 'closed') heard.push({ type: 'closed', ms: Number(row.closed_ms) });
    const events = heard.map((h): SlaEvent => ({ type: h.type, at: new Date(h.ms).toISOString() }));
    const columns = clockColumns(policy.policyId, replaySla(events, policy.targets, policy.calendar));
    out.caseIds.push(row.id);
    out.policyIds.push(policy.policyId);
    out.clocks.push(columns.sla_clock as SlaClock);
    out.dueAtMs.push(columns.sla_due_at?.getTime() ?? null);
    out.warnAtMs.push(columns.sla_warn_at?.getTime() ?? null);
    for (const h of heard) {
      out.eventCaseIds.push(row.id);
      out.eventTypes.push(h.type);
      out.eventAtMs.push(h.ms);
    }
  }
  return out;
}

async function finishNumbering(trx: Transaction<Database>, plan: CasePlan): Promise<void> {
  await sql`select setval(pg_get_serial_sequence('cases', 'id'), ${plan.total}::bigint)`.execute(trx);
  const seriesYear = plan.years.find((y) => y.prefix === plan.series?.prefix);
  if (plan.series && seriesYear) {
    await trx
      .updateTable('number_series')
      .set({ next_number: seriesYear.base + seriesYear.lastN - seriesYear.firstN + 1 })
      .where('id', '=', plan.series.id)
      .execute();
  }
}
