import { sql } from 'kysely';
import { type Day, filteredCases, filterToQuery, type OverviewFilter, overviewRowTables } from '../cases/overview.ts';
import { cachedRead } from '../db/cached.ts';
import { type Db, preparedAtEnd } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { type ApiCase, caseListSchema } from './schemas.ts';

// The REST API's reads (issue 19). A case as the API shows it: its fields with the names of what
// they point to, one statement for a page of them.

function apiCaseRows(db: Db) {
  return db
    .selectFrom('cases as c')
    .innerJoin('case_statuses as s', 's.id', 'c.status_id')
    .innerJoin('case_types as t', 't.id', 'c.case_type_id')
    .leftJoin('priorities as p', 'p.id', 'c.priority_id')
    .leftJoin('users as r', 'r.id', 'c.responsible_id')
    .leftJoin('customers as cu', 'cu.id', 'c.customer_id')
    .select([
      'c.id',
      'c.number',
      'c.title',
      'c.status_id',
      's.name as status_name',
      'c.status_kind',
      'c.case_type_id',
      't.name as case_type_name',
      'c.priority_id',
      'p.name as priority_name',
      'c.responsible_id',
      'r.name as responsible_name',
      'c.customer_id',
      'cu.number as customer_number',
      'cu.name as customer_name',
      'c.contact_id',
      sql<string | null>`coalesce((select ct.name from contacts ct where ct.id = c.contact_id), c.contact_name)`.as(
        'contact_name',
      ),
      sql<string | null>`coalesce((select ct.email from contacts ct where ct.id = c.contact_id), c.contact_email)`.as(
        'contact_email',
      ),
      sql<string | null>`coalesce((select ct.phone from contacts ct where ct.id = c.contact_id), c.contact_phone)`.as(
        'contact_phone',
      ),
      'c.due_date',
      'c.source',
      'c.version',
      'c.created_at',
      'c.updated_at',
      'c.last_activity_at',
      'c.closed_at',
      (eb) =>
        eb.selectFrom('cases as m').select('m.number').whereRef('m.id', '=', 'c.merged_into_id').as('merged_into'),
      // the activity at full precision (microseconds; a Date keeps milliseconds), for the cursor
      sql<string>`c.last_activity_at::text`.as('activity_key'),
    ]);
}
type ApiCaseRow = Awaited<ReturnType<ReturnType<typeof apiCaseRows>['execute']>>[number];

const iso = (d: Date) => d.toISOString();
export function toApiCase(row: ApiCaseRow): ApiCase {
  const { id: _id, activity_key: _key, created_at, updated_at, last_activity_at, closed_at, ...rest } = row;
  return {
    ...rest,
    created_at: iso(created_at),
    updated_at: iso(updated_at),
    last_activity_at: iso(last_activity_at),
    closed_at: closed_at ? iso(closed_at) : null,
  };
}

export async function findApiCase(db: Db, number: string): Promise<(ApiCase & { id: number }) | undefined> {
  // prepared once per connection: planning this join took longer than running it
  const row = await apiCaseRows(db).where('c.number', '=', number).modifyEnd(preparedAtEnd).executeTakeFirst();
  return row ? { ...toApiCase(row), id: row.id } : undefined;
}

// The keyset cursor: the last row's activity (PostgreSQL's text of it, exact to the microsecond)
// and id, opaque to clients.
type Cursor = { at: string; id: number };
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}
const timestampText = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
export function decodeCursor(text: string): Cursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, id] = value;
    if (typeof at !== 'string' || !timestampText.test(at) || !Number.isSafeInteger(id) || id < 1) return null;
    return { at, id };
  } catch {
    return null;
  }
}

// A page of cases, newest activity first, after the cursor. The filters are the overview's; the
// order is the one its indexes hold for every filter (activity, then id), so a page is a range
// read, however deep.
export type ApiCasePage = { limit: number; cursor: Cursor | null; updatedSince: Date | null };

// One row more than the page, to tell whether there is a next.
export function apiCasePageQuery(db: Db, filter: OverviewFilter, user: Pick<User, 'id'>, day: Day, opts: ApiCasePage) {
  let ids = filteredCases(db, filter, user, day).select('c.id');
  if (opts.updatedSince) ids = ids.where('c.last_activity_at', '>', opts.updatedSince);
  const { cursor } = opts;
  if (cursor)
    ids = ids.where(sql<boolean>`(c.last_activity_at, c.id) < (${cursor.at}::timestamptz, ${cursor.id}::int)`);
  const page = ids
    .orderBy('c.last_activity_at', 'desc')
    .orderBy('c.id', 'desc')
    .limit(opts.limit + 1);
  return apiCaseRows(db).where('c.id', 'in', page).orderBy('c.last_activity_at', 'desc').orderBy('c.id', 'desc');
}

// A page of cases, newest activity first, after the cursor. The filters are the overview's; the
// order is the one its indexes hold for every filter (activity, then id), so a page is a range
// read, however deep.
export async function listApiCases(
  db: Db,
  filter: OverviewFilter,
  user: Pick<User, 'id'>,
  day: Day,
  opts: ApiCasePage,
): Promise<{ data: ApiCase[]; nextCursor: string | null }> {
  const rows = await apiCasePageQuery(db, filter, user, day, opts).execute();
  const shown = rows.slice(0, opts.limit);
  const last = shown.at(-1);
  const nextCursor = rows.length > opts.limit && last ? encodeCursor({ at: last.activity_key, id: last.id }) : null;
  return { data: shown.map(toApiCase), nextCursor };
}

// A page as the JSON the API answers, kept until one of the tables its rows are read from changes
// (as the overview's pages are, src/db/cached.ts; exact: a change committed anywhere before the
// request is seen). Checked against the response schema once, when it is read, rather than at
// every request that finds it kept: an agent's integration polls its list far more often than the
// list changes.
export async function listApiCasesKept(
  db: Db,
  filter: OverviewFilter,
  user: Pick<User, 'id'>,
  day: Day,
  opts: ApiCasePage,
): Promise<string> {
  const cursor = opts.cursor ? encodeCursor(opts.cursor) : '';
  const key = `api-cases:${user.id}:${day.today}:${filterToQuery(filter)}:${opts.limit}:${cursor}:${opts.updatedSince?.toISOString() ?? ''}`;
  return cachedRead(
    db,
    key,
    overviewRowTables,
    async () => {
      const page = await listApiCases(db, filter, user, day, opts);
      return JSON.stringify(caseListSchema.encode({ data: page.data, next_cursor: page.nextCursor }));
    },
    { exact: true, room: { name: 'api-cases', size: 200 } },
  );
}

export async function listApiThread(db: Db, caseId: number) {
  const rows = await db
    .selectFrom('thread_entries')
    .select(['id', 'side', 'author_name', 'author_email', 'user_id', 'body_html', 'delivery', 'created_at'])
    .where('case_id', '=', caseId)
    .orderBy('id')
    .execute();
  // bigint ids as strings, whatever the driver gives (they may pass 2^53)
  return rows.map((r) => ({ ...r, id: String(r.id), created_at: iso(r.created_at) }));
}
