import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { addDays, bucketOf, bucketStarts, clampDay, type Period } from './period.ts';

// The reports page's figures, all read from case_report_facts (one narrow row per case, kept by
// triggers, migration 20261205_0500) and, for Kontroll, from case_events on its partial index.
// Times are calendar hours (not business hours): the service levels' calendars are not applied.

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
};

export type Bucket = { start: string; end: string; casesIn: number; casesClosed: number; backlog: number };
export type Named = { id: number | null; name: string; count: number; number?: string | null };
export type Workload = { id: number | null; name: string; open: number; closed: number };
export type Kontroll = { reminded: number; answered: number; closedWithoutAnswer: number };

export type Report = {
  summary: Summary;
  previous: Summary;
  openNow: number;
  buckets: Bucket[];
  channels: Named[];
  customers: Named[];
  workload: Workload[];
  kontroll: Kontroll;
};

// The instant a day starts in the zone.
const dayStart = (day: string, timeZone: string) => sql<Date>`(${day}::date::timestamp at time zone ${timeZone})`;

function filterSql(filter: ReportFilter, alias = 'f'): RawBuilder<unknown> {
  const a = sql.raw(alias);
  const parts: RawBuilder<unknown>[] = [sql`true`];
  if (filter.customer) parts.push(sql`${a}.customer_id = ${filter.customer}`);
  if (filter.type) parts.push(sql`${a}.case_type_id = ${filter.type}`);
  if (filter.prio) parts.push(sql`${a}.priority_id = ${filter.prio}`);
  if (filter.resp !== 'any') parts.push(sql`${a}.responsible_id = ${filter.resp}`);
  return sql.join(parts, sql` and `);
}

const hours = (later: string, earlier: string) => sql.raw(`extract(epoch from (${later} - ${earlier})) / 3600.0`);

async function summarize(db: Db, period: Period, timeZone: string, filter: ReportFilter): Promise<Summary> {
  const start = dayStart(period.from, timeZone);
  const end = dayStart(addDays(period.to, 1), timeZone);
  const where = filterSql(filter);
  const { rows } = await sql<Summary>`
    select i."casesIn", i."firstResponseMedian", i."firstResponseP90",
      c."casesClosed", c."resolutionMedian", c."resolutionP90"
    from (
      select count(*)::integer as "casesIn",
        percentile_cont(0.5) within group (order by ${hours('f.first_response_at', 'f.created_at')}) as "firstResponseMedian",
        percentile_cont(0.9) within group (order by ${hours('f.first_response_at', 'f.created_at')}) as "firstResponseP90"
      from case_report_facts f
      where f.created_at >= ${start} and f.created_at < ${end} and ${where}
    ) i, (
      select count(*)::integer as "casesClosed",
        percentile_cont(0.5) within group (order by ${hours('f.closed_at', 'f.created_at')}) as "resolutionMedian",
        percentile_cont(0.9) within group (order by ${hours('f.closed_at', 'f.created_at')}) as "resolutionP90"
      from case_report_facts f
      where f.closed_at >= ${start} and f.closed_at < ${end} and ${where}
    ) c`.execute(db);
  const row = rows[0] as Summary;
  const round = (v: number | null) => (v === null ? null : Math.round(Number(v) * 10) / 10);
  return {
    casesIn: row.casesIn,
    casesClosed: row.casesClosed,
    firstResponseMedian: round(row.firstResponseMedian),
    firstResponseP90: round(row.firstResponseP90),
    resolutionMedian: round(row.resolutionMedian),
    resolutionP90: round(row.resolutionP90),
  };
}

// Cases in and closed per bucket, and the backlog (unfinished cases) at each bucket's end: the
// open cases now, less what came in after that end, plus what was closed after it. Counted per
// day of the zone from the period's start until now, then summed into the buckets here.
async function series(db: Db, period: Period, timeZone: string, filter: ReportFilter, openNow: number) {
  const unit = bucketOf(period);
  const start = dayStart(period.from, timeZone);
  const where = filterSql(filter);
  // grouped by the date, written out as text once per group (to_char per row costs more)
  const day = (column: string) => sql`(${sql.raw(column)} at time zone ${timeZone})::date`;
  const { rows } = await sql<{ day: string; n_in: number; n_closed: number }>`
    select day::text as day, sum(n_in)::integer as n_in, sum(n_closed)::integer as n_closed from (
      select ${day('f.created_at')} as day, 1 as n_in, 0 as n_closed
      from case_report_facts f where f.created_at >= ${start} and ${where}
      union all
      select ${day('f.closed_at')}, 0, 1
      from case_report_facts f where f.closed_at >= ${start} and ${where}
    ) x group by x.day order by x.day`.execute(db);
  const step = unit === 'day' ? 1 : 7;
  const buckets: Bucket[] = bucketStarts(period).map((s) => {
    const end = addDays(s, step - 1);
    return {
      start: clampDay(s, period),
      end: clampDay(end, period),
      casesIn: 0,
      casesClosed: 0,
      backlog: 0,
    };
  });
  let later = 0; // in less closed after the bucket being looked at
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

export async function loadReport(db: Db, period: Period, previous: Period, timeZone: string, filter: ReportFilter) {
  const start = dayStart(period.from, timeZone);
  const end = dayStart(addDays(period.to, 1), timeZone);
  const where = filterSql(filter);
  const openNowRow = await sql<{ n: number }>`
    select count(*)::integer as n from case_report_facts f where f.closed_at is null and ${where}`.execute(db);
  const openNow = openNowRow.rows[0]?.n ?? 0;
  const [summary, prev, buckets, channels, customers, workload, kontroll] = await Promise.all([
    summarize(db, period, timeZone, filter),
    summarize(db, previous, timeZone, filter),
    series(db, period, timeZone, filter, openNow),
    sql<Named>`
      select null::integer as id, f.source as name, count(*)::integer as count from case_report_facts f
      where f.created_at >= ${start} and f.created_at < ${end} and ${where}
      group by f.source order by count desc, f.source`.execute(db),
    sql<Named>`
      select f.customer_id as id, coalesce(cu.name, '') as name, cu.number, count(*)::integer as count
      from case_report_facts f left join customers cu on cu.id = f.customer_id
      where f.created_at >= ${start} and f.created_at < ${end} and ${where}
      group by f.customer_id, cu.name, cu.number order by count desc, cu.name nulls last limit 10`.execute(db),
    sql<Workload>`
      select w.id, coalesce(u.name, '') as name, w.open, w.closed from (
        select f.responsible_id as id,
          count(*) filter (where f.closed_at is null)::integer as open,
          count(*) filter (where f.closed_at >= ${start} and f.closed_at < ${end})::integer as closed
        from case_report_facts f
        where (f.closed_at is null or (f.closed_at >= ${start} and f.closed_at < ${end})) and ${where}
        group by f.responsible_id
      ) w left join users u on u.id = w.id
      order by w.open desc, w.closed desc, u.name nulls last`.execute(db),
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
  ]);
  return {
    summary,
    previous: prev,
    openNow,
    buckets,
    channels: channels.rows,
    customers: customers.rows,
    workload: workload.rows,
    kontroll: kontroll.rows[0] ?? { reminded: 0, answered: 0, closedWithoutAnswer: 0 },
  } satisfies Report;
}
