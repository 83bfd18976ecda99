import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { myApprovalsCount } from '../approvals/queries.ts';
import { cachedRead, deepFreeze } from '../db/cached.ts';
import { type Db, prepared } from '../db/database.ts';
import type { StatusKind, User } from '../db/schema.ts';
import { parseId, queryText } from '../forms/form.ts';
import { unreadCount } from '../notifications/notifications.ts';

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
  // service levels: past the warning point (amber and red), or past the deadline (red)
  sla: 'at_risk' | 'breached' | null;
  created: 'today' | null;
  // the cases created, or closed, on these days in the configured zone (a report's bar, src/reports)
  dayRange?: DayRange | null;
  q: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
  page: number;
};

export type DayRange = { on: 'created' | 'closed'; from: string; to: string };

// created_in=2026-03-02..2026-03-08 (or closed_in=): two real days in order, else no range.
function parseDayRange(query: Record<string, unknown>): DayRange | null {
  for (const on of ['created', 'closed'] as const) {
    const value = query[`${on}_in`];
    if (typeof value !== 'string') continue;
    const match = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(value);
    if (!match) return null;
    const [, from = '', to = ''] = match;
    const real = (d: string) => new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) === d;
    try {
      return real(from) && real(to) && from <= to ? { on, from, to } : null;
    } catch {
      return null;
    }
  }
  return null;
}

export const sortKeys = [
  'relevance',
  'urgency',
  'number',
  'title',
  'customer',
  'status',
  'priority',
  'due',
  'sla',
  'activity',
] as const;
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
  sla: null,
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
    [
      'resp',
      'kind',
      'status',
      'type',
      'prio',
      'customer',
      'due',
      'sla',
      'created',
      'created_in',
      'closed_in',
      'q',
      'sort',
      'dir',
      'page',
    ].map((key) => [key, queryText]),
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
  const q = text(query.q);
  const chosen = oneOf(sortKeys, query.sort);
  // relevance means nothing without search words
  const sort = chosen && (chosen !== 'relevance' || q) ? chosen : defaultSort(kind, q);
  const dayRange = parseDayRange(query);
  return {
    ...(dayRange ? { dayRange } : {}),
    resp,
    kind,
    status: positiveInt(query.status),
    type: positiveInt(query.type),
    prio: positiveInt(query.prio),
    customer: text(query.customer),
    due: oneOf(['overdue', 'week'] as const, query.due) ?? null,
    sla: oneOf(['at_risk', 'breached'] as const, query.sla) ?? null,
    created: query.created === 'today' ? 'today' : null,
    q,
    sort,
    dir: oneOf(['asc', 'desc'] as const, query.dir) ?? defaultDirection(sort),
    page: Math.min(positiveInt(query.page) ?? 1, maxPage),
  };
}

