import { createCase, type NewCaseInput } from '../cases/cases.ts';
import { createContact, createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';

// "acme": the customer Acme AB (K1001, acme.se) with the contact Per Persson.
export async function seedAcme(db: Db) {
  const customer = await createCustomer(db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  const contact = await createContact(db, customer.id, {
    name: 'Per Persson',
    email: 'per@acme.se',
    phone: '08-123 45 67',
  });
  return { customer, contact };
}

// "printer-jam": an open support case for Acme, responsible = the given user; `also` changes
// what else a test needs (a title, a typed-in contact, the first text).
export async function seedPrinterJamCase(
  db: Db,
  responsible: User,
  customerId: number,
  contactId?: number,
  also: Partial<NewCaseInput> = {},
): Promise<Case> {
  const status = await db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'open')
    .orderBy('position')
    .executeTakeFirstOrThrow();
  const type = await db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  return createCase(
    db,
    {
      title: 'Skrivaren fastnar',
      responsible_id: responsible.id,
      customer_id: customerId,
      status_id: status.id,
      case_type_id: type.id,
      priority_id: null,
      due_date: null,
      contact_id: contactId ?? null,
      contact_name: null,
      contact_email: null,
      contact_phone: null,
      body_html: '<div>Pappret fastnar i fack 2.</div>',
      ...also,
    },
    responsible,
  );
}
