import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { countMyApprovals } from '../approvals/queries.ts';
import type { Db } from '../db/database.ts';
import type { StatusKind, User } from '../db/schema.ts';
import { parseId, queryText } from '../forms/form.ts';

// The case overview's filter. It lives entirely in the URL, so a view can be bookmarked,
// shared and restored with the back button; defaults are left out of the URL.
export type OverviewFilter = {
  resp: 'me' | 'unassigned' | 'any' | number;
  kind: 'unfinished' | StatusKind | 'all';
  status: number | null;
  type: number | null;
  prio: number | null;
  customer: string;
  due: 'overdue' | 'week' | null;
  created: 'today' | null;
  q: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
  page: number;
};

export const sortKeys = ['urgency', 'number', 'title', 'customer', 'status', 'priority', 'due', 'activity'] as const;
export type SortKey = (typeof sortKeys)[number];
const kinds = ['unfinished', 'open', 'waiting', 'work_order', 'closed', 'all'] as const;
export const unfinishedKinds: StatusKind[] = ['open', 'waiting', 'work_order'];
export const pageSize = 50;
const maxPage = 10_000;

export const defaultFilter: OverviewFilter = {
  resp: 'me',
  kind: 'unfinished',
  status: null,
  type: null,
  prio: null,
  customer: '',
  due: null,
  created: null,
  q: '',
  sort: 'urgency',
  dir: 'asc',
  page: 1,
};

const positiveInt = parseId;
const oneOf = <T extends string>(list: readonly T[], value: unknown): T | undefined =>
  list.find((item) => item === value);

// The overview's query string: each filter field once, as text (parseQuery); unknown fields go.
export const overviewQuerySchema = z.object(
  Object.fromEntries(
    ['resp', 'kind', 'status', 'type', 'prio', 'customer', 'due', 'created', 'q', 'sort', 'dir', 'page'].map((key) => [
      key,
      queryText,
    ]),
  ),
);

// Lenient on purpose: a hand-edited or outdated URL falls back to defaults rather than failing.
export function parseOverviewFilter(query: Record<string, unknown>): OverviewFilter {
  const text = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 200) : '');
  const resp =
    query.resp === undefined
      ? 'me'
      : (oneOf(['me', 'unassigned', 'any'] as const, query.resp) ?? positiveInt(query.resp) ?? 'me');
  const kind = oneOf(kinds, query.kind) ?? 'unfinished';
  const sort = oneOf(sortKeys, query.sort) ?? defaultSort(kind);
  return {
    resp,
    kind,
    status: positiveInt(query.status),
    type: positiveInt(query.type),
    prio: positiveInt(query.prio),
    customer: text(query.customer),
    due: oneOf(['overdue', 'week'] as const, query.due) ?? null,
    created: query.created === 'today' ? 'today' : null,
    q: text(query.q),
    sort,
    dir: oneOf(['asc', 'desc'] as const, query.dir) ?? defaultDirection(sort),
    page: Math.min(positiveInt(query.page) ?? 1, maxPage),
  };
}

// Urgency ranks work still to do; over finished cases the newest activity is what people look for
// (and it is what an index can serve on deep pages of a million closed cases).
export function defaultSort(kind: OverviewFilter['kind']): SortKey {
  return kind === 'closed' || kind === 'all' ? 'activity' : 'urgency';
}

export function defaultDirection(sort: SortKey): 'asc' | 'desc' {
  return sort === 'activity' || sort === 'number' ? 'desc' : 'asc';
}

