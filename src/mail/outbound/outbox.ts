import type { Insertable, RawBuilder } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Language, OutboxTable } from '../../db/schema.ts';

export type NewOutboxMessage = Omit<
  Insertable<OutboxTable>,
  'id' | 'attempts' | 'locked_until' | 'sent_at' | 'last_error'
>;

export async function enqueueMessage(db: Db, message: NewOutboxMessage & { raw: Buffer }): Promise<string> {
  const row = await db.insertInto('outbox').values(message).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

// A mail the sender composes when it goes, with the mail settings of that moment (from, reply-to,
// the Message-ID's domain): what composeMail needs besides them. Its Message-ID is fixed now,
// so replies to it find the case from the start.
export type MailToCompose = {
  to: string[];
  subject: string;
  bodyHtml: string;
  // the plain-text part; without it the sender makes one from bodyHtml
  text?: string;
  inReplyTo: string | null;
  references: string[];
  caseNumber: string | null;
  autoSubmitted: boolean;
};
export type NewMailToCompose = Omit<NewOutboxMessage, 'raw' | 'compose' | 'subject' | 'envelope_to'> & {
  compose: MailToCompose;
};

// Many at once (Kontroll's batch): one insert, no composing in the caller's transaction.
export async function enqueueMailsToCompose(db: Db, mails: NewMailToCompose[]): Promise<void> {
  if (!mails.length) return;
  await db
    .insertInto('outbox')
    .values(
      mails.map(({ compose, ...row }) => ({
        ...row,
        envelope_to: compose.to,
        subject: compose.subject,
        raw: null,
        compose: JSON.stringify(compose),
      })),
    )
    .execute();
}

// A system mail the sender writes when it goes (the escalation job's notifications, thousands at
// once): its texts as catalogue keys and parameters, written in the recipient's language then
// (system-mail.ts, writeSystemMail), so queueing one costs a few hundred bytes and no composing.
// Its recipients and subject are the outbox row's envelope_to and subject; its Message-ID is given
// when it is composed.
export type SystemMailToWrite = {
  language: Language;
  // the case it is about (the X-Casedesk-Case header); the subject already carries its tag
  caseNumber: string | null;
  paragraphs: (SystemMailText & { href?: string; small?: boolean })[];
};
export type SystemMailText = { key: string; params?: Record<string, SystemMailParam> };
// as it is; another catalogue text; an instant (ISO 8601), written as date and time in the
// configured time zone
export type SystemMailParam = string | { key: string } | { dateTime: string };

export function isSystemMailToWrite(compose: MailToCompose | SystemMailToWrite): compose is SystemMailToWrite {
  return 'paragraphs' in compose;
}

// Many system mails to write of one language, as columns: each array has one value per mail, the
// rest is the same for all. The parameters and links of the paragraphs are columns too.
export type SystemMailsToWrite = {
  language: Language;
  envelope_from: string;
  case_id: (number | null)[];
  to: string[];
  subject: string[];
  created_by: (number | null)[];
  caseNumber: (string | null)[];
  paragraphs: {
    key: string;
    params?: Record<string, { text: string[] } | { dateTime: string[] }>;
    href?: string | string[];
    small?: boolean;
  }[];
};

// One statement, one parameter per column however many mails, and each mail's compose (a
// SystemMailToWrite) built by PostgreSQL: a JSON text of 200,000 mails took pg longer to parse than
// the insert itself took. A column whose values are all the same goes as one value, and a
// paragraph without columns as one jsonb, built once.
export async function enqueueSystemMailsToWrite(db: Db, mails: SystemMailsToWrite): Promise<void> {
  if (!mails.to.length) return;
  const arrays: RawBuilder<unknown>[] = [];
  const column = (values: unknown[], type: 'text' | 'integer') => {
    if (values.every((v) => v === values[0])) return sql`${values[0]}::${sql.raw(type)}`;
    arrays.push(sql`${values}::${sql.raw(type)}[]`);
    return sql.ref(`v.c${arrays.length - 1}`);
  };
  const [caseId, to, subject, createdBy, caseNumber] = [
    column(mails.case_id, 'integer'),
    column(mails.to, 'text'),
    column(mails.subject, 'text'),
    column(mails.created_by, 'integer'),
    column(mails.caseNumber, 'text'),
  ];
  const paragraphs = mails.paragraphs.map((p) => {
    if (!p.params && !Array.isArray(p.href)) return sql`${JSON.stringify(p)}::jsonb`;
    const fields = [sql`'key', ${p.key}::text`];
    const params = Object.entries(p.params ?? {}).map(([name, values]) =>
      'text' in values
        ? sql`${name}::text, ${column(values.text, 'text')}`
        : sql`${name}::text, jsonb_build_object('dateTime', ${column(values.dateTime, 'text')})`,
    );
    if (params.length) fields.push(sql`'params', jsonb_build_object(${sql.join(params)})`);
    if (p.href !== undefined)
      fields.push(sql`'href', ${Array.isArray(p.href) ? column(p.href, 'text') : sql`${p.href}::text`}`);
    if (p.small) fields.push(sql`'small', true`);
    return sql`jsonb_build_object(${sql.join(fields)})`;
  });
  // one row per mail, also when every column is the same for all
  if (!arrays.length) arrays.push(sql`${mails.to.map(() => null)}::integer[]`);
  const names = sql.raw(arrays.map((_c, i) => `c${i}`).join(', '));
  await sql`
    insert into outbox (kind, case_id, thread_entry_id, message_id, envelope_from, envelope_to, subject, status,
      created_by, raw, compose)
    select 'notification', ${caseId}, null, null, ${mails.envelope_from}::text, array[${to}], ${subject}, 'queued',
           ${createdBy}, null,
           jsonb_build_object('language', ${mails.language}::text, 'caseNumber', ${caseNumber},
             'paragraphs', jsonb_build_array(${sql.join(paragraphs)}))
      from unnest(${sql.join(arrays)}) as v (${names})`.execute(db);
}

// The sender composed a claimed message: from now on it is these bytes, on every try, with the
// Message-ID they carry.
export async function storeComposedRaw(db: Db, id: string, raw: Buffer, messageId: string): Promise<void> {
  await db.updateTable('outbox').set({ raw, message_id: messageId, compose: null }).where('id', '=', id).execute();
}

// Waits before each new try after a temporary failure; after 24 hours the message fails for good.
export const retryDelaysMs = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000];
export const giveUpAfterMs = 24 * 3600_000;
// How long a claim holds unless renewed. The sender renews it while its SMTP transaction goes on
// (sender.ts), so it runs out only when the sender is gone; then the message waits this long.
export const defaultClaimMs = 60_000;

