import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { CaseReportTimesTable } from '../db/schema.ts';
import { percentilesOf } from './percentiles.ts';
import { addDays, bucketOf, bucketStarts, clampDay, type Period } from './period.ts';

// The reports page's figures, all read from case_report_facts (one narrow row per case, kept by
// triggers, migration 20261205_0500) and, for Kontroll, from case_events on its partial index.
// Times are given in calendar hours for every case, and in business hours for the cases that run
// by a service level (their SLA clock spent the calendar on them; migration 20261205_0600), all
// counted in tenths of an hour; the team's medians and percentiles over whole months come from the
// monthly rollups in case_report_times (migration 20261205_0700).

export type ReportFilter = {
  customer: number | null;
  type: number | null;
  prio: number | null;
  // a responsible's id, or every case ('any')
  resp: number | 'any';
};

export type Summary = {
  casesIn: number;
  casesClosed: number;
  firstResponseMedian: number | null;
  firstResponseP90: number | null;
  resolutionMedian: number | null;
  resolutionP90: number | null;
  // the same in business hours, over the cases with a service level
  firstResponseBusinessMedian: number | null;
  firstResponseBusinessP90: number | null;
  resolutionBusinessMedian: number | null;
  resolutionBusinessP90: number | null;
  // cases in that run by a service level, and those of them that missed a deadline
  withSla: number;
  slaBreached: number;
};

export type Bucket = { start: string; end: string; casesIn: number; casesClosed: number; backlog: number };
export type Named = { id: number | null; name: string; count: number; number?: string | null };
// a customer's cases closed in the period and the hours they were open, summed
export type CustomerTime = { id: number | null; name: string; number: string | null; hours: number; cases: number };
export type Workload = { id: number | null; name: string; open: number; closed: number };
export type Kontroll = { reminded: number; answered: number; closedWithoutAnswer: number };

export type Report = {
  summary: Summary;
  previous: Summary;
  openNow: number;
  buckets: Bucket[];
  channels: Named[];
  customers: Named[];
  customerTime: CustomerTime[];
  workload: Workload[];
  kontroll: Kontroll;
};

// The instant a day starts in the zone.
const dayStart = (day: string, timeZone: string) => sql<Date>`(${day}::date::timestamp at time zone ${timeZone})`;

// A year of a million cases is some 300,000 facts to sort (the percentiles) or hash (the top
// customers): in PostgreSQL's default 4 MB of work memory they spill to disk, at three to four
// times the time. Those statements get 32 MB, for their own transaction only (the counts by
// channel and by person hash a handful of groups and need none).
function roomy<T>(db: Db, run: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`set local work_mem = '32MB'`.execute(trx);
    return run(trx);
  });
}

function filterSql(filter: ReportFilter, alias = 'f'): RawBuilder<unknown> {
  const a = sql.raw(alias);
  const parts: RawBuilder<unknown>[] = [sql`true`];
  if (filter.customer) parts.push(sql`${a}.customer_id = ${filter.customer}`);
  if (filter.type) parts.push(sql`${a}.case_type_id = ${filter.type}`);
  if (filter.prio) parts.push(sql`${a}.priority_id = ${filter.prio}`);
  if (filter.resp !== 'any') parts.push(sql`${a}.responsible_id = ${filter.resp}`);
  return sql.join(parts, sql` and `);
}

type Metric = CaseReportTimesTable['metric'];
type MetricCount = { metric: Metric; value: number | null; label: string | null; n: number };

