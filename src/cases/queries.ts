import { sql } from 'kysely';
import { cachedRead, deepFreeze } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import { caseColumns } from '../db/schema.ts';
import { unreadCount } from '../notifications/notifications.ts';
import { listActiveUsers } from '../users/queries.ts';
import { formatCaseNumber } from './number-series.ts';
import { findStatusOfKind } from './statuses.ts';

// Only which case a number names, for a request that writes it and reads it back itself (the
// overview's quick edit): findCaseByNumber joins eight tables for the case page.
export async function findCaseRef(db: Db, number: string): Promise<{ id: number; number: string } | undefined> {
  return db.selectFrom('cases').select(['id', 'number']).where('number', '=', number).executeTakeFirst();
}

// The case a person typed the number of, in a form that names another case (merge into, link
// to): the number as shown ("2026-00045"), or only its digits ("45", "00045") when exactly one
// case of the case number series has that number, as people read them off a list.
export async function resolveTypedCaseNumber(db: Db, typed: string): Promise<string> {
  const text = typed.trim();
  if (!/^\d{1,12}$/.test(text) || Number(text) < 1) return text;
  const exact = await findCaseRef(db, text);
  if (exact) return exact.number;
  const series = await db
    .selectFrom('number_series')
    .select(['prefix', 'digits'])
    .where('purpose', '=', 'cases')
    .execute();
  const candidates = [...new Set(series.map((s) => formatCaseNumber(s.prefix, Number(text), s.digits)))];
  if (!candidates.length) return text;
  const found = await db.selectFrom('cases').select('number').where('number', 'in', candidates).limit(2).execute();
  return found.length === 1 && found[0] ? found[0].number : text;
}

export async function findCaseByNumber(db: Db, number: string) {
  return caseByNumber(db, number).executeTakeFirst();
}

// The case with the bell's count for the user beside it, in one statement: the case page's first
// read (GET), which then needs no count of its own from the request pipeline.
export async function findCaseWithUnreadCount(
  db: Db,
  number: string,
  userId: number,
): Promise<{ kase: CaseView; unread: number } | undefined> {
  const row = await caseByNumber(db, number)
    .select(() => unreadCount(db, userId).as('unread_count'))
    .executeTakeFirst();
  if (!row) return undefined;
  const { unread_count, ...kase } = row;
  return { kase, unread: Number(unread_count ?? 0) };
}

// The status and type are inner joins (every case has both); the names that may be missing are
// scalar subqueries. As joins, the nine tables made PostgreSQL search join orders for a statement
// that reads one case: 2.4 ms of planning for 0.3 ms of work; as subqueries it plans in 0.6 ms.
function caseByNumber(db: Db, number: string) {
  return db
    .selectFrom('cases')
    .innerJoin('case_statuses as status', 'status.id', 'cases.status_id')
    .innerJoin('case_types as type', 'type.id', 'cases.case_type_id')
    .select(caseColumns.map((c) => `cases.${c}` as const))
    .select((eb) => [
      // merged into another case: its page leads there (src/cases/merge.ts)
      eb
        .selectFrom('cases as merged_into')
        .select('merged_into.number')
        .whereRef('merged_into.id', '=', 'cases.merged_into_id')
        .as('merged_into_number'),
      eb
        .selectFrom('customers')
        .select('customers.number')
        .whereRef('customers.id', '=', 'cases.customer_id')
        .as('customer_number'),
      eb
        .selectFrom('customers')
        .select('customers.name')
        .whereRef('customers.id', '=', 'cases.customer_id')
        .as('customer_name'),
      eb
        .selectFrom('users')
        .select('users.name')
        .whereRef('users.id', '=', 'cases.responsible_id')
        .as('responsible_name'),
      eb
        .selectFrom('users')
        .select('users.initials')
        .whereRef('users.id', '=', 'cases.responsible_id')
        .as('responsible_initials'),
      'status.name as status_name',
      'status.kind as status_kind',
      'type.name as type_name',
      // 'document_approval': the approval chain's document case, which has no customer side
      'type.system_key as type_system_key',
      eb
        .selectFrom('priorities')
        .select('priorities.name')
        .whereRef('priorities.id', '=', 'cases.priority_id')
        .as('priority_name'),
      eb
        .selectFrom('contacts')
        .select('contacts.name')
        .whereRef('contacts.id', '=', 'cases.contact_id')
        .as('contact_record_name'),
      eb
        .selectFrom('contacts')
        .select('contacts.email')
        .whereRef('contacts.id', '=', 'cases.contact_id')
        .as('contact_record_email'),
      eb
        .selectFrom('work_orders')
        .select('work_orders.number')
        .whereRef('work_orders.id', '=', 'cases.work_order_id')
        .as('work_order_number'),
      eb
        .selectFrom('cases as previous')
        .select('previous.number')
        .whereRef('previous.id', '=', 'cases.previous_case_id')
        .as('previous_case_number'),
    ])
    .where('cases.number', '=', number);
}
export type CaseView = NonNullable<Awaited<ReturnType<typeof findCaseByNumber>>>;

// The document case of an approval chain (src/approvals/chains.ts) follows a document from
// approver to approver: it has no customer to answer, so no reply box and no customer header.
export const isDocumentApprovalCase = (kase: Pick<CaseView, 'type_system_key'>): boolean =>
  kase.type_system_key === 'document_approval';

