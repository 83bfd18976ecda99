import { sql } from 'kysely';
import { type Db, preparedAtEnd } from '../../db/database.ts';
import { withoutNul } from '../../db/text.ts';
import { storeFile, withStoredContent } from '../../files/files.ts';
import { cleanMessageId } from './parse.ts';

export type InboundSource =
  | { source: 'imap'; mailboxId: number; uidValidity: number; uid: number }
  | { source: 'import' };

// The Message-ID header of a raw message, read without a full parse (the parse may be what fails).
export function peekMessageId(raw: Buffer): string | null {
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const headers = (end >= 0 ? head.slice(0, end) : head).replace(/\r?\n[ \t]+/g, ' ');
  const match = /^message-id:\s*(<[^>\r\n]+>)/im.exec(headers);
  return match?.[1] ? cleanMessageId(match[1]) : null;
}

// The raw bytes kept as a file, and where they came from: what every inbound row carries.
async function rawMessageValues(db: Db, raw: Buffer, from: InboundSource) {
  const file = await storeFile(db, {
    content: raw,
    contentType: 'message/rfc822',
    createdBy: null,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  return {
    source: from.source,
    mailbox_id: from.source === 'imap' ? from.mailboxId : null,
    uid_validity: from.source === 'imap' ? from.uidValidity : null,
    uid: from.source === 'imap' ? from.uid : null,
    file_id: file.id,
    size_bytes: raw.length,
  };
}

// Keeps the raw message in PostgreSQL before anything else happens to it: the file, its chunks
// and the inbound row in one statement (one round trip, one commit). A second store of the same
// IMAP message (same mailbox, UIDVALIDITY and UID) returns the first row instead.
export async function storeInboundRaw(
  db: Db,
  raw: Buffer,
  from: InboundSource,
): Promise<{ id: string; duplicate: boolean }> {
  const imap = from.source === 'imap' ? from : null;
  // For an IMAP message already stored, nothing is written, not even the file.
  const notStored = imap
    ? sql<boolean>`not exists (select 1 from inbound_messages where mailbox_id = ${imap.mailboxId} and uid_validity = ${imap.uidValidity} and uid = ${imap.uid})`
    : undefined;
  const row = await withStoredContent(
    db,
    { content: raw, contentType: 'message/rfc822', createdBy: null },
    { onlyIf: notStored },
  )
    .insertInto('inbound_messages')
    .columns(['source', 'mailbox_id', 'uid_validity', 'uid', 'file_id', 'size_bytes', 'message_id'])
    .expression((eb) =>
      eb
        .selectFrom('stored_file')
        .select([
          eb.val(from.source).as('source'),
          eb.val(imap?.mailboxId ?? null).as('mailbox_id'),
          eb.val(imap?.uidValidity ?? null).as('uid_validity'),
          eb.val(imap?.uid ?? null).as('uid'),
          'stored_file.id',
          eb.val(raw.length).as('size_bytes'),
          eb.val(peekMessageId(raw)).as('message_id'),
        ]),
    )
    // a unique constraint, not a partial index: safe to prepare once per connection
    .onConflict((oc) => oc.columns(['mailbox_id', 'uid_validity', 'uid']).doNothing())
    .returning('id')
    .modifyEnd(preparedAtEnd)
    .executeTakeFirst();
  if (row) return { id: String(row.id), duplicate: false };
  // Stored before. (Two readers of one mailbox cannot race between the check and the insert:
  // Read mail holds the mailbox's lock.)
  if (!imap) throw new Error('the inbound message was not stored');
  const other = await db
    .selectFrom('inbound_messages')
    .select('id')
    .where('mailbox_id', '=', imap.mailboxId)
    .where('uid_validity', '=', imap.uidValidity)
    .where('uid', '=', imap.uid)
    .executeTakeFirstOrThrow();
  return { id: String(other.id), duplicate: true };
}

// A message Read mail could not take in is kept all the same, as failed, with its UID, the error
// and what there is of it, so Failed mail shows it and the reader marks it and goes on:
// - outcome 'failed': storeInboundRaw could not store it (the database refused something in
//   it); its raw bytes are kept, and a retry processes them;
// - outcome 'unreadable': the server never handed it out; nothing of it is kept, so a retry has
//   nothing to process, and the message stays on the server.
// Throws only when the database refuses even this; the reader then stops with it unmarked.
export async function recordFailedInbound(
  db: Db,
  failed: { raw: Buffer; from: InboundSource; error: string; outcome: 'failed' | 'unreadable' },
): Promise<string> {
  const { raw, from } = failed;
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('inbound_messages')
      .values({
        ...(await rawMessageValues(trx, raw, from)),
        message_id: null,
        status: 'failed',
        outcome: failed.outcome,
        error: withoutNul(failed.error).slice(0, 4000),
        processed_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return String(row.id);
  });
}