// What case_report_times holds per month (migration 20261205_0700), here for any range [from, to)
// of the facts: how many cases came in (by created_at) with each first-response time in tenths of
// an hour (report_tenths), each SLA outcome and each channel, and how many were closed (by
// closed_at) with each resolution time and by each responsible. One pass over each covering
// index, hashing into a grouping set per figure, in work memory enough for a year of facts.
async function countFacts(db: Db, from: Date, to: Date, where: RawBuilder<unknown>): Promise<MetricCount[]> {
  const fr = sql`report_tenths(f.first_response_hours)`;
  const frb = sql`report_tenths(f.first_response_business_hours)`;
  const sla = sql`(case when f.sla_policy_id is null then null when f.sla_breached then 1 else 0 end)`;
  const res = sql`report_tenths(f.resolution_hours)`;
  const resb = sql`report_tenths(f.resolution_business_hours)`;
  const { rows } = await roomy(db, (trx) =>
    sql<MetricCount>`
    select
      case when grouping(${fr}) = 0 then 'first_response' when grouping(${frb}) = 0 then 'first_response_business'
        when grouping(${sla}) = 0 then 'sla' else 'channel' end as metric,
      case when grouping(${fr}) = 0 then ${fr} when grouping(${frb}) = 0 then ${frb}
        when grouping(${sla}) = 0 then ${sla} end as value,
      case when grouping(f.source) = 0 then f.source end as label,
      count(*)::integer as n
    from case_report_facts f
    where f.created_at >= ${from} and f.created_at < ${to} and ${where}
    group by grouping sets ((${fr}), (${frb}), (${sla}), (f.source))
    union all
    select
      case when grouping(${res}) = 0 then 'resolution' when grouping(${resb}) = 0 then 'resolution_business'
        else 'closed_by' end,
      case when grouping(${res}) = 0 then ${res} when grouping(${resb}) = 0 then ${resb} else f.responsible_id end,
      null,
      count(*)::integer
    from case_report_facts f
    where f.closed_at >= ${from} and f.closed_at < ${to} and ${where}
    group by grouping sets ((${res}), (${resb}), (f.responsible_id))`.execute(trx),
  );
  return rows;
}

// The first instant of the UTC month `at` lies in, or of the next one.
const monthOf = (at: Date, next = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + next, 1));

// The period's counts of times. For the whole team, the UTC months that lie wholly inside it come
// from the monthly rollups (case_report_times, migration 20261205_0700) and only the days before
// the first and after the last of them from the facts: a year is some 40,000 rollup rows and a few
// days of facts rather than 300,000 facts sorted. A filtered report counts its own facts.
async function countTimes(db: Db, start: Date, end: Date, filter: ReportFilter): Promise<MetricCount[]> {
  const where = filterSql(filter);
  const unfiltered = !filter.customer && !filter.type && !filter.prio && filter.resp === 'any';
  if (!unfiltered) return countFacts(db, start, end, where);
  const first = start.getTime() === monthOf(start).getTime() ? start : monthOf(start, 1);
  const last = monthOf(end);
  if (first >= last) return countFacts(db, start, end, where);
  const parts = await Promise.all([
    sql<MetricCount>`
      select metric, value, label, sum(n)::integer as n from case_report_times
      where month >= ${first} and month < ${last} group by metric, value, label`
      .execute(db)
      .then((r) => r.rows),
    start < first ? countFacts(db, start, first, where) : [],
    last < end ? countFacts(db, last, end, where) : [],
  ]);
  return parts.flat();
}

// The period's key figures, and its cases in per channel and closed per responsible.
async function summarize(
  db: Db,
  period: Period,
  timeZone: string,
  filter: ReportFilter,
): Promise<{ summary: Summary; channels: Map<string, number>; closedBy: Map<number | null, number> }> {
  // the period's first and last instants, as the other figures' SQL takes them (dayStart)
  const bounds = await sql<{ start: Date; end: Date }>`
    select ${dayStart(period.from, timeZone)} as start, ${dayStart(addDays(period.to, 1), timeZone)} as end`.execute(
    db,
  );
  const { start, end } = bounds.rows[0] as { start: Date; end: Date };
  const counts = new Map<Metric, Map<number | null, number>>();
  const channels = new Map<string, number>();
  for (const row of await countTimes(db, start, end, filter)) {
    if (row.metric === 'channel') {
      if (row.label !== null) channels.set(row.label, (channels.get(row.label) ?? 0) + row.n);
      continue;
    }
    const values = counts.get(row.metric) ?? new Map<number | null, number>();
    values.set(row.value, (values.get(row.value) ?? 0) + row.n);
    counts.set(row.metric, values);
  }
  const all = (metric: Metric) => [...(counts.get(metric) ?? new Map<number | null, number>())];
  const total = (metric: Metric) => all(metric).reduce((sum, [, n]) => sum + n, 0);
  // median and 90th percentile in hours, to a tenth
  const times = (metric: Metric) =>
    percentilesOf(
      all(metric).flatMap(([value, n]) => (value === null ? [] : [{ value, n }])),
      [0.5, 0.9],
    ).map((tenths) => (tenths === null ? null : Math.round(tenths) / 10));
  const [firstResponseMedian, firstResponseP90] = times('first_response');
  const [resolutionMedian, resolutionP90] = times('resolution');
  const [firstResponseBusinessMedian, firstResponseBusinessP90] = times('first_response_business');
  const [resolutionBusinessMedian, resolutionBusinessP90] = times('resolution_business');
  const sla = counts.get('sla');
  const summary: Summary = {
    casesIn: total('first_response'),
    casesClosed: total('resolution'),
    firstResponseMedian: firstResponseMedian ?? null,
    firstResponseP90: firstResponseP90 ?? null,
    resolutionMedian: resolutionMedian ?? null,
    resolutionP90: resolutionP90 ?? null,
    firstResponseBusinessMedian: firstResponseBusinessMedian ?? null,
    firstResponseBusinessP90: firstResponseBusinessP90 ?? null,
    resolutionBusinessMedian: resolutionBusinessMedian ?? null,
    resolutionBusinessP90: resolutionBusinessP90 ?? null,
    withSla: (sla?.get(0) ?? 0) + (sla?.get(1) ?? 0),
    slaBreached: sla?.get(1) ?? 0,
  };
  return { summary, channels, closedBy: counts.get('closed_by') ?? new Map() };
}

