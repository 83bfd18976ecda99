import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import type { Contact, Customer } from '../db/schema.ts';
import { FormError, optionalText, requiredText } from '../forms/form.ts';

// One DNS name with at least two labels, the last starting with a letter (example.com, xn--e1a.se).
const domainPattern = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$/;

// "Example.com, @example.se  example.com" → ['example.com', 'example.se']. People paste
// addresses' domain parts with the @ still on, so that is dropped rather than refused.
export function parseEmailDomains(text: string): string[] {
  const domains = text
    .toLowerCase()
    .split(/[\s,;]+/)
    .map((d) => d.replace(/^@/, ''))
    .filter(Boolean);
  return [...new Set(domains)];
}

export const customerSchema = z.object({
  number: requiredText(32),
  name: requiredText(200),
  email_domains: z
    .string()
    .optional()
    .transform((s) => parseEmailDomains(s ?? ''))
    .pipe(z.array(z.string().regex(domainPattern, 'errors.domain_format')).max(50, 'errors.too_long')),
});
export type CustomerInput = z.output<typeof customerSchema>;

export const contactSchema = z.object({
  name: requiredText(200),
  email: optionalText(200).pipe(z.email('errors.email').nullable()),
  phone: optionalText(50),
  // '' from the form: not known
  language: z
    .enum(['', 'sv', 'en'], 'errors.invalid')
    .optional()
    .transform((v) => (v ? v : null)),
});
// language may be left out by callers that do not know it (imports, seeds)
export type ContactInput = Omit<z.output<typeof contactSchema>, 'language'> & { language?: 'sv' | 'en' | null };

function numberTaken(error: unknown): FormError | null {
  return uniqueViolation(error) === 'customers_number_key'
    ? new FormError({ number: 'errors.customer_number_taken' })
    : null;
}

export async function createCustomer(db: Db, input: CustomerInput): Promise<Customer> {
  try {
    return await db.insertInto('customers').values(input).returningAll().executeTakeFirstOrThrow();
  } catch (error) {
    throw numberTaken(error) ?? error;
  }
}

export async function updateCustomer(db: Db, id: number, input: CustomerInput): Promise<Customer> {
  try {
    return await db
      .updateTable('customers')
      .set({ ...input, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    throw numberTaken(error) ?? error;
  }
}

// Inactive customers stay on their old cases but are no longer offered for new ones.
export async function setCustomerActive(db: Db, id: number, active: boolean): Promise<void> {
  await db.updateTable('customers').set({ active, updated_at: new Date() }).where('id', '=', id).execute();
}

export async function createContact(db: Db, customerId: number, input: ContactInput): Promise<Contact> {
  return db
    .insertInto('contacts')
    .values({ ...input, customer_id: customerId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// A person writing from a customer's domain becomes a contact there, once: looked up by address
// (any case) first, in the caller's transaction, in case another mail from them just added it.
export async function ensureContact(
  db: Db,
  input: { customerId: number; name: string; email: string },
): Promise<{ id: number }> {
  const existing = await db
    .selectFrom('contacts')
    .select('id')
    .where('customer_id', '=', input.customerId)
    .where(sql<string>`lower(email)`, '=', input.email.toLowerCase())
    .executeTakeFirst();
  return (
    existing ??
    db
      .insertInto('contacts')
      .values({ customer_id: input.customerId, name: input.name, email: input.email, phone: null })
      .returning('id')
      .executeTakeFirstOrThrow()
  );
}

export async function updateContact(db: Db, id: number, input: ContactInput): Promise<Contact> {
  return db
    .updateTable('contacts')
    .set({ ...input, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setContactActive(db: Db, id: number, active: boolean): Promise<void> {
  await db.updateTable('contacts').set({ active, updated_at: new Date() }).where('id', '=', id).execute();
}
