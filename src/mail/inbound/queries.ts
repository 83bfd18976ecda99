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

// Every address a case's mails have had, lower-cased: the senders, To and Cc of the mails that
// joined it (an automatic answer does not make its sender known), the writers of its customer
// entries (mails from before addresses were kept), and the recipients of our replies.
export async function addressesSeenOnCase(db: Db, caseId: number): Promise<string[]> {
  const { rows } = await sql<{ address: string }>`
    select lower(a) as address
      from inbound_messages m cross join lateral unnest(m.addresses) a
     where m.case_id = ${caseId} and m.outcome in ('created', 'appended', 'reopened', 'new_linked', 'possible_loop')
    union
    select lower(t.author_email)
      from thread_entries t left join inbound_messages m on m.id = t.inbound_message_id
     where t.case_id = ${caseId} and t.side = 'customer' and t.author_email is not null
       and m.outcome is distinct from 'auto_reply'
    union
    select lower(a)
      from outbox o cross join lateral unnest(o.envelope_to) a
     where o.case_id = ${caseId} and o.kind = 'reply'`.execute(db);
  return rows.map((r) => r.address);
}

// The loop limit's count: one sender's mails on one case in the hour before `before`.
// Served by inbound_messages_case_sender (case_id, from_address, received_at).
export async function countRecentMailFromSender(
  db: Db,
  input: { caseId: number; sender: string; before: Date; exceptId: string },
): Promise<number> {
  const row = await db
    .selectFrom('inbound_messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('case_id', '=', input.caseId)
    .where('from_address', '=', input.sender)
    .where('received_at', '>', sql<Date>`${input.before}::timestamptz - interval '1 hour'`)
    .where('received_at', '<=', input.before)
    .where('id', '!=', input.exceptId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// Administration → Possible loops: mails kept without joining their case, newest first.
// Served by the partial index inbound_messages_possible_loop.
export async function listPossibleLoops(db: Db, limit = 200) {
  return db
    .selectFrom('inbound_messages')
    .leftJoin('cases', 'cases.id', 'inbound_messages.case_id')
    .select([
      'inbound_messages.id',
      'inbound_messages.received_at',
      'inbound_messages.from_address',
      'inbound_messages.message_id',
      'cases.number as case_number',
      'cases.title as case_title',
    ])
    .where('inbound_messages.outcome', '=', 'possible_loop')
    .orderBy('inbound_messages.id', 'desc')
    .limit(limit)
    .execute();
}
