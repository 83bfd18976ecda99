import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { uniqueViolation } from '../../db/errors.ts';
import type { MailboxesTable, MailSecurity } from '../../db/schema.ts';
import { FormError, optionalIdField, optionalText, requiredText, singleLine } from '../../forms/form.ts';
import { decryptPassword, encryptPassword } from '../outbound/settings.ts';

export type Mailbox = Selectable<MailboxesTable>;
export const mailSecurities: readonly MailSecurity[] = ['tls', 'starttls', 'none'];
export const afterReadActions = ['seen', 'move'] as const;

// What a connection to the IMAP server needs; the password in clear, for this process only.
export type ImapAccount = {
  host: string;
  port: number;
  security: MailSecurity;
  user: string;
  password: string | null;
  folder: string;
};

// What a form shows: the strings typed, or a stored mailbox written out as strings.
export type MailboxFormValues = Record<string, string | undefined>;

// Host names and IP addresses (IPv6 in brackets or bare); no scheme, path or spaces.
const hostName = requiredText(253).regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.:-]+)$/, 'errors.invalid');

// IMAP folder names as the server lists them ("INBOX", "INBOX.Processed", "Arkiv/2026").
const folderName = (max: number) => singleLine().max(max, 'errors.too_long');

export const mailboxSchema = z
  .object({
    name: requiredText(100),
    imap_host: hostName,
    imap_port: z
      .string('errors.required')
      .trim()
      .min(1, 'errors.required')
      .regex(/^\d+$/, 'errors.number')
      .transform(Number)
      .pipe(z.number().int('errors.number').min(1, 'errors.port').max(65535, 'errors.port')),
    imap_security: z.enum(mailSecurities as [MailSecurity, ...MailSecurity[]], 'errors.invalid'),
    imap_user: requiredText(200),
    // Left empty, the stored password stays.
    imap_password: z.string().max(500, 'errors.too_long').optional().default(''),
    folder: folderName(200).min(1, 'errors.required'),
    after_read: z.enum(afterReadActions, 'errors.invalid'),
    move_to_folder: optionalText(200),
    default_case_type_id: optionalIdField,
    default_status_id: optionalIdField,
    default_responsible_id: optionalIdField,
    default_priority_id: optionalIdField,
  })
  .superRefine((v, ctx) => {
    if (v.after_read !== 'move') return;
    if (!v.move_to_folder) ctx.addIssue({ code: 'custom', path: ['move_to_folder'], message: 'errors.required' });
    else if (v.move_to_folder === v.folder)
      ctx.addIssue({ code: 'custom', path: ['move_to_folder'], message: 'errors.invalid' });
  });
export type MailboxInput = z.output<typeof mailboxSchema>;

export const newMailboxValues: MailboxFormValues = {
  imap_port: '993',
  imap_security: 'tls',
  folder: 'INBOX',
  after_read: 'seen',
};

// A stored mailbox as its form shows it; the password is never among the values.
export function mailboxFormValues(row: Mailbox): MailboxFormValues {
  const id = (value: number | null) => (value === null ? '' : String(value));
  return {
    name: row.name,
    imap_host: row.imap_host,
    imap_port: String(row.imap_port),
    imap_security: row.imap_security,
    imap_user: row.imap_user,
    folder: row.folder,
    after_read: row.after_read,
    move_to_folder: row.move_to_folder ?? '',
    default_case_type_id: id(row.default_case_type_id),
    default_status_id: id(row.default_status_id),
    default_responsible_id: id(row.default_responsible_id),
    default_priority_id: id(row.default_priority_id),
  };
}

export async function listMailboxes(db: Db, opts: { includeInactive?: boolean } = {}): Promise<Mailbox[]> {
  let query = db.selectFrom('mailboxes').selectAll().orderBy('name');
  if (!opts.includeInactive) query = query.where('active', '=', true);
  return query.execute();
}

export async function findMailbox(db: Db, id: number): Promise<Mailbox | undefined> {
  return db.selectFrom('mailboxes').selectAll().where('id', '=', id).executeTakeFirst();
}

// What the default fields offer: the active rows of each register.
export async function loadMailboxFormOptions(db: Db) {
  const [types, statuses, users, priorities] = await Promise.all([
    db.selectFrom('case_types').select(['id', 'name']).where('active', '=', true).orderBy('position').execute(),
    db.selectFrom('case_statuses').select(['id', 'name']).where('active', '=', true).orderBy('position').execute(),
    db.selectFrom('users').select(['id', 'name']).where('active', '=', true).orderBy('name').execute(),
    db.selectFrom('priorities').select(['id', 'name']).where('active', '=', true).orderBy('rank').execute(),
  ]);
  return { types, statuses, users, priorities };
}
export type MailboxFormOptions = Awaited<ReturnType<typeof loadMailboxFormOptions>>;