export function nextRetryDelay(attempts: number): number {
  return retryDelaysMs[Math.min(attempts - 1, retryDelaysMs.length - 1)] ?? 2 * 3600_000;
}

export type ClaimedMessage = {
  id: string;
  kind: OutboxTable['kind'];
  envelope_from: string;
  envelope_to: string[];
  // null: composed when it goes, from `compose`
  raw: Buffer | null;
  compose: MailToCompose | SystemMailToWrite | null;
  attempts: number;
  give_up_at: Date;
  case_id: number | null;
  // null: a system mail to write, given its Message-ID when it is composed
  message_id: string | null;
  thread_entry_id: string | null;
  subject: string;
  // the agent who sent it (null: the system, e.g. Kontroll)
  created_by: number | null;
};

// Takes up to `limit` due messages for this sender. SKIP LOCKED lets several instances claim
// side by side without ever taking the same message; the claim expires if the sender dies. A
// reply held for Undo is not due before its hold ends, by the database's clock, whichever
// instance asks, and whatever a retry did to next_attempt_at.
export async function claimDueMessages(db: Db, limit: number, claimMs = defaultClaimMs): Promise<ClaimedMessage[]> {
  const result = await sql<ClaimedMessage>`
    update outbox set status = 'sending', attempts = attempts + 1,
      locked_until = now() + make_interval(secs => ${claimMs / 1000})
    where id in (
      select id from outbox
      where status = 'queued' and next_attempt_at <= now() and (held_until is null or held_until <= now())
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning id, kind, envelope_from, envelope_to, raw, compose, attempts, give_up_at, case_id, message_id, thread_entry_id, subject, created_by`.execute(
    db,
  );
  return result.rows;
}

// "Send now" with Undo: the queued message waits `seconds` from this moment before any sender
// may claim it. The clock is the database's, the same one the claim reads.
export async function holdForUndo(db: Db, id: string, seconds: number): Promise<void> {
  await sql`update outbox set held_until = clock_timestamp() + make_interval(secs => ${seconds})
    where id = ${id}`.execute(db);
}