// The canonical query string of a filter: only what differs from the defaults, in a fixed order.
export function filterToQuery(filter: OverviewFilter, overrides: Partial<OverviewFilter> = {}): string {
  const f = { ...filter, ...overrides };
  const params = new URLSearchParams();
  if (f.resp !== 'me') params.set('resp', String(f.resp));
  if (f.kind !== 'unfinished') params.set('kind', f.kind);
  if (f.status) params.set('status', String(f.status));
  if (f.type) params.set('type', String(f.type));
  if (f.prio) params.set('prio', String(f.prio));
  if (f.customer) params.set('customer', f.customer);
  if (f.due) params.set('due', f.due);
  if (f.created) params.set('created', f.created);
  if (f.q) params.set('q', f.q);
  if (f.sort !== defaultSort(f.kind)) params.set('sort', f.sort);
  if (f.dir !== defaultDirection(f.sort)) params.set('dir', f.dir);
  if (f.page > 1) params.set('page', String(f.page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

// Words of a free-text search as a prefix-matching tsquery ("skriv fast" → skriv:* & fast:*).
export function toTsQuery(q: string): string | null {
  const words = q
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 8);
  return words.length ? words.map((w) => `${w}:*`).join(' & ') : null;
}

const caseNumberLike = /^\d{2,4}(-\d*)?$/;

// "Today" in the configured time zone: the date, and the instant it began.
export type Day = { today: string; timeZone: string };
const startOfDay = (day: Day) => sql<Date>`(${day.today}::date::timestamp at time zone ${day.timeZone})`;

// Every table the overview may filter or sort on. All are left joins on unique keys, so
// PostgreSQL drops the ones a query does not use.
function overviewBase(db: Db) {
  return db
    .selectFrom('cases as c')
    .leftJoin('case_statuses as s', 's.id', 'c.status_id')
    .leftJoin('priorities as p', 'p.id', 'c.priority_id')
    .leftJoin('customers as cu', 'cu.id', 'c.customer_id');
}
type OverviewBase = ReturnType<typeof overviewBase>;

function applyFilter(query: OverviewBase, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day): OverviewBase {
  const today = day.today;
  let q = query;
  if (filter.resp === 'me') q = q.where('c.responsible_id', '=', user.id);
  else if (filter.resp === 'unassigned') q = q.where('c.responsible_id', 'is', null);
  else if (typeof filter.resp === 'number') q = q.where('c.responsible_id', '=', filter.resp);

  if (filter.status) q = q.where('c.status_id', '=', filter.status);
  else if (filter.kind === 'unfinished') q = q.where('c.status_kind', '<>', 'closed');
  else if (filter.kind !== 'all') q = q.where('c.status_kind', '=', filter.kind);

  if (filter.type) q = q.where('c.case_type_id', '=', filter.type);
  if (filter.prio) q = q.where('c.priority_id', '=', filter.prio);
  if (filter.customer) q = q.where('cu.number', '=', filter.customer);
  if (filter.due === 'overdue') q = q.where('c.due_date', '<', today);
  if (filter.due === 'week') {
    q = q.where('c.due_date', '>=', today).where('c.due_date', '<', sql<string>`${today}::date + 7`);
  }
  if (filter.created === 'today') q = q.where('c.created_at', '>=', startOfDay(day));

  if (filter.q) {
    const tsquery = toTsQuery(filter.q);
    const text = filter.q;
    q = q.where((eb) =>
      eb.or([
        ...(caseNumberLike.test(text) ? [eb('c.number', 'like', `${text}%`)] : []),
        ...(tsquery ? [eb(sql`c.search_vector`, '@@', sql`to_tsquery('swedish', ${tsquery})`)] : []),
      ]),
    );
  }
  return q;
}

function applyOrder<Q extends OverviewBase>(query: Q, filter: OverviewFilter, day: Day): Q {
  const dir = filter.dir;
  const nulls = sql.raw(dir === 'asc' ? 'nulls last' : 'nulls first');
  let q: OverviewBase = query;
  switch (filter.sort) {
    case 'urgency':
      // Most urgent first: overdue, then priority, then the newest activity.
      q = q
        .orderBy(sql`(c.due_date is not null and c.due_date < ${day.today}::date)`, 'desc')
        .orderBy(sql`c.priority_rank asc nulls last`)
        .orderBy('c.last_activity_at', 'desc');
      break;
    case 'number':
      q = q.orderBy('c.number', dir);
      break;
    case 'title':
      q = q.orderBy(sql`lower(c.title)`, dir);
      break;
    case 'customer':
      q = q.orderBy(sql`lower(cu.name) ${sql.raw(dir)} ${nulls}`);
      break;
    case 'status':
      q = q.orderBy('s.position', dir);
      break;
    case 'priority':
      q = q.orderBy(sql`c.priority_rank ${sql.raw(dir)} ${nulls}`);
      break;
    case 'due':
      q = q.orderBy(sql`c.due_date ${sql.raw(dir)} ${nulls}`);
      break;
    case 'activity':
      q = q.orderBy('c.last_activity_at', dir);
      break;
  }
  return q.orderBy('c.id', 'desc') as Q;
}

// A deferred join: the page of ids is found first, touching only what filters and sorting
// need (deep pages skip ids, not joined rows), then only those rows get their names.
export function buildOverviewQuery(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day) {
  const filtered = () => applyFilter(overviewBase(db), filter, user, day);
  // One row more than a page tells whether a next page exists, without counting every match.
  const limit = pageSize + 1;
  const offset = (filter.page - 1) * pageSize;
  let pageOfIds = applyOrder(filtered(), filter, day).select('c.id').limit(limit).offset(offset);
  if (filter.sort === 'urgency') {
    // "Overdue first" depends on today, so no index can hold that order. Overdue and other cases
    // are each read in index order (rank, activity) up to the page's end and only those few are
    // sorted: the first page of 100,000 open cases reads about a hundred index entries.
    const topByRank = (q: OverviewBase) =>
      q
        .orderBy(sql`c.priority_rank asc nulls last`)
        .orderBy('c.last_activity_at', 'desc')
        .orderBy('c.id', 'desc')
        .select('c.id')
        .limit(offset + limit);
    const overdue = topByRank(filtered().where('c.due_date', '<', day.today));
    const rest = topByRank(
      filtered().where((eb) => eb.or([eb('c.due_date', 'is', null), eb('c.due_date', '>=', day.today)])),
    );
    pageOfIds = pageOfIds.where('c.id', 'in', sql<number>`(${overdue} union all ${rest})`);
  }
  return applyOrder(overviewRows(db).where('c.id', 'in', pageOfIds), filter, day);
}

// The columns of an overview row, with every name the row shows. Single names are scalar
// subqueries rather than joins: past eight joined relations (join_collapse_limit) PostgreSQL
// stops reordering joins and would join every case to every name before picking the page's
// rows. The work order (O5) is read only here, in the outer select: no filter or sort needs it.
function overviewRows(db: Db) {
  return overviewBase(db)
    .leftJoin('users as r', 'r.id', 'c.responsible_id')
    .select([
      'c.id',
      'c.number',
      'c.title',
      'c.version',
      'c.status_id',
      'c.case_type_id',
      'c.priority_id',
      'c.responsible_id',
      'c.due_date',
      'c.last_activity_at',
      'c.status_kind',
      'c.triage_reason',
      's.name as status_name',
      (eb) => eb.selectFrom('case_types as t').select('t.name').whereRef('t.id', '=', 'c.case_type_id').as('type_name'),
      'p.name as priority_name',
      'cu.name as customer_name',
      'cu.number as customer_number',
      sql<string | null>`coalesce((select ct.name from contacts ct where ct.id = c.contact_id), c.contact_name)`.as(
        'contact_name',
      ),
      'r.name as responsible_name',
      'r.initials as responsible_initials',
      (eb) =>
        eb
          .selectFrom('work_orders as wo')
          .select('wo.number')
          .whereRef('wo.id', '=', 'c.work_order_id')
          .as('work_order_number'),
    ]);
}

export type OverviewRow = Awaited<ReturnType<ReturnType<typeof buildOverviewQuery>['execute']>>[number];

export async function listOverview(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day) {
  const rows = await buildOverviewQuery(db, filter, user, day).execute();
  return { rows: rows.slice(0, pageSize), hasMore: rows.length > pageSize };
}

export async function findOverviewRow(db: Db, caseId: number) {
  return overviewRows(db).where('c.id', '=', caseId).executeTakeFirst();
}

// The statistic tiles: each is a count and the filter that shows what it counts.
export type TileKey = 'mine' | 'unassigned' | 'overdue' | 'waiting' | 'new_today';
export const tileFilters: Record<TileKey, Partial<OverviewFilter>> = {
  mine: { resp: 'me', kind: 'unfinished' },
  unassigned: { resp: 'unassigned', kind: 'unfinished' },
  overdue: { resp: 'any', kind: 'unfinished', due: 'overdue' },
  waiting: { resp: 'any', kind: 'waiting' },
  new_today: { resp: 'any', kind: 'all', created: 'today' },
};

// my_approvals is no case filter: it counts the approvals waiting for the user and links to /approvals.
// Counted on every overview load, with no cache: each number is exact right after any change,
// made here or on another instance.
export async function countTiles(
  db: Db,
  user: Pick<User, 'id'>,
  day: Day,
): Promise<Record<TileKey, number> & { my_approvals: number }> {
  const [counts, myApprovals] = await Promise.all([countCaseTiles(db, user, day), countMyApprovals(db, user.id)]);
  return { ...counts, my_approvals: myApprovals };
}

// The case tiles from the counters the trigger cases_count_tiles keeps (src/cases/tile-counts.ts):
// a few rows each, as many at 1,000 unfinished cases as at 1,000,000. Overdue sums the counts of
// the due dates before today, so it rolls over at midnight by itself. New today counts the cases
// created since midnight on the created_at index: it grows with today's cases only.
export async function countCaseTiles(db: Db, user: Pick<User, 'id'>, day: Day): Promise<Record<TileKey, number>> {
  const tally = (where: RawBuilder<unknown>) =>
    sql<number>`(select coalesce(sum(n), 0)::integer from case_tile_counts where ${where})`;
  const { rows } = await sql<Record<TileKey, number>>`select
      ${tally(sql`tally = 'responsible' and responsible_id = ${user.id}`)} as mine,
      ${tally(sql`tally = 'responsible' and responsible_id is null`)} as unassigned,
      ${tally(sql`tally = 'due' and responsible_id is null and due_date < ${day.today}::date`)} as overdue,
      ${tally(sql`tally = 'waiting'`)} as waiting,
      (select count(*)::integer from cases where created_at >= ${startOfDay(day)}) as new_today`.execute(db);
  const counts = rows[0];
  if (!counts) throw new Error('the tile counts returned no row');
  return counts;
}

// The overview URL a tile links to.
export function tileQuery(key: TileKey): string {
  const f = { ...defaultFilter, ...tileFilters[key] };
  const sort = defaultSort(f.kind);
  return filterToQuery({ ...f, sort, dir: defaultDirection(sort) });
}

// Which tile, if any, shows exactly this filter (page and sort aside).
export function activeTile(filter: OverviewFilter): TileKey | null {
  const base = filterToQuery({
    ...filter,
    page: 1,
    sort: defaultSort(filter.kind),
    dir: defaultDirection(defaultSort(filter.kind)),
  });
  const match = (Object.keys(tileFilters) as TileKey[]).find((key) => tileQuery(key) === base);
  return match ?? null;
}

export async function listSavedViews(db: Db, userId: number) {
  return db
    .selectFrom('saved_views')
    .select(['id', 'name', 'query'])
    .where('user_id', '=', userId)
    .orderBy('name')
    .execute();
}

export async function saveView(db: Db, userId: number, name: string, query: string): Promise<void> {
  await db
    .insertInto('saved_views')
    .values({ user_id: userId, name, query })
    .onConflict((oc) => oc.columns(['user_id', 'name']).doUpdateSet({ query }))
    .execute();
}

export async function deleteSavedView(db: Db, userId: number, id: number): Promise<void> {
  await db.deleteFrom('saved_views').where('id', '=', id).where('user_id', '=', userId).execute();
}