// Cases in and closed per bucket, and the backlog (unfinished cases) at each bucket's end: the
// open cases now, less what came in after that end, plus what was closed after it. From counts
// per day of the period and the net count (in less closed) since the period's end.
function series(
  period: Period,
  days: { day: string; n_in: number; n_closed: number }[],
  openNow: number,
  netAfterPeriod: number,
): Bucket[] {
  const step = bucketOf(period) === 'day' ? 1 : 7;
  const buckets: Bucket[] = bucketStarts(period).map((s) => ({
    start: clampDay(s, period),
    end: clampDay(addDays(s, step - 1), period),
    casesIn: 0,
    casesClosed: 0,
    backlog: 0,
  }));
  const rows = [...days].sort((x, y) => (x.day < y.day ? -1 : x.day > y.day ? 1 : 0));
  let later = netAfterPeriod; // in less closed after the bucket being looked at
  let r = rows.length - 1;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i] as Bucket;
    for (; r >= 0 && (rows[r] as { day: string }).day > b.end; r--) {
      const row = rows[r] as { n_in: number; n_closed: number };
      later += row.n_in - row.n_closed;
    }
    b.backlog = openNow - later;
    for (; r >= 0 && (rows[r] as { day: string }).day >= b.start; r--) {
      const row = rows[r] as { n_in: number; n_closed: number };
      b.casesIn += row.n_in;
      b.casesClosed += row.n_closed;
      later += row.n_in - row.n_closed;
    }
  }
  return buckets;
}

// Cases in and closed on each day of the period: two counts per day, each a short range of a
// covering index, rather than one pass that works out every row's day in the time zone and hashes
// it (a year of a million cases: 63 ms against 265). Then what came in and was closed after the
// period, for the backlog.
async function dailyCounts(db: Db, period: Period, timeZone: string, where: RawBuilder<unknown>) {
  const end = dayStart(addDays(period.to, 1), timeZone);
  const [days, after] = await Promise.all([
    sql<{ day: string; n_in: number; n_closed: number }>`
      select d.day::text as day,
        (select count(*) from case_report_facts f
         where f.created_at >= d.start and f.created_at < d.next and ${where})::integer as n_in,
        (select count(*) from case_report_facts f
         where f.closed_at >= d.start and f.closed_at < d.next and ${where})::integer as n_closed
      from (
        select day, (day::timestamp at time zone ${timeZone}) as start,
          ((day + 1)::timestamp at time zone ${timeZone}) as next
        from (select g.at::date as day
          from generate_series(${period.from}::timestamp, ${period.to}::timestamp, interval '1 day') as g(at)) days
      ) d`.execute(db),
    sql<{ n: number }>`
      select (select count(*) from case_report_facts f where f.created_at >= ${end} and ${where})
        - (select count(*) from case_report_facts f where f.closed_at >= ${end} and ${where}) as n`.execute(db),
  ]);
  return { days: days.rows, netAfterPeriod: Number(after.rows[0]?.n ?? 0) };
}

