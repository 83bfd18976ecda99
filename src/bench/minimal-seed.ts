import { createContact, createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { seedPrinterJamCase } from '../test-support/seeds.ts';
import { createUser } from '../users/users.ts';

// What the outbox and mail benches need in an empty database: an agent who can log in, a
// customer with a contact, and a few open cases. Found again when the database has them already.

export const benchLogin = 'BENCH';
export const benchPassword = 'bench-password-2026';

export async function ensureBenchUser(db: Db): Promise<User> {
  const found = await db.selectFrom('users').selectAll().where('login', '=', benchLogin).executeTakeFirst();
  if (found) return found;
  return createUser(
    db,
    {
      login: benchLogin,
      name: 'Bänk Benchsson',
      initials: 'BB',
      email: 'bench@casedesk.test',
      role: 'agent',
      language: 'sv',
    },
    benchPassword,
  );
}

export type BenchCustomer = { id: number; contactId: number; contactEmail: string; domain: string };

// Customers with a contact each; their domains let inbound mail find its customer.
export async function ensureCustomers(db: Db, count: number): Promise<BenchCustomer[]> {
  const customers: BenchCustomer[] = [];
  for (let i = 1; i <= count; i++) {
    const number = `KB${String(i).padStart(3, '0')}`;
    const domain = `kund${i}.example`;
    const contactEmail = `kontakt@${domain}`;
    const found = await db.selectFrom('customers').select('id').where('number', '=', number).executeTakeFirst();
    const customer = found ?? (await createCustomer(db, { number, name: `Kund ${i} AB`, email_domains: [domain] }));
    const contact =
      (await db
        .selectFrom('contacts')
        .select('id')
        .where('customer_id', '=', customer.id)
        .where('email', '=', contactEmail)
        .executeTakeFirst()) ??
      (await createContact(db, customer.id, { name: `Kontakt ${i}`, email: contactEmail, phone: null }));
    customers.push({ id: customer.id, contactId: contact.id, contactEmail, domain });
  }
  return customers;
}

export async function createOpenCases(db: Db, user: User, customer: BenchCustomer, count: number): Promise<Case[]> {
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) cases.push(await seedPrinterJamCase(db, user, customer.id, customer.contactId));
  return cases;
}