// Urgency ranks work still to do; over finished cases the newest activity is what people look for
// (and it is what an index can serve on deep pages of a million closed cases). A search shows its
// best hits first.
export function defaultSort(kind: OverviewFilter['kind'], q = ''): SortKey {
  if (q) return 'relevance';
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
  if (f.sla) params.set('sla', f.sla);
  if (f.created) params.set('created', f.created);
  if (f.dayRange) params.set(`${f.dayRange.on}_in`, `${f.dayRange.from}..${f.dayRange.to}`);
  if (f.q) params.set('q', f.q);
  if (f.sort !== defaultSort(f.kind, f.q)) params.set('sort', f.sort);
  if (f.dir !== defaultDirection(f.sort)) params.set('dir', f.dir);
  if (f.page > 1) params.set('page', String(f.page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

// A free-text search as tsquery texts, one per typed word, all of which must match. A typed word
// may hold several parts ("fatima@kanelbullen.se", "2026-00019"); they must all match, and the
// last part of the last word matches as a prefix, so results follow the typing.
export function searchWordQueries(q: string): string[] {
  const words = q
    .toLowerCase()
    .split(/\s+/u)
    .map((word) => word.split(/[^\p{L}\p{N}]+/u).filter((part) => part.length > 0))
    .filter((parts) => parts.length > 0)
    .slice(0, 8);
  return words.map((parts, i) =>
    parts
      .map((part, j) => {
        const prefix = i === words.length - 1 && j === parts.length - 1 ? ':*' : '';
        const singular = withoutPluralEnding(part);
        return singular ? `(${part}${prefix} | ${singular}${prefix})` : `${part}${prefix}`;
      })
      .join(' & '),
  );
}

// The Swedish stemmer does not bring every plural to its singular's stem ("leveranser" → leverans,
// "leverans" → leveran; "licenser" → licens, "licens" → lic), so a plural is also looked for as
// its singular. Only the plural endings, and only where a word of four letters remains.
const pluralEnding = /^(\p{L}{4,}?)(erna|arna|orna|er|ar|or)$/u;
function withoutPluralEnding(word: string): string | null {
  return pluralEnding.exec(word)?.[1] ?? null;
}

const caseNumberLike = /^\d{2,4}(-\d*)?$/;

// Where a search looks: a typed case number only ('number'), or also the title, number, customer
// and contact ('head'), or also the thread ('all'). 'rest' finds what 'all' finds beyond the title
// hits, and maybe some of those (relevancePage).
type SearchScope = 'number' | 'head' | 'all' | 'rest';

// Where one search word is looked for: the case's title, number and contact, its customer's and
// contact's names and addresses, and, unless only those count, the thread (search_vector). All of
// them with accents ignored (the casedesk_search configuration). Customers and contacts are found
// first through their own small indexes; the cases then by customer_id and contact_id, each an
// index the planner can combine with the others in one bitmap.
function searchWordCondition(tsquery: string, scope: 'head' | 'all' | 'thread') {
  const head = sql`to_tsquery('casedesk_search', ${tsquery})`;
  return sql<boolean>`(numnode(${head}) = 0
    ${scope === 'thread' ? sql`` : sql`or case_search_head(c.number, c.title, c.contact_name, c.contact_email) @@ ${head}`}
    or c.customer_id = any(array(select cs.id from customers cs
         where customer_search_document(cs.number, cs.name, cs.email_domains) @@ ${head}))
    or c.contact_id = any(array(select ct.id from contacts ct where contact_search_document(ct.name, ct.email) @@ ${head}))
    ${scope === 'head' ? sql`` : sql`or c.search_vector @@ ${head}`})`;
}

// A whole case number as typed ("2026-00019"), or a number's serial without its leading zeros
// ("19" and "00019" find 2026-00019, and 2025-00019): each an index lookup
// (migration 20261204_0700: cases_number_serial).
export function numberCondition(text: string): RawBuilder<boolean> | null {
  const typed = text.trim();
  if (!/^[\p{L}\p{N}]*\p{N}[\p{L}\p{N}/-]*$/u.test(typed) || typed.length > 40) return null;
  const serial = /^\d{1,12}$/.test(typed) ? typed.replace(/^0+/, '') : '';
  const whole = sql<boolean>`c.number = any(${[...new Set([typed, typed.toUpperCase()])]}::text[])`;
  return serial ? sql<boolean>`(${whole} or case_number_serial(c.number) = ${serial})` : whole;
}

// The case numbers that begin with what was typed ("2026-0001"), as the range of the number index
// (text_pattern_ops, compared byte by byte) that LIKE '2026-0001%' would use. Unlike LIKE it is
// exact in the index, so a search need not test it again on every row it reads.
function numberPrefix(typed: string): RawBuilder<boolean> {
  const next = typed.slice(0, -1) + String.fromCharCode(typed.charCodeAt(typed.length - 1) + 1);
  return sql<boolean>`(c.number ~>=~ ${typed} and c.number ~<~ ${next})`;
}

// A case matches a search when it is the typed number, or every word is found somewhere in it
// (scope 'all'); it is a "title hit" when every word is found in its title, number, customer or
// contact ('head'), a "number hit" when it is the number typed ('number').
function searchCondition(text: string, scope: SearchScope): RawBuilder<boolean> {
  const number = numberCondition(text);
  if (scope === 'number') return number ?? sql<boolean>`false`;
  const queries = searchWordQueries(text);
  // One word needs no title document beyond the title hits: the search vector has the title and
  // names too, and what only the title document has (address and number parts) is a title hit.
  // With more words, one may be in the address and another only in the thread.
  const wordScope = scope === 'rest' ? (queries.length === 1 ? 'thread' : 'all') : scope;
  const words = queries.map((w) => searchWordCondition(w, wordScope));
  const allWords = words.length ? sql<boolean>`${sql.join(words, sql` and `)}` : sql<boolean>`false`;
  const found = caseNumberLike.test(text) ? sql<boolean>`(${numberPrefix(text)} or ${allWords})` : allWords;
  return number ? sql<boolean>`(${number} or ${found})` : found;
}

// "Today" in the configured time zone: the date, and the instant it began.
export type Day = { today: string; timeZone: string };
const startOfDay = (day: Day) => sql<Date>`(${day.today}::date::timestamp at time zone ${day.timeZone})`;

// The case with every table a row shows a name from. Left joins on unique keys.
function overviewBase(db: Db) {
  return db
    .selectFrom('cases as c')
    .leftJoin('case_statuses as s', 's.id', 'c.status_id')
    .leftJoin('priorities as p', 'p.id', 'c.priority_id')
    .leftJoin('customers as cu', 'cu.id', 'c.customer_id');
}
type OverviewBase = ReturnType<typeof overviewBase>;

// What the filters and the page of ids read: the case, joined only to what the sort needs
// (applyOrder: the customer's name, the status's position). PostgreSQL drops an unused left join,
// but only after it has made the plan fetch each case's row for the join column, so "my open
// cases" could not be read from the index alone (1,019 buffers at 1M cases; 562 without). Typed as
// the full join so the filters type-check; nothing else here names s or cu.
function filterBase(db: Db, sort: SortKey): OverviewBase {
  const cases = db.selectFrom('cases as c');
  if (sort === 'customer')
    return cases.leftJoin('customers as cu', 'cu.id', 'c.customer_id') as unknown as OverviewBase;
  if (sort === 'status') return cases.leftJoin('case_statuses as s', 's.id', 'c.status_id') as unknown as OverviewBase;
  return cases as unknown as OverviewBase;
}

function applyFilter(
  query: OverviewBase,
  filter: OverviewFilter,
  user: Pick<User, 'id'>,
  day: Day,
  searchScope: SearchScope = 'all',
): OverviewBase {
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
  if (filter.customer) {
    const customer = filter.customer;
    q = q.where('c.customer_id', '=', (eb) =>
      eb.selectFrom('customers').select('customers.id').where('customers.number', '=', customer),
    );
  }
  if (filter.due === 'overdue') q = q.where('c.due_date', '<', today);
  if (filter.due === 'week') {
    q = q.where('c.due_date', '>=', today).where('c.due_date', '<', sql<string>`${today}::date + 7`);
  }
  if (filter.created === 'today') q = q.where('c.created_at', '>=', startOfDay(day));
  if (filter.dayRange) {
    const { on, from, to } = filter.dayRange;
    const column = on === 'created' ? 'c.created_at' : 'c.closed_at';
    q = q
      .where(column, '>=', sql<Date>`(${from}::date::timestamp at time zone ${day.timeZone})`)
      .where(column, '<', sql<Date>`((${to}::date + 1)::timestamp at time zone ${day.timeZone})`);
  }
  // on the partial indexes cases_sla_warn / cases_sla_due; a finished case has no running deadline
  if (filter.sla === 'at_risk') q = q.where('c.sla_warn_at', '<=', new Date());
  if (filter.sla === 'breached') q = q.where('c.sla_due_at', '<=', new Date());

  if (filter.q) q = q.where(searchCondition(filter.q, searchScope));
  return q;
}

function applyOrder<Q extends OverviewBase>(query: Q, filter: OverviewFilter, day: Day): Q {
  const dir = filter.dir;
  const nulls = sql.raw(dir === 'asc' ? 'nulls last' : 'nulls first');
  let q: OverviewBase = query;
  switch (filter.sort) {
    case 'relevance':
      // title hits first: relevancePage ranks them; among equals the newest activity
      q = q.orderBy('c.last_activity_at', 'desc');
      break;
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
    case 'sla':
      // cases without a running deadline last either way: "latest deadline first" still means
      // among the cases that have one
      q = q.orderBy(sql`c.sla_due_at ${sql.raw(dir)} nulls last`);
      break;
    case 'activity':
      q = q.orderBy('c.last_activity_at', dir);
      break;
  }
  // Ties: newest case first; a column sorted descending is the ascending list reversed, ties too,
  // so one index in (column, id desc) order serves both directions (migration 20261204_1710).
  const reversed = dir === 'desc' && (filter.sort === 'title' || filter.sort === 'priority' || filter.sort === 'due');
  return q.orderBy('c.id', reversed ? 'asc' : 'desc') as Q;
}

// The cases a filter matches, with the overview's filters and search, unordered: for the REST
// API's list (src/api/), which pages by keyset over them.
export function filteredCases(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day) {
  return applyFilter(filterBase(db, 'activity'), filter, user, day);
}

// A deferred join: the page of ids is found first, touching only what filters and sorting
// need (deep pages skip ids, not joined rows), then only those rows get their names.
export function buildOverviewQuery(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day) {
  const filtered = () => applyFilter(filterBase(db, filter.sort), filter, user, day);
  // One row more than a page tells whether a next page exists, without counting every match.
  const limit = pageSize + 1;
  const offset = (filter.page - 1) * pageSize;
  const pageOfIds = applyOrder(filtered(), filter, day).select('c.id').limit(limit).offset(offset);
  if (filter.sort === 'urgency') {
    // "Overdue first" depends on today, so no index can hold that order. Overdue and other cases
    // are each read in index order (rank, activity) up to the page's end and only those few are
    // sorted: the first page of 100,000 open cases reads about a hundred index entries. The two
    // parts bring their sort columns along, so the page is cut from them without reading those
    // cases again.
    const topByRank = (q: OverviewBase, overdue: boolean) =>
      q
        .orderBy(sql`c.priority_rank asc nulls last`)
        .orderBy('c.last_activity_at', 'desc')
        .orderBy('c.id', 'desc')
        .select(['c.id', sql<boolean>`${sql.lit(overdue)}`.as('overdue'), 'c.priority_rank', 'c.last_activity_at'])
        .limit(offset + limit);
    const overdue = topByRank(filtered().where('c.due_date', '<', day.today), true);
    const rest = topByRank(
      filtered().where((eb) => eb.or([eb('c.due_date', 'is', null), eb('c.due_date', '>=', day.today)])),
      false,
    );
    const both = sql<{
      id: number;
      overdue: boolean;
      priority_rank: number | null;
      last_activity_at: Date;
    }>`(${overdue} union all ${rest})`;
    const page = db
      .selectFrom(both.as('u'))
      .select('u.id')
      .orderBy('u.overdue', 'desc')
      .orderBy(sql`u.priority_rank asc nulls last`)
      .orderBy('u.last_activity_at', 'desc')
      .orderBy('u.id', 'desc')
      .limit(limit)
      .offset(offset);
    return applyOrder(overviewRows(db).where('c.id', 'in', page), filter, day);
  }
  // A walk's step (sorting by status or customer below): the filter's newest cases meeting
  // `condition` (one status, one customer), up to the page's end.
  const newestWhere = (condition: RawBuilder<boolean>) =>
    applyFilter(filterBase(db, 'number'), filter, user, day)
      .where(condition)
      .select('c.id')
      .orderBy('c.id', 'desc')
      .limit(offset + limit);
  if (filter.sort === 'status' && (filter.resp === 'any' || filter.kind === 'all' || filter.kind === 'closed')) {
    // By the status's place in the list, over many cases: the statuses the filter allows are
    // walked in that order, each giving its newest cases up to the page's end (index
    // cases_status_order), instead of every case being joined to its status and sorted (a second
    // at a million cases). One agent's unfinished cases are few enough to sort, and walking the
    // statuses would read everyone's to find theirs.
    let statuses = db.selectFrom('case_statuses as st');
    if (filter.status) statuses = statuses.where('st.id', '=', filter.status);
    else if (filter.kind === 'unfinished') statuses = statuses.where('st.kind', '<>', 'closed');
    else if (filter.kind !== 'all') statuses = statuses.where('st.kind', '=', filter.kind);
    const page = statuses
      .innerJoinLateral(
        () => newestWhere(sql<boolean>`c.status_id = st.id`).as('x'),
        (join) => join.onTrue(),
      )
      .select('x.id')
      .orderBy('st.position', filter.dir)
      .orderBy('x.id', 'desc')
      .limit(limit)
      .offset(offset);
    return applyOrder(overviewRows(db).where('c.id', 'in', page), filter, day);
  }
  if (
    filter.sort === 'customer' &&
    !filter.customer &&
    (filter.resp === 'any' || filter.kind === 'all' || filter.kind === 'closed')
  ) {
    // By the customer's name, over many cases: the customers are walked in name order (index
    // customers_name_order), each giving its newest cases, and the cases without a customer (last
    // going up, first going down) are read apart, each part only to the page's end, instead of
    // every case being joined to its customer and sorted (1.3 s at a million cases). One customer's
    // cases, or one agent's unfinished ones, are few enough to sort.
    const wanted = offset + limit;
    const named = db
      .selectFrom('customers as cu')
      .innerJoinLateral(
        () => newestWhere(sql<boolean>`c.customer_id = cu.id`).as('x'),
        (join) => join.onTrue(),
      )
      .select(['x.id', sql<string | null>`lower(cu.name)`.as('name')])
      .orderBy(sql`lower(cu.name)`, filter.dir)
      .orderBy('x.id', 'desc')
      .limit(wanted);
    const unnamed = newestWhere(sql<boolean>`c.customer_id is null`).select(sql<string | null>`null::text`.as('name'));
    const both = sql<{ id: number; name: string | null }>`((${named}) union all (${unnamed}))`;
    const page = db
      .selectFrom(both.as('u'))
      .select('u.id')
      .orderBy(sql`u.name ${sql.raw(filter.dir)} ${sql.raw(filter.dir === 'asc' ? 'nulls last' : 'nulls first')}`)
      .orderBy('u.id', 'desc')
      .limit(limit)
      .offset(offset);
    return applyOrder(overviewRows(db).where('c.id', 'in', page), filter, day);
  }
  if (filter.sort === 'relevance') {
    const hits = relevancePage(db, filter, user, day, offset, limit);
    return overviewRows(db)
      .innerJoin(hits.as('hit'), 'hit.id', 'c.id')
      .orderBy('hit.rank')
      .orderBy('c.last_activity_at', 'desc')
      .orderBy('c.id', 'desc');
  }
  return applyOrder(overviewRows(db).where('c.id', 'in', pageOfIds), filter, day);
}

// A search's page of ids with their rank: 0 for the case number typed, 1 when every word is in the
// title, number, customer or contact, 2 when some word is only in the thread. Number, title and all
// hits are each read newest first up to the page's end, so a word in ten thousand threads costs a
// page of rows, not a sort of ten thousand; the rank comes along, so no row's words are looked at
// twice.
function relevancePage(
  db: Db,
  filter: OverviewFilter,
  user: Pick<User, 'id'>,
  day: Day,
  offset: number,
  limit: number,
) {
  const wanted = offset + limit;
  const hits = (scope: SearchScope, rank: number, window?: RawBuilder<boolean>) => {
    const q = applyFilter(filterBase(db, filter.sort), filter, user, day, scope);
    return (
      (window ? q.where(window) : q)
        .select(['c.id', 'c.last_activity_at', sql<number>`${sql.lit(rank)}`.as('rank')])
        // Not in index order on purpose: PostgreSQL guesses a prefix it has no statistics for
        // ("qqq:*", "00019:*") in one case of two hundred, and would walk the activity index
        // through all million cases, building each one's title document, to find four (over a
        // minute at 1M cases). Found through the search indexes and then sorted, a word costs
        // what it matches in the window (below).
        .orderBy(sql`c.last_activity_at + interval '0 seconds'`, 'desc')
        .orderBy('c.id', 'desc')
        .limit(wanted)
    );
  };
  // A common word is in tens of thousands of the million cases: finding all of them and sorting
  // them by activity took a second. Over finished cases too, the newest are looked for first, in
  // windows of activity (the last 3 days, then 30, then the rest), each the search indexes
  // combined with the activity index, so only the window's matches are read from the table. The
  // windows come one after the other, newest first, each sorted; the limit stops the append once
  // it has a page, so a common word never reads an older window, and a rare one reads all three
  // (cheap, as it matches little). At a million cases over three years the first two windows
  // hold 3% of them: a word that needs the third is in fewer than 2,000 cases. Runs without
  // parallel workers (src/db/database.ts), so the append reads its parts in this order. The
  // unfinished cases are a few percent of all, with search indexes of their own: a window would
  // only add a read of the activity index.
  const manyCases = filter.status !== null || filter.kind === 'all' || filter.kind === 'closed';
  const windowed = (scope: 'head' | 'rest', rank: number) => {
    if (!manyCases) return sql`(${hits(scope, rank)})`;
    const at = sql.ref('c.last_activity_at');
    const days = (n: number) => sql`now() - ${sql.lit(`${n} days`)}::interval`;
    const parts = [
      hits(scope, rank, sql<boolean>`${at} >= ${days(3)}`),
      hits(scope, rank, sql<boolean>`${at} < ${days(3)} and ${at} >= ${days(30)}`),
      hits(scope, rank, sql<boolean>`${at} < ${days(30)}`),
    ];
    return sql`(select * from (${sql.join(
      parts.map((p) => sql`(${p})`),
      sql` union all `,
    )}) w limit ${sql.lit(wanted)})`;
  };
  const tiers = [
    ...(numberCondition(filter.q) ? [sql`(${hits('number', 0)})`] : []),
    windowed('head', 1),
    // every hit beyond the title hits: the newest of them, with the title hits among them
    // (rank 1 above) at most as many as there are title hits
    windowed('rest', 2),
  ];
  const found = sql<{
    id: number;
    last_activity_at: Date;
    rank: number;
  }>`(${sql.join(tiers, sql` union all `)})`;
  return db
    .selectFrom(found.as('h'))
    .select(['h.id', sql<number>`min(h.rank)`.as('rank')])
    .groupBy(['h.id', 'h.last_activity_at'])
    .orderBy(sql`min(h.rank)`)
    .orderBy('h.last_activity_at', 'desc')
    .orderBy('h.id', 'desc')
    .limit(limit)
    .offset(offset);
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
      'c.sla_policy_id',
      'c.sla_clock',
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

// Every table an overview row or count is read from. Each tells of its changes (migrations
// 20261204_0500_change_notify and 1800_kept_pages_notify_change).
export const overviewRowTables = [
  'cases',
  'customers',
  'contacts',
  'users',
  'case_statuses',
  'case_types',
  'priorities',
  'work_orders',
];
const countTables = ['cases', 'case_tile_counts', 'approval_chains', 'notifications', 'saved_views'];

// The overview's list as listOverview reads it, kept in this process until one of its tables
// changes anywhere (src/db/cached.ts). Exact: a change committed before the request is always
// seen, on every instance. A filter on service-level deadlines also changes by itself when the next
// warning point or deadline passes, so its list is kept only until then. Agents reload their
// overview all day; most loads find nothing changed.
export async function listOverviewKept(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day) {
  const key = `overview:${user.id}:${day.today}:${filterToQuery(filter)}`;
  const now = new Date();
  return cachedRead(
    db,
    key,
    overviewRowTables,
    async () => {
      const [list, passes] = await Promise.all([
        listOverview(db, filter, user, day),
        filter.sla ? nextSlaPassing(db, filter.sla, now) : null,
      ]);
      return deepFreeze({ ...list, until: passes?.getTime() ?? null });
    },
    { exact: true, validUntil: (list) => list.until, room: { name: 'overview', size: 60 } },
  );
}

// When the next running deadline's warning point (at_risk) or the deadline itself (breached)
// passes after `now`: when the list of that filter changes with no write. On the partial indexes.
async function nextSlaPassing(db: Db, sla: 'at_risk' | 'breached', now: Date): Promise<Date | null> {
  const column = sla === 'at_risk' ? 'sla_warn_at' : 'sla_due_at';
  const row = await db
    .selectFrom('cases')
    .select((eb) => eb.fn.min(column).as('next'))
    .where(column, '>', now)
    .executeTakeFirst();
  return (row?.next as Date | null | undefined) ?? null;
}

// A row as an edit sends it back, with the tiles it moved: one statement.
export async function findOverviewRowAndTiles(
  db: Db,
  caseId: number,
  user: Pick<User, 'id'>,
  day: Day,
): Promise<{ row: OverviewRow | undefined; tiles: Tiles }> {
  // Two statements, not one: the row by id is planned once per connection and then run from its
  // generic plan, while the tiles (their day and SLA bounds change) are planned at every run. As one
  // statement the whole row was planned again at every quick edit, which took PostgreSQL longer
  // than running it (issue 16: 1.4 ms of the edit's 5 ms in the database).
  const [rows, counts] = await Promise.all([
    sql<OverviewRow>`${prepared}${overviewRows(db).where('c.id', '=', caseId)}`.execute(db),
    loadOverviewCounts(db, user, day),
  ]);
  return { row: rows.rows[0], tiles: counts.tiles };
}

// The statistic tiles: each is a count and the filter that shows what it counts.
export type TileKey = 'mine' | 'unassigned' | 'overdue' | 'waiting' | 'new_today' | 'sla_at_risk';
export const tileFilters: Record<TileKey, Partial<OverviewFilter>> = {
  mine: { resp: 'me', kind: 'unfinished' },
  unassigned: { resp: 'unassigned', kind: 'unfinished' },
  overdue: { resp: 'any', kind: 'unfinished', due: 'overdue' },
  waiting: { resp: 'any', kind: 'waiting' },
  new_today: { resp: 'any', kind: 'all', created: 'today' },
  sla_at_risk: { resp: 'any', kind: 'unfinished', sla: 'at_risk' },
};

// The tiles' numbers. my_approvals is no case filter: it counts the approvals waiting for the
// user and links to /approvals. Counted on every overview load, with no cache: each number is
// exact right after any change, made here or on another instance.
export type Tiles = Record<TileKey, number> & { my_approvals: number };

// Everything the overview counts besides its rows, in one statement: each round trip to the
// database costs more here than the counting itself (the tiles read a few counter rows). With
// `page`, also what the whole page adds around the list: the bell's count and the saved views.
export async function loadOverviewCounts(
  db: Db,
  user: Pick<User, 'id'>,
  day: Day,
  opts: { page?: boolean } = {},
): Promise<{ tiles: Tiles; unread: number; savedViews: SavedView[]; until: number | null }> {
  const now = new Date();
  const { rows } = await sql<
    Tiles & { unread: number | null; saved_views: SavedView[] | null; next_warn_at: Date | null }
  >`select
      ${caseTileColumns(user, day, now)},
      (${myApprovalsCount(db, user.id)})::integer as my_approvals,
      ${opts.page ? sql`(${unreadCount(db, user.id)})::integer` : sql`null`} as unread,
      ${opts.page ? savedViewsJson(user.id) : sql`null`} as saved_views,
      (select min(sla_warn_at) from cases where sla_warn_at > ${now}) as next_warn_at`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('the tile counts returned no row');
  const { unread, saved_views, next_warn_at, ...tiles } = row;
  // "SLA at risk" changes by itself when the next warning point passes
  return { tiles, unread: unread ?? 0, savedViews: saved_views ?? [], until: next_warn_at?.getTime() ?? null };
}

// loadOverviewCounts, kept as listOverviewKept keeps the list: until a table it reads changes
// anywhere, or the next warning point passes. The day is in the key: overdue and new today turn
// over at midnight.
export function loadOverviewCountsKept(db: Db, user: Pick<User, 'id'>, day: Day, opts: { page?: boolean } = {}) {
  return cachedRead(
    db,
    `overview-counts:${user.id}:${day.today}:${opts.page ? 'page' : 'list'}`,
    countTables,
    async () => deepFreeze(await loadOverviewCounts(db, user, day, opts)),
    { exact: true, validUntil: (counts) => counts.until, room: { name: 'overview-counts', size: 200 } },
  );
}

// The case tiles from the counters the trigger cases_count_tiles keeps (src/cases/tile-counts.ts):
// a few rows each, as many at 1,000 unfinished cases as at 1,000,000. Overdue sums the counts of
// the due dates before today, so it rolls over at midnight by itself. New today counts the cases
// created since midnight on the created_at index: it grows with today's cases only.
function caseTileColumns(user: Pick<User, 'id'>, day: Day, now = new Date()): RawBuilder<unknown> {
  const tally = (where: RawBuilder<unknown>) =>
    sql<number>`(select coalesce(sum(n), 0)::integer from case_tile_counts where ${where})`;
  return sql`${tally(sql`tally = 'responsible' and responsible_id = ${user.id}`)} as mine,
      ${tally(sql`tally = 'responsible' and responsible_id is null`)} as unassigned,
      ${tally(sql`tally = 'due' and responsible_id is null and due_date < ${day.today}::date`)} as overdue,
      ${tally(sql`tally = 'waiting'`)} as waiting,
      (select count(*)::integer from cases where created_at >= ${startOfDay(day)}) as new_today,
      (select count(*)::integer from (select 1 from cases where sla_warn_at <= ${now}
        limit ${slaAtRiskShownUpTo}) at_risk) as sla_at_risk`;
}

// The "SLA at risk" tile counts on the index cases_sla_warn up to this many and then shows "999+",
// so its cost stays bounded however many deadlines pass at once.
export const slaAtRiskShownUpTo = 1000;

export async function countCaseTiles(db: Db, user: Pick<User, 'id'>, day: Day): Promise<Record<TileKey, number>> {
  const { rows } = await sql<Record<TileKey, number>>`select ${caseTileColumns(user, day)}`.execute(db);
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

export type SavedView = { id: number; name: string; query: string };

// A user's saved views, by name, as one JSON value (folded into the overview's counts).
function savedViewsJson(userId: number): RawBuilder<SavedView[]> {
  return sql`(select coalesce(json_agg(json_build_object('id', v.id, 'name', v.name, 'query', v.query)
      order by v.name), '[]'::json) from saved_views v where v.user_id = ${userId})`;
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
