import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { parseBigId } from '../../forms/form.ts';

// Administration → Failed mail: what failed, and what was stored but never processed (a reader
// that died between storing and processing) once it is older than a normal read takes.
// Served by the partial index inbound_messages_open (status, id).
export async function listFailedInbound(db: Db, limit = 200) {
  return db
    .selectFrom('inbound_messages')
    .leftJoin('mailboxes', 'mailboxes.id', 'inbound_messages.mailbox_id')
    .select([
      'inbound_messages.id',
      'inbound_messages.status',
      'inbound_messages.source',
      'inbound_messages.message_id',
      'inbound_messages.size_bytes',
      'inbound_messages.error',
      'inbound_messages.attempts',
      'inbound_messages.received_at',
      'inbound_messages.outcome',
      'inbound_messages.uid',
      'mailboxes.name as mailbox_name',
      'mailboxes.after_read',
      'mailboxes.move_to_folder',
    ])
    .where((eb) =>
      eb.or([
        eb('inbound_messages.status', '=', 'failed'),
        eb.and([
          eb('inbound_messages.status', '=', 'pending'),
          eb('inbound_messages.received_at', '<', sql<Date>`now() - interval '5 minutes'`),
        ]),
      ]),
    )
    .orderBy('inbound_messages.id', 'desc')
    .limit(limit)
    .execute();
}

// outcome 'too_large': only the header was downloaded (fetch.ts); the mailbox says where the
// message itself was left on the server.
export async function findInboundRaw(db: Db, id: string) {
  if (parseBigId(String(id)) === null) return undefined;
  return db
    .selectFrom('inbound_messages')
    .innerJoin('files', 'files.id', 'inbound_messages.file_id')
    .leftJoin('mailboxes', 'mailboxes.id', 'inbound_messages.mailbox_id')
    .select([
      'inbound_messages.id',
      'inbound_messages.file_id',
      'files.size_bytes',
      'inbound_messages.status',
      'inbound_messages.outcome',
      'mailboxes.after_read',
      'mailboxes.move_to_folder',
    ])
    .where('inbound_messages.id', '=', id)
    .executeTakeFirst();
}