// Everything the header form offers to pick from. The registers come from this process's cache
// (src/db/cached.ts: exact, dropped when any instance changes them); a customer's contacts do not.
export async function loadCaseFormOptions(db: Db, customerId: number | null) {
  const [registers, contacts] = await Promise.all([
    cachedRead(db, 'case-form-options', ['users', 'case_statuses', 'case_types', 'priorities'], () =>
      loadRegisterOptions(db),
    ),
    customerId ? listCustomerContacts(db, customerId) : Promise.resolve([]),
  ]);
  return { ...registers, contacts };
}

async function loadRegisterOptions(db: Db) {
  const [users, statuses, types, priorities] = await Promise.all([
    listActiveUsers(db),
    db
      .selectFrom('case_statuses')
      .select(['id', 'name', 'kind'])
      .where('active', '=', true)
      .orderBy('position')
      .execute(),
    db.selectFrom('case_types').select(['id', 'name']).where('active', '=', true).orderBy('position').execute(),
    db.selectFrom('priorities').select(['id', 'name']).where('active', '=', true).orderBy('rank').execute(),
  ]);
  // shared by every request that asks: frozen, so no caller can change what the next one sees
  return deepFreeze({ users, statuses, types, priorities });
}
export type CaseFormOptions = Awaited<ReturnType<typeof loadCaseFormOptions>>;

export async function listCustomerContacts(db: Db, customerId: number) {
  return db
    .selectFrom('contacts')
    .select(['id', 'name', 'email', 'phone'])
    .where('customer_id', '=', customerId)
    .where('active', '=', true)
    .orderBy('name')
    .execute();
}

// Customer picker: number prefix or name substring, most exact first.
export async function suggestCustomers(db: Db, q: string, limit = 15) {
  const text = q.trim();
  if (!text) return [];
  const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .selectFrom('customers')
    .select(['id', 'number', 'name'])
    .where('active', '=', true)
    .where((eb) =>
      eb.or([eb('number', 'ilike', `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`), eb('name', 'ilike', like)]),
    )
    .orderBy(sql`lower(number) = lower(${text})`, 'desc')
    .orderBy('name')
    .limit(limit)
    .execute();
}

// Header fields that store a row's id; the history shows the row's name instead of the id.
const namedFields = {
  responsible_id: 'users',
  customer_id: 'customers',
  contact_id: 'contacts',
  status_id: 'case_statuses',
  case_type_id: 'case_types',
  priority_id: 'priorities',
} as const;

export async function listCaseEvents(db: Db, caseId: number) {
  const events = await db
    .selectFrom('case_events')
    .leftJoin('users', 'users.id', 'case_events.user_id')
    .select([
      'case_events.id',
      'case_events.kind',
      'case_events.field',
      'case_events.old_value',
      'case_events.new_value',
      'case_events.created_at',
      'users.name as user_name',
      // a line a merge brought here names the case it happened in
      (eb) =>
        eb
          .selectFrom('cases as moved_from')
          .select('moved_from.number')
          .whereRef('moved_from.id', '=', 'case_events.moved_from_case_id')
          .as('moved_from_number'),
    ])
    .where('case_events.case_id', '=', caseId)
    .orderBy('case_events.id', 'desc')
    .execute();
  const names = new Map<string, string>();
  for (const [field, table] of Object.entries(namedFields)) {
    const ids = events
      .filter((e) => e.field === field)
      .flatMap((e) => [e.old_value, e.new_value])
      .filter((v): v is string => v !== null && /^\d{1,9}$/.test(v))
      .map(Number);
    if (!ids.length) continue;
    const rows = await db.selectFrom(table).select(['id', 'name']).where('id', 'in', ids).execute();
    for (const row of rows) names.set(`${field}:${row.id}`, row.name);
  }
  const named = (field: string | null, value: string | null) =>
    (field !== null && value !== null && names.get(`${field}:${value}`)) || value;
  return events.map((e) => ({ ...e, old_value: named(e.field, e.old_value), new_value: named(e.field, e.new_value) }));
}

// The cases whose row changed after `since` (every change moves last_activity_at), newest first,
// at most `limit`: what a live page that lost its stream for a while catches up on (src/live/).
export async function listCasesChangedSince(db: Db, since: Date, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('cases')
    .select('id')
    .where('last_activity_at', '>', since)
    .orderBy('last_activity_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

// What a new case is unless told otherwise (the New case form, the API): open, of the first
// active case type in the administrator's order. Null where there is none.
export async function newCaseDefaults(db: Db): Promise<{ statusId: number | null; caseTypeId: number | null }> {
  const [statusId, type] = await Promise.all([
    findStatusOfKind(db, 'open'),
    // kept until the case types change (an API client creates cases one after the other)
    cachedRead(db, 'first-case-type', ['case_types'], () =>
      db
        .selectFrom('case_types')
        .select('id')
        .where('active', '=', true)
        .where('system_key', 'is', null)
        .orderBy('position')
        .executeTakeFirst(),
    ),
  ]);
  return { statusId, caseTypeId: type?.id ?? null };
}
