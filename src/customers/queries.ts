import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Contact, Customer } from '../db/schema.ts';

export const customersPerPage = 50;

export type CustomerSearch = { q?: string; includeInactive?: boolean; page?: number };
export type CustomerPage = { customers: Customer[]; page: number; hasMore: boolean };

// A search term as a literal inside LIKE: its own %, _ and \ match only themselves.
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// The term matches a customer number exactly or as its beginning, or any part of the name
// regardless of case. Exact number hits come first, so typing a full number finds that customer.
export async function listCustomers(db: Db, search: CustomerSearch = {}): Promise<CustomerPage> {
  const q = search.q?.trim() ?? '';
  const page = Math.max(1, Math.floor(search.page ?? 1));
  let query = db.selectFrom('customers').selectAll();
  if (!search.includeInactive) query = query.where('active', '=', true);
  if (q) {
    const literal = likeLiteral(q);
    query = query
      .where((eb) =>
        eb.or([
          eb('number', 'like', `${literal}%`),
          eb(eb.fn('lower', ['name']), 'like', `%${literal.toLowerCase()}%`),
        ]),
      )
      .orderBy(sql`number = ${q}`, 'desc');
  }
  const rows = await query
    .orderBy('number')
    .orderBy('id')
    .limit(customersPerPage + 1)
    .offset((page - 1) * customersPerPage)
    .execute();
  return { customers: rows.slice(0, customersPerPage), page, hasMore: rows.length > customersPerPage };
}

export type CustomerChoice = Pick<Customer, 'id' | 'number' | 'name'>;
export type CustomerResolution =
  | { customer: CustomerChoice }
  | { problem: 'errors.customer_unknown' | 'errors.customer_ambiguous' };

// What a customer field holds (a case's, a project's): a customer number, as picking a
// suggestion fills it in, or the name of one active customer typed out in full, in any case. A
// number wins over a name, and finds an inactive customer too: it stays on its old cases and
// projects, and the caller decides whether it may be used. A name that several active customers
// share is refused rather than guessed. The problem is a message key whose {name} is what was typed.
export async function resolveCustomer(db: Db, typed: string): Promise<CustomerResolution> {
  const text = typed.trim();
  if (!text) return { problem: 'errors.customer_unknown' };
  const customers = db.selectFrom('customers').select(['id', 'number', 'name']);
  const byNumber = await customers.where(sql<boolean>`lower(number) = lower(${text})`).executeTakeFirst();
  if (byNumber) return { customer: byNumber };
  // customers_name serves this
  const byName = await customers
    .where(sql<boolean>`lower(name) = lower(${text})`)
    .where('active', '=', true)
    .orderBy('id')
    .limit(2)
    .execute();
  if (byName.length > 1) return { problem: 'errors.customer_ambiguous' };
  return byName[0] ? { customer: byName[0] } : { problem: 'errors.customer_unknown' };
}

export async function findCustomerById(db: Db, id: number): Promise<Customer | undefined> {
  return db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
}

// Active contacts first; inactive ones stay listed so they can be found and reactivated.
export async function listContacts(db: Db, customerId: number): Promise<Contact[]> {
  return db
    .selectFrom('contacts')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('active', 'desc')
    .orderBy('name')
    .orderBy('id')
    .execute();
}

export async function findContact(db: Db, customerId: number, contactId: number): Promise<Contact | undefined> {
  return db
    .selectFrom('contacts')
    .selectAll()
    .where('id', '=', contactId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
}

// The customer page's latest cases, most recently active first (cases_customer_id serves it).
export async function listRecentCustomerCases(db: Db, customerId: number, limit = 20) {
  return db
    .selectFrom('cases')
    .innerJoin('case_statuses as status', 'status.id', 'cases.status_id')
    .leftJoin('users as responsible', 'responsible.id', 'cases.responsible_id')
    .select([
      'cases.number',
      'cases.title',
      'cases.last_activity_at',
      'status.name as status_name',
      'status.kind as status_kind',
      'responsible.name as responsible_name',
    ])
    .where('cases.customer_id', '=', customerId)
    .orderBy('cases.last_activity_at', 'desc')
    .orderBy('cases.id', 'desc')
    .limit(limit)
    .execute();
}
