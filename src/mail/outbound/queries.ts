import type { Db } from '../../db/database.ts';
import type { OutboxStatus } from '../../db/schema.ts';

export const outboxStatuses = [
  'queued',
  'sending',
  'sent',
  'failed',
  'cancelled',
  'draft',
] as const satisfies readonly OutboxStatus[];
export const outboxPageSize = 50;

export function isOutboxStatus(value: unknown): value is OutboxStatus {
  return outboxStatuses.some((status) => status === value);
}

// The administration's outbox list, newest first (served by the primary key, read backwards), one
// page at a time; one row more than a page tells whether a next page exists.
export async function listOutbox(db: Db, opts: { status: OutboxStatus | null; page: number }) {
  let query = db
    .selectFrom('outbox')
    .leftJoin('cases', 'cases.id', 'outbox.case_id')
    .select([
      'outbox.id',
      'outbox.created_at',
      'outbox.kind',
      'cases.number as case_number',
      'outbox.envelope_to',
      'outbox.subject',
      'outbox.status',
      'outbox.attempts',
      'outbox.next_attempt_at',
      'outbox.last_error',
      'outbox.sent_at',
    ])
    .orderBy('outbox.id', 'desc')
    .limit(outboxPageSize + 1)
    .offset((opts.page - 1) * outboxPageSize);
  if (opts.status) query = query.where('outbox.status', '=', opts.status);
  const rows = await query.execute();
  return { rows: rows.slice(0, outboxPageSize), hasMore: rows.length > outboxPageSize };
}
export type OutboxRow = Awaited<ReturnType<typeof listOutbox>>['rows'][number];

// What the settings form shows: the stored values, and only whether a password is stored.
export async function findStoredMailSettings(db: Db) {
  return db
    .selectFrom('mail_settings')
    .select((eb) => [
      'smtp_host',
      'smtp_port',
      'smtp_security',
      'smtp_user',
      'from_name',
      'from_address',
      'reply_to_address',
      'subject_tag',
      eb('smtp_password_encrypted', 'is not', null).as('has_password'),
    ])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
}
export type StoredMailSettings = Awaited<ReturnType<typeof findStoredMailSettings>>;