// Milliseconds until the earliest hold for Undo ends (by the database's clock), or null when no
// queued message is held: the sender wakes up then instead of at its next poll.
export async function msUntilNextHoldEnds(db: Db): Promise<number | null> {
  const result = await sql<{ ms: number | null }>`
    select ceil(extract(epoch from min(held_until) - now()) * 1000)::int as ms
    from outbox where status = 'queued' and held_until > now()`.execute(db);
  return result.rows[0]?.ms ?? null;
}

// Claims of a sender that crashed mid-send go back to the queue (the message may go twice in
// that rare case, with the same Message-ID, which mail programs show once). Compared with the
// database's clock, which set the claim: another instance's clock running ahead must not take
// a live claim over.
export async function releaseExpiredClaims(db: Db): Promise<number> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'queued', locked_until: null })
    .where('status', '=', 'sending')
    .where('locked_until', '<', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// A claim is this sender's while the message is 'sending' with the attempt count it claimed
// (each claim counts one more). Writes after the SMTP answer check it, so a sender whose claim
// ran out never puts back a message that another sender has sent meanwhile.
type Claim = Pick<ClaimedMessage, 'id' | 'attempts'>;

// Extends the claim while the SMTP transaction is still going; false when the claim is no longer
// this sender's (it ran out and another took the message, or a bounce or cancel came between).
export async function renewClaim(db: Db, claim: Claim, claimMs = defaultClaimMs): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ locked_until: sql<Date>`now() + make_interval(secs => ${claimMs / 1000})` })
    .where('id', '=', claim.id)
    .where('status', '=', 'sending')
    .where('attempts', '=', claim.attempts)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function markSent(db: Db, id: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ status: 'sent', sent_at: new Date(), locked_until: null, last_error: null })
    .where('id', '=', id)
    .execute();
}

export async function markFailedAttempt(
  db: Db,
  message: Pick<ClaimedMessage, 'id' | 'attempts' | 'give_up_at'>,
  error: string,
  permanent: boolean,
): Promise<'failed' | 'queued'> {
  const giveUp = permanent || Date.now() + nextRetryDelay(message.attempts) > new Date(message.give_up_at).getTime();
  await db
    .updateTable('outbox')
    .set({
      status: giveUp ? 'failed' : 'queued',
      last_error: error.slice(0, 1000),
      locked_until: null,
      next_attempt_at: new Date(Date.now() + (giveUp ? 0 : nextRetryDelay(message.attempts))),
    })
    .where('id', '=', message.id)
    .where('status', '=', 'sending')
    .where('attempts', '=', message.attempts)
    .execute();
  return giveUp ? 'failed' : 'queued';
}

// No SMTP server yet: the message stays queued, says why, and is looked at again later.
export async function markWaitingForServer(db: Db, claim: Claim, note: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({
      status: 'queued',
      attempts: sql<number>`greatest(attempts - 1, 0)`,
      last_error: note,
      locked_until: null,
      next_attempt_at: new Date(Date.now() + 60_000),
    })
    .where('id', '=', claim.id)
    .where('status', '=', 'sending')
    .where('attempts', '=', claim.attempts)
    .execute();
}

export async function retryMessage(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'queued', next_attempt_at: new Date(), give_up_at: new Date(Date.now() + giveUpAfterMs) })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'queued', 'cancelled'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function cancelMessage(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'cancelled', locked_until: null })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'failed', 'draft'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

// A delivery report said the message never arrived: it failed for good, whatever state the
// sender left it in (a report can come back before the sender recorded it as sent).
export async function markBounced(db: Db, messageId: string, reason: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ status: 'failed', last_error: `Bounced: ${reason}`.slice(0, 1000), locked_until: null })
    .where('message_id', '=', messageId)
    .where('status', 'in', ['queued', 'sending', 'sent'])
    .execute();
}

// A merge moves a case's thread to the case it was merged into (src/cases/merge.ts), a split the
// chosen entries to a new case (src/cases/split.ts); the mails of those replies go with them, so
// their state shows beside them there and what the sender records of them goes into that case's
// history.
export async function moveCaseOutbox(db: Db, fromCaseId: number, toCaseId: number, entryIds?: string[]): Promise<void> {
  if (entryIds && !entryIds.length) return;
  let move = db.updateTable('outbox').set({ case_id: toCaseId }).where('case_id', '=', fromCaseId);
  if (entryIds) move = move.where('thread_entry_id', 'in', entryIds);
  await move.execute();
}