export async function loadReport(db: Db, period: Period, previous: Period, timeZone: string, filter: ReportFilter) {
  const start = dayStart(period.from, timeZone);
  const end = dayStart(addDays(period.to, 1), timeZone);
  const where = filterSql(filter);
  const inPeriod = (column: 'created_at' | 'closed_at') =>
    sql`${sql.ref(`f.${column}`)} >= ${start} and ${sql.ref(`f.${column}`)} < ${end} and ${where}`;
  // The key figures, channels and closures per person from the monthly rollups and the facts
  // (summarize); each other figure its own plain query over a range of a covering index, run side
  // by side.
  const [current, prev, daily, topCustomers, open, kontroll, time] = await Promise.all([
    summarize(db, period, timeZone, filter),
    summarize(db, previous, timeZone, filter),
    dailyCounts(db, period, timeZone, where),
    roomy(db, (trx) =>
      sql<{ id: number | null; n: number }>`
      select f.customer_id as id, count(*)::integer as n from case_report_facts f where ${inPeriod('created_at')}
      group by f.customer_id order by n desc, f.customer_id limit 10`.execute(trx),
    ),
    // the unfinished cases now, on the partial index case_report_facts_open
    sql<{ id: number | null; n: number }>`
      select f.responsible_id as id, count(*)::integer as n from case_report_facts f
      where f.closed_at is null and ${where} group by f.responsible_id`.execute(db),
    sql<Kontroll>`
      select
        count(distinct e.case_id) filter (where e.kind = 'kontroll_reminder')::integer as reminded,
        count(distinct e.case_id) filter (where e.kind = 'kontroll_reminder' and exists (
          select from thread_entries t
          where t.case_id = e.case_id and t.side = 'customer' and t.created_at > e.created_at))::integer as answered,
        count(distinct e.case_id) filter (where e.kind = 'kontroll_closed')::integer as "closedWithoutAnswer"
      from case_events e join case_report_facts f on f.case_id = e.case_id
      where e.kind in ('kontroll_reminder', 'kontroll_closed')
        and e.created_at >= ${start} and e.created_at < ${end} and ${where}`.execute(db),
    // the customers whose cases closed in the period were open longest, summed (from the closed
    // index alone)
    roomy(db, (trx) =>
      sql<{ id: number | null; hours: number; cases: number }>`
      select f.customer_id as id, sum(f.resolution_hours)::real as hours, count(*)::integer as cases
      from case_report_facts f where ${inPeriod('closed_at')}
      group by f.customer_id order by hours desc, f.customer_id limit 10`.execute(trx),
    ),
  ]);
  const openNow = open.rows.reduce((sum, r) => sum + r.n, 0);
  const byCount = (a: Named, b: Named) => b.count - a.count || a.name.localeCompare(b.name);
  const channelList = [...current.channels]
    .filter(([, n]) => n > 0)
    .map(([name, count]) => ({ id: null, name, count }))
    .sort(byCount);
  const customerIds = [...new Set([...topCustomers.rows, ...time.rows].flatMap((r) => (r.id === null ? [] : [r.id])))];
  const closedCount = current.closedBy;
  const openBy = new Map(open.rows.map((r) => [r.id, r.n]));
  const people = [...new Set([...openBy.keys(), ...[...closedCount].filter(([, n]) => n > 0).map(([id]) => id)])];
  const userIds = people.flatMap((k) => (k === null ? [] : [k]));
  const [customerRows, userRows] = await Promise.all([
    customerIds.length
      ? db.selectFrom('customers').select(['id', 'name', 'number']).where('id', 'in', customerIds).execute()
      : [],
    userIds.length ? db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute() : [],
  ]);
  const customerById = new Map(customerRows.map((c) => [c.id, c]));
  const userById = new Map(userRows.map((u) => [u.id, u.name]));
  const customers: Named[] = topCustomers.rows
    .map((r) => {
      const c = r.id === null ? undefined : customerById.get(r.id);
      return { id: c?.id ?? null, name: c?.name ?? '', number: c?.number ?? null, count: r.n };
    })
    .sort((a, b) => b.count - a.count || (a.name && b.name ? a.name.localeCompare(b.name) : a.name ? -1 : 1));
  const customerTime: CustomerTime[] = time.rows.map((r) => {
    const c = r.id === null ? undefined : customerById.get(r.id);
    return {
      id: c?.id ?? null,
      name: c?.name ?? '',
      number: c?.number ?? null,
      hours: Math.round(r.hours),
      cases: r.cases,
    };
  });
  const workload: Workload[] = people
    .map((k) => ({
      id: k,
      name: k === null ? '' : (userById.get(k) ?? ''),
      open: openBy.get(k) ?? 0,
      closed: closedCount.get(k) ?? 0,
    }))
    .sort((a, b) => b.open - a.open || b.closed - a.closed || a.name.localeCompare(b.name));
  return {
    summary: current.summary,
    previous: prev.summary,
    openNow,
    buckets: series(period, daily.days, openNow, daily.netAfterPeriod),
    channels: channelList,
    customers,
    customerTime,
    workload,
    kontroll: kontroll.rows[0] ?? { reminded: 0, answered: 0, closedWithoutAnswer: 0 },
  } satisfies Report;
}
