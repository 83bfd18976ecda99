import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { SmtpSecurity } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { optionalText, requiredText, singleLine } from '../../forms/form.ts';

export type SmtpServer = {
  host: string;
  port: number;
  security: SmtpSecurity;
  user: string | null;
  password: string | null;
};

export type MailSettings = {
  smtp: SmtpServer | null;
  // true when SMTP_URL decides the server, so the form shows it as fixed
  smtpFromEnvironment: boolean;
  fromName: string;
  fromAddress: string;
  replyTo: string | null;
  subjectTag: string;
  // the domain of our Message-IDs
  messageIdDomain: string;
};

// The SMTP password is kept encrypted (AES-256-GCM) with a secret that lives in the database's
// app_secrets, so a dump of mail_settings alone does not reveal it.
async function passwordKey(db: Db): Promise<Buffer> {
  return createHash('sha256')
    .update(await loadSecret(db, 'mail-settings'))
    .digest();
}

export async function encryptPassword(db: Db, password: string): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await passwordKey(db), iv);
  const data = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64')).join('.');
}

// Also used for the IMAP passwords of Read mail's mailboxes (src/mail/inbound/mailboxes.ts).
export async function decryptPassword(db: Db, stored: string): Promise<string | null> {
  const [iv, tag, data] = stored.split('.').map((part) => Buffer.from(part, 'base64'));
  if (!iv || !tag || !data) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', await passwordKey(db), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

// smtp://user:pass@host:587 (STARTTLS), smtps://…:465 (TLS), smtp://host:25?security=none.
export function parseSmtpUrl(url: string): SmtpServer {
  const u = new URL(url);
  const implicitTls = u.protocol === 'smtps:';
  const security = (u.searchParams.get('security') as SmtpSecurity | null) ?? (implicitTls ? 'tls' : 'starttls');
  return {
    host: u.hostname,
    port: Number(u.port) || (implicitTls ? 465 : 587),
    security: ['none', 'starttls', 'tls'].includes(security) ? security : 'starttls',
    user: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
  };
}

export async function loadMailSettings(db: Db, config: Config): Promise<MailSettings> {
  const row = await db.selectFrom('mail_settings').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  let smtp: SmtpServer | null = null;
  if (config.smtpUrl) smtp = parseSmtpUrl(config.smtpUrl);
  else if (row.smtp_host) {
    smtp = {
      host: row.smtp_host,
      port: row.smtp_port ?? (row.smtp_security === 'tls' ? 465 : 587),
      security: row.smtp_security,
      user: row.smtp_user,
      password: row.smtp_password_encrypted ? await decryptPassword(db, row.smtp_password_encrypted) : null,
    };
  }
  return {
    smtp,
    smtpFromEnvironment: Boolean(config.smtpUrl),
    fromName: row.from_name,
    fromAddress: row.from_address,
    replyTo: row.reply_to_address,
    subjectTag: row.subject_tag,
    messageIdDomain: row.from_address.split('@')[1] || new URL(config.publicUrl).hostname,
  };
}

export const mailSettingsSchema = z.object({
  smtp_host: optionalText(200),
  smtp_port: z
    .string()
    .optional()
    .transform((v) => (v ? Number(v) : null))
    .pipe(z.number('errors.number').int('errors.number').min(1, 'errors.port').max(65535, 'errors.port').nullable()),
  smtp_security: z.enum(['none', 'starttls', 'tls'], 'errors.invalid'),
  smtp_user: optionalText(200),
  // Left empty, the stored password stays; "clear_password" removes it.
  smtp_password: z.string().max(500, 'errors.too_long').optional().default(''),
  clear_password: z.string().optional(),
  from_name: requiredText(100),
  from_address: singleLine().pipe(z.email('errors.email')),
  reply_to_address: optionalText(200).pipe(z.email('errors.email').nullable()),
  subject_tag: requiredText(40).refine((v) => v.includes('{number}'), 'errors.subject_tag'),
});
export type MailSettingsInput = z.output<typeof mailSettingsSchema>;

export async function saveMailSettings(db: Db, input: MailSettingsInput): Promise<void> {
  const password =
    input.clear_password === 'on'
      ? { smtp_password_encrypted: null }
      : input.smtp_password
        ? { smtp_password_encrypted: await encryptPassword(db, input.smtp_password) }
        : {};
  await db
    .updateTable('mail_settings')
    .set({
      smtp_host: input.smtp_host,
      smtp_port: input.smtp_port,
      smtp_security: input.smtp_security,
      smtp_user: input.smtp_user,
      from_name: input.from_name,
      from_address: input.from_address,
      reply_to_address: input.reply_to_address,
      subject_tag: input.subject_tag,
      updated_at: new Date(),
      ...password,
    })
    .where('id', '=', 1)
    .execute();
  // Mail that waited for a server goes out now rather than at its next scheduled try.
  await db.updateTable('outbox').set({ next_attempt_at: new Date() }).where('status', '=', 'queued').execute();
}