// The defaults must name rows that exist and are in use; a stale id from an old form is refused
// beside its field rather than by a foreign key error.
async function checkDefaults(db: Db, input: MailboxInput, keep: Mailbox | undefined): Promise<void> {
  const errors: Record<string, string> = {};
  const check = async (
    field: keyof MailboxInput & keyof Mailbox,
    table: 'case_types' | 'case_statuses' | 'users' | 'priorities',
  ) => {
    const id = input[field] as number | null;
    // A default that was chosen before its row was deactivated may stay as it is.
    if (id === null || keep?.[field] === id) return;
    const row = await db
      .selectFrom(table)
      .select('id')
      .where('id', '=', id)
      .where('active', '=', true)
      .executeTakeFirst();
    if (!row) errors[field] = 'errors.invalid';
  };
  await Promise.all([
    check('default_case_type_id', 'case_types'),
    check('default_status_id', 'case_statuses'),
    check('default_responsible_id', 'users'),
    check('default_priority_id', 'priorities'),
  ]);
  if (Object.keys(errors).length) throw new FormError(errors);
}

function columnsOf(input: MailboxInput) {
  return {
    name: input.name,
    imap_host: input.imap_host,
    imap_port: input.imap_port,
    imap_security: input.imap_security,
    imap_user: input.imap_user,
    folder: input.folder,
    after_read: input.after_read,
    move_to_folder: input.after_read === 'move' ? input.move_to_folder : null,
    default_case_type_id: input.default_case_type_id,
    default_status_id: input.default_status_id,
    default_responsible_id: input.default_responsible_id,
    default_priority_id: input.default_priority_id,
  };
}

function nameTaken(error: unknown): never {
  if (uniqueViolation(error) === 'mailboxes_name_key') throw new FormError({ name: 'errors.name_taken' });
  throw error;
}

export async function createMailbox(db: Db, input: MailboxInput): Promise<Mailbox> {
  if (!input.imap_password) throw new FormError({ imap_password: 'errors.required' });
  await checkDefaults(db, input, undefined);
  return db
    .insertInto('mailboxes')
    .values({ ...columnsOf(input), imap_password_encrypted: await encryptPassword(db, input.imap_password) })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch(nameTaken);
}

export async function updateMailbox(db: Db, mailbox: Mailbox, input: MailboxInput): Promise<Mailbox | undefined> {
  await checkDefaults(db, input, mailbox);
  const password = input.imap_password
    ? { imap_password_encrypted: await encryptPassword(db, input.imap_password) }
    : {};
  return db
    .updateTable('mailboxes')
    .set({ ...columnsOf(input), ...password, last_error: null, updated_at: new Date() })
    .where('id', '=', mailbox.id)
    .returningAll()
    .executeTakeFirst()
    .catch(nameTaken);
}

// Deactivated mailboxes are no longer read; what was read from them stays.
export async function setMailboxActive(db: Db, id: number, active: boolean): Promise<void> {
  await db.updateTable('mailboxes').set({ active, updated_at: new Date() }).where('id', '=', id).execute();
}

// The account as stored, with the password decrypted for the connection.
export async function imapAccountOf(db: Db, mailbox: Mailbox): Promise<ImapAccount> {
  return {
    host: mailbox.imap_host,
    port: mailbox.imap_port,
    security: mailbox.imap_security,
    user: mailbox.imap_user,
    password: mailbox.imap_password_encrypted ? await decryptPassword(db, mailbox.imap_password_encrypted) : null,
    folder: mailbox.folder,
  };
}

// The account as typed in the form, for "Test connection" before saving: an empty password
// field means the stored one.
export async function imapAccountFromInput(db: Db, input: MailboxInput, stored?: Mailbox): Promise<ImapAccount> {
  const storedPassword = stored?.imap_password_encrypted
    ? await decryptPassword(db, stored.imap_password_encrypted)
    : null;
  return {
    host: input.imap_host,
    port: input.imap_port,
    security: input.imap_security,
    user: input.imap_user,
    password: input.imap_password || storedPassword,
    folder: input.folder,
  };
}

// After each read: when it last got through to the server, and the latest trouble (or none).
export async function recordReadOutcome(
  db: Db,
  id: number,
  outcome: { connected: boolean; error: string | null },
): Promise<void> {
  await db
    .updateTable('mailboxes')
    .set({
      ...(outcome.connected ? { last_read_at: new Date() } : {}),
      last_error: outcome.error === null ? null : outcome.error.slice(0, 2000),
    })
    .where('id', '=', id)
    .execute();
}
