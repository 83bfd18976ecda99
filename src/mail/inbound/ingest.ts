import { type ExpressionBuilder, sql, type Transaction } from 'kysely';
import { linkCasesInTransaction } from '../../case-links/case-links.ts';
import { applyCaseEvent, recordCaseEvent, type StatusKindCache } from '../../cases/case-events.ts';
import { createCaseRecord, markCaseActive } from '../../cases/cases.ts';
import type { Config } from '../../config.ts';
import { ensureContact } from '../../customers/customers.ts';
import { type Db, preparedAtEnd } from '../../db/database.ts';
import { type Case, type CaseNoteKind, caseColumns, type Database, type User } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { addDiscussionPostInTransaction } from '../../discussions/discussions.ts';
import { addMailDocuments, type NewMailDocument } from '../../documents/documents.ts';
import { mailImageType, storeMailImage } from '../../documents/inline-images.ts';
import { normalizeContentType } from '../../files/files.ts';
import { notifyUser } from '../../notifications/notifications.ts';
import { escapeHtml } from '../../rich-text/escape.ts';
import { isBlankRichText } from '../../rich-text/sanitize.ts';
import { addThreadEntry } from '../../threads/entries.ts';
import { mailCopyName } from '../copy-name.ts';
import { markBounced } from '../outbound/outbox.ts';
import { mailBodyHtml, normalizeCid, quotedLineRanges, referencedCids, rewriteCidLinks, textToHtml } from './body.ts';
import { trustedReferences } from './filters/case-match.ts';
import { runInboundFilters } from './filters/index.ts';
import type { SenderMatch, Verdict } from './filters/types.ts';
import type { IngestOutcome, IngestResult } from './outcome.ts';
import type { InboundAttachment, ParsedInbound } from './parse.ts';
import { addressesSeenOnCase, countRecentMailFromSender } from './queries.ts';
import { caseTitleFromSubject, decideReplyEffect } from './reply-rules.ts';
import { decideCaseMailRoute, decideSenderStanding } from './routing-rules.ts';

type Trx = Transaction<Database>;
type InboundRow = {
  id: string;
  file_id: string;
  mailbox_id: number | null;
  received_at: Date;
  // the mail's From, and From, To and Cc: kept on the row for the loop limit and senderStanding
  sender: string | null;
  addresses: string[];
};

const finalStatus: Record<IngestOutcome, 'processed' | 'ignored' | 'failed'> = {
  created: 'processed',
  appended: 'processed',
  reopened: 'processed',
  new_linked: 'processed',
  stranger: 'processed',
  discussion: 'processed',
  // kept for Administration → Possible loops, never retried as failed mail is
  possible_loop: 'ignored',
  bounce: 'ignored',
  auto_reply: 'ignored',
  own: 'ignored',
  duplicate: 'ignored',
  failed: 'failed',
};

type MailboxDefaults = {
  default_case_type_id: number | null;
  default_status_id: number | null;
  default_responsible_id: number | null;
  default_priority_id: number | null;
};

// What ingest reads about us for every message. Read mail and the import load it once per run
// (a run lasts seconds; a setting changed meanwhile applies from the next run), so a message
// costs no round trips for them; a single message (a retry) loads its own.
export type IngestSettings = {
  // our From and Reply-To addresses, lower-cased
  ownAddresses: string[];
  subjectTag: string;
  messageIdSecret: string;
  maxInboundBytes: number;
  reopenWithinDays: number;
  loopLimitPerHour: number;
  // active users' addresses, lower-cased: only a sender among them is looked up as staff
  staffEmails: Set<string>;
  // the first active case type, for mailboxes without a default
  firstCaseTypeId: number | null;
  // each mailbox's defaults, read when its first message is met
  mailboxDefaults: Map<number, MailboxDefaults | null>;
  // the first status of each kind a new case may start in, read when first needed
  statusKinds: StatusKindCache;
};

export async function loadIngestSettings(db: Db): Promise<IngestSettings> {
  const [mail, messageIdSecret, cases, staff, type] = await Promise.all([
    db
      .selectFrom('mail_settings')
      .select(['from_address', 'reply_to_address', 'subject_tag'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow(),
    loadSecret(db, 'message-id'),
    db
      .selectFrom('case_settings')
      .select(['max_inbound_mb', 'reopen_closed_within_days', 'loop_limit_per_hour'])
      .where('id', '=', 1)
      .executeTakeFirst(),
    db
      .selectFrom('users')
      .select(sql<string>`lower(email)`.as('email'))
      .where('active', '=', true)
      .where('email', 'is not', null)
      .execute(),
    db
      .selectFrom('case_types')
      .select('id')
      .where('active', '=', true)
      .orderBy('position')
      .orderBy('id')
      .executeTakeFirst(),
  ]);
  return {
    ownAddresses: [mail.from_address, mail.reply_to_address]
      .filter((a): a is string => Boolean(a))
      .map((a) => a.toLowerCase()),
    subjectTag: mail.subject_tag,
    messageIdSecret,
    maxInboundBytes: (cases?.max_inbound_mb ?? 25) * 1024 * 1024,
    reopenWithinDays: cases?.reopen_closed_within_days ?? 14,
    loopLimitPerHour: cases?.loop_limit_per_hour ?? 10,
    staffEmails: new Set(staff.map((u) => u.email)),
    firstCaseTypeId: type?.id ?? null,
    mailboxDefaults: new Map(),
    statusKinds: new Map(),
  };
}

// One stored, parsed message into the database, all or nothing. The inbound row is locked and its
// status re-checked first, so two readers (or a retry racing a poller) never ingest it twice.
export async function ingestInbound(
  db: Db,
  config: Config,
  inboundId: string,
  mail: ParsedInbound,
  given?: IngestSettings,
): Promise<IngestResult> {
  return db.transaction().execute(async (trx) => {
    // The same mail again (fetched from a second mailbox, imported twice, Message-ID reused by a
    // resend): its entry already exists, so it is a duplicate of that one. Asked in the same
    // round trip as the lock.
    const earlierEntry = (eb: ExpressionBuilder<Database, 'inbound_messages'>) =>
      eb
        .selectFrom('thread_entries')
        .where('thread_entries.message_id', '=', mail.messageId ?? '')
        .where(sql<boolean>`${mail.messageId !== null}`)
        .limit(1);
    const row = await trx
      .selectFrom('inbound_messages')
      .select(['id', 'status', 'file_id', 'mailbox_id', 'received_at', 'case_id'])
      .select((eb) => earlierEntry(eb).select('thread_entries.case_id').as('earlier_case_id'))
      .where('id', '=', inboundId)
      .forUpdate()
      .modifyEnd(preparedAtEnd)
      .executeTakeFirst();
    if (!row) throw new Error(`No stored inbound message ${inboundId}`);
    if (row.status === 'processed' || row.status === 'ignored') {
      return { inboundId, outcome: 'duplicate', caseNumber: await caseNumberOf(trx, row.case_id) };
    }
    const inbound: InboundRow = {
      id: String(row.id),
      file_id: String(row.file_id),
      mailbox_id: row.mailbox_id,
      received_at: row.received_at,
      sender: mail.from?.address.toLowerCase() || null,
      addresses: [
        ...new Set([mail.from, ...mail.to, ...mail.cc].map((a) => a?.address.toLowerCase()).filter((a) => !!a)),
      ] as string[],
    };
    if (row.earlier_case_id) {
      const caseId = row.earlier_case_id;
      return finish(trx, inbound, 'duplicate', { caseId, caseNumber: await caseNumberOf(trx, caseId) });
    }

    const settings = given ?? (await loadIngestSettings(trx));
    const verdict = await runInboundFilters(mail, {
      db: trx,
      ownAddresses: settings.ownAddresses,
      subjectTag: settings.subjectTag,
      messageIdSecret: settings.messageIdSecret,
    });
    const ctx: IngestContext = {
      trx,
      config,
      inbound,
      mail,
      verdict,
      settings,
      subjectTag: settings.subjectTag,
      messageIdSecret: settings.messageIdSecret,
    };

    switch (verdict.kind) {
      case 'own':
        return finish(trx, inbound, 'own', {});
      case 'bounce':
        return ingestBounce(ctx);
      case 'auto_reply':
        return ingestAutoReply(ctx);
      case 'customer':
        return ingestCustomerMail(ctx);
    }
  });
}

type IngestContext = {
  trx: Trx;
  config: Config;
  inbound: InboundRow;
  mail: ParsedInbound;
  verdict: Verdict;
  settings: IngestSettings;
  subjectTag: string;
  messageIdSecret: string;
};

async function caseNumberOf(trx: Trx, caseId: number | null): Promise<string | undefined> {
  if (!caseId) return undefined;
  const row = await trx.selectFrom('cases').select('number').where('id', '=', caseId).executeTakeFirst();
  return row?.number;
}

async function finish(
  trx: Trx,
  inbound: InboundRow,
  outcome: IngestOutcome,
  result: { caseId?: number; caseNumber?: string; entryId?: string },
): Promise<IngestResult> {
  await trx
    .updateTable('inbound_messages')
    .set({
      status: finalStatus[outcome],
      outcome,
      case_id: result.caseId ?? null,
      thread_entry_id: result.entryId ?? null,
      from_address: inbound.sender,
      addresses: inbound.addresses,
      processed_at: new Date(),
      error: null,
      attempts: sql`attempts + 1`,
    })
    .where('id', '=', inbound.id)
    .modifyEnd(preparedAtEnd)
    .execute();
  return { inboundId: inbound.id, outcome, ...(result.caseNumber ? { caseNumber: result.caseNumber } : {}) };
}

// --- the kinds of mail ------------------------------------------------------------------------

// A delivery report: a system entry in the case whose mail bounced, and that mail marked failed
// (unless the report only says delivery is delayed). Never a new case, never an answer.
async function ingestBounce(ctx: IngestContext): Promise<IngestResult> {
  const { trx, verdict, mail, inbound } = ctx;
  const bounce = verdict.bounce;
  if (bounce?.originalMessageId && !bounce.delayed) {
    await markBounced(trx, bounce.originalMessageId, bounce.reason);
  }
  if (!verdict.match) return finish(trx, inbound, 'bounce', {});
  const kase = verdict.match;
  const body = mailBodyHtml({ html: null, text: mail.text });
  const entry = await addThreadEntry(trx, {
    case_id: kase.caseId,
    side: 'system',
    user_id: null,
    author_name: mail.from?.name || mail.from?.address || 'Mail Delivery System',
    author_email: mail.from?.address ?? null,
    body_html: `<p><strong>${escapeHtml(bounce?.reason ?? mail.subject)}</strong></p>${body.html}`,
    message_id: mail.messageId,
    inbound_message_id: inbound.id,
  });
  await addEvent(trx, kase.caseId, 'mail_bounced', { new_value: (bounce?.reason ?? '').slice(0, 500) });
  await storeMailDocuments(ctx, kase.caseId, { attachments: false });
  return finish(trx, inbound, 'bounce', { caseId: kase.caseId, caseNumber: kase.number, entryId: String(entry.id) });
}

// An out-of-office or other automatic answer: joins the thread of the case it answers, marked
// automatic by its outcome, and changes nothing else; without a case it is only kept.
async function ingestAutoReply(ctx: IngestContext): Promise<IngestResult> {
  const { trx, verdict, inbound } = ctx;
  if (!verdict.match) return finish(trx, inbound, 'auto_reply', {});
  const kase = verdict.match;
  const entryId = await addCustomerEntry(ctx, kase.caseId);
  await addEvent(trx, kase.caseId, 'auto_reply_received', { new_value: ctx.mail.from?.address ?? null });
  return finish(trx, inbound, 'auto_reply', { caseId: kase.caseId, caseNumber: kase.number, entryId });
}

async function ingestCustomerMail(ctx: IngestContext): Promise<IngestResult> {
  const { trx, verdict } = ctx;
  // Before the sender is made a contact anywhere: a colleague's answer is no customer's mail.
  const staff = await findStaffSender(trx, ctx.inbound.sender, ctx.settings.staffEmails);
  const notification = staff ? await notificationAnswered(ctx, staff) : null;
  if (staff && notification) return ingestStaffAnswer(ctx, staff, notification);

  const sender = await ensureSenderContact(trx, verdict.sender);
  if (!verdict.match) {
    const created = await createCaseFromMail(ctx, sender, null);
    return finish(trx, ctx.inbound, 'created', created);
  }

  // Locked so a status edit or a second reply at the same moment cannot interleave with ours,
  // and so two mails from one sender are counted against the loop limit one after the other.
  const { contact_address: contactAddress, ...kase } = await trx
    .selectFrom('cases')
    .select(caseColumns)
    // the case's contact's own address, for the sender's standing; in the same round trip
    .select((eb) =>
      eb
        .selectFrom('contacts')
        .select('contacts.email')
        .whereRef('contacts.id', '=', 'cases.contact_id')
        .as('contact_address'),
    )
    .where('id', '=', verdict.match.caseId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const { reopenWithinDays, loopLimitPerHour } = ctx.settings;
  const standing = decideSenderStanding({
    sender: ctx.inbound.sender,
    senderCustomerId: sender?.customerId ?? null,
    isStaff: staff !== null,
    caseContactEmails: [kase.contact_email, contactAddress ?? null],
    caseCustomerId: kase.customer_id,
    seenAddresses: await addressesSeenOnCase(trx, kase.id),
  });
  const route = decideCaseMailRoute({
    standing,
    recentFromSender:
      standing === 'stranger' || !ctx.inbound.sender
        ? 0
        : await countRecentMailFromSender(trx, {
            caseId: kase.id,
            sender: ctx.inbound.sender,
            before: ctx.inbound.received_at,
            exceptId: ctx.inbound.id,
          }),
    loopLimitPerHour,
  });
  if (route === 'stranger_case') {
    // The named case is left exactly as it was: no entry, no reopen, no bell for its responsible.
    const created = await createCaseFromMail(ctx, sender, kase, { stranger: true });
    // Shown under "Linked cases" on both; a line in each history, but nothing in the named
    // case's thread.
    await linkCasesInTransaction(trx, created.caseId, kase.number, 'related', null);
    return finish(trx, ctx.inbound, 'stranger', created);
  }
  if (route === 'possible_loop') {
    // Kept (the raw mail, with its case and sender) for Administration → Possible loops; no
    // entry, so no reopen, no notification, and nothing Kontroll or anyone could answer.
    return finish(trx, ctx.inbound, 'possible_loop', { caseId: kase.id, caseNumber: kase.number });
  }
  const effect = decideReplyEffect({
    statusKind: kase.status_kind,
    closedAt: kase.closed_at,
    now: new Date(),
    reopenWithinDays,
  });

  if (effect === 'new_linked') {
    const created = await createCaseFromMail(ctx, sender, kase);
    await addEvent(trx, kase.id, 'follow_up_created', { new_value: created.caseNumber });
    // the old case is the new one's parent, listed under "Linked cases" on both
    await linkCasesInTransaction(trx, created.caseId, kase.number, 'parent', null);
    return finish(trx, ctx.inbound, 'new_linked', created);
  }

  const entryId = await addCustomerEntry(ctx, kase.id, sender);
  await addEvent(trx, kase.id, 'mail_received', { new_value: ctx.mail.from?.address ?? null });
  // An open case's status stays, but the lifecycle still hears the message: a response is owed
  // again on the service-level clock.
  await applyCaseEvent(trx, kase.id, effect === 'reopen' ? { type: 'reopened' } : { type: 'customer_replied' }, null);
  if (effect === 'append') {
    return finish(trx, ctx.inbound, 'appended', { caseId: kase.id, caseNumber: kase.number, entryId });
  }
  if (kase.responsible_id) {
    // notifyUser decides whether this kind also goes out by e-mail (so far: the bell only).
    await notifyUser(
      trx,
      {
        userId: kase.responsible_id,
        actorId: null,
        kind: 'customer_replied',
        caseId: kase.id,
        summary: `${kase.number} ${kase.title}`,
        link: `/cases/${kase.number}`,
      },
      { config: ctx.config },
    );
  }
  return finish(trx, ctx.inbound, effect === 'reopen' ? 'reopened' : 'appended', {
    caseId: kase.id,
    caseNumber: kase.number,
    entryId,
  });
}

// --- who wrote ---------------------------------------------------------------------------------

async function findStaffSender(trx: Trx, sender: string | null, staffEmails: Set<string>): Promise<User | null> {
  if (!sender || !staffEmails.has(sender)) return null;
  const user = await trx
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', sender)
    .where('active', '=', true)
    .orderBy('id')
    .executeTakeFirst();
  return user ?? null;
}

// The notification mail (a mention, an assignment) this mail answers, when we sent it to this
// very user: its signed Message-ID is in In-Reply-To or References and only its recipient had it.
async function notificationAnswered(
  ctx: IngestContext,
  staff: User,
): Promise<{ caseId: number; caseNumber: string } | null> {
  const ids = trustedReferences(ctx.mail.inReplyTo, ctx.mail.references, ctx.messageIdSecret);
  if (!ids.length || !staff.email) return null;
  const rows = await ctx.trx
    .selectFrom('outbox')
    .innerJoin('cases', 'cases.id', 'outbox.case_id')
    .select(['outbox.message_id', 'outbox.envelope_to', 'cases.id', 'cases.number'])
    .where('outbox.kind', '=', 'notification')
    .where('outbox.message_id', 'in', ids)
    .execute();
  const email = staff.email.toLowerCase();
  for (const id of ids) {
    const row = rows.find((r) => r.message_id === id && r.envelope_to.some((to) => to.toLowerCase() === email));
    if (row) return { caseId: row.id, caseNumber: row.number };
  }
  return null;
}

// A staff member's answer to a notification mail: a post in the case's internal discussion, as
// them (the customer never sees it), its quoted notification left out.
async function ingestStaffAnswer(
  ctx: IngestContext,
  staff: User,
  notification: { caseId: number; caseNumber: string },
): Promise<IngestResult> {
  const lines = ctx.mail.text.replace(/\r\n?/g, '\n').split('\n');
  const quoted = quotedLineRanges(lines);
  const own = lines
    .filter((_, i) => !quoted.some(([from, to]) => i >= from && i <= to))
    .join('\n')
    .trim();
  const text = own || ctx.mail.text.trim() || ctx.mail.subject;
  await addDiscussionPostInTransaction(ctx.trx, notification.caseId, textToHtml(text), staff, { config: ctx.config });
  return finish(ctx.trx, ctx.inbound, 'discussion', {
    caseId: notification.caseId,
    caseNumber: notification.caseNumber,
  });
}

// --- writing ------------------------------------------------------------------------------------

async function addEvent(
  trx: Trx,
  caseId: number,
  kind: CaseNoteKind,
  values: { old_value?: string | null; new_value?: string | null },
): Promise<void> {
  await recordCaseEvent(trx, caseId, kind, null, values);
}

// A sender placed at a customer by domain becomes a contact there.
async function ensureSenderContact(trx: Trx, sender: SenderMatch | null): Promise<SenderMatch | null> {
  if (!sender?.newContact) return sender;
  const contact = await ensureContact(trx, sender.newContact);
  return { ...sender, contactId: contact.id, newContact: null };
}

async function mailboxDefaultsOf(ctx: IngestContext, mailboxId: number): Promise<MailboxDefaults | null> {
  const known = ctx.settings.mailboxDefaults;
  if (!known.has(mailboxId)) {
    const row = await ctx.trx
      .selectFrom('mailboxes')
      .select(['default_case_type_id', 'default_status_id', 'default_responsible_id', 'default_priority_id'])
      .where('id', '=', mailboxId)
      .executeTakeFirst();
    known.set(mailboxId, row ?? null);
  }
  return known.get(mailboxId) ?? null;
}

// A new case from a mail: the mailbox's defaults, else the first open status and the first type;
// the mail as its first entry. previous: the long-closed case this mail answered.
async function createCaseFromMail(
  ctx: IngestContext,
  sender: SenderMatch | null,
  previous: Case | null,
  opts: { stranger?: boolean } = {},
): Promise<{ caseId: number; caseNumber: string; entryId: string }> {
  const { trx, inbound, mail } = ctx;
  const mailbox = inbound.mailbox_id ? await mailboxDefaultsOf(ctx, inbound.mailbox_id) : null;
  const type = mailbox?.default_case_type_id ?? ctx.settings.firstCaseTypeId;
  if (!type) throw new Error('No active case type; add one under Administration.');
  // An unknown sender answering an old case is most likely its customer still; a stranger
  // writing into another's case is not.
  const placed = sender?.customerId
    ? { customer_id: sender.customerId, contact_id: sender.contactId }
    : previous && !opts.stranger
      ? { customer_id: previous.customer_id, contact_id: previous.contact_id }
      : { customer_id: null, contact_id: null };

  // without a mailbox default the lifecycle starts it in the first open status
  const created = await createCaseRecord(
    trx,
    {
      title: caseTitleFromSubject(mail.subject, ctx.subjectTag),
      ...placed,
      contact_name: sender?.name ?? null,
      contact_email: sender?.email ?? null,
      responsible_id: mailbox?.default_responsible_id ?? null,
      status_id: mailbox?.default_status_id ?? null,
      case_type_id: type,
      priority_id: mailbox?.default_priority_id ?? null,
      source: 'email',
      unknown_sender: placed.customer_id === null,
      previous_case_id: previous?.id ?? null,
      triage_reason: opts.stranger ? 'unknown_sender_on_case' : null,
      created_by: null,
    },
    null,
    { via: 'email', statusKinds: ctx.settings.statusKinds },
  );
  if (previous) await addEvent(trx, created.id, 'follows_case', { old_value: previous.number });
  const entryId = await addCustomerEntry(ctx, created.id, sender, { created: true });
  if (created.responsible_id) {
    await notifyUser(
      trx,
      {
        userId: created.responsible_id,
        actorId: null,
        kind: 'assigned',
        caseId: created.id,
        summary: `${created.number} ${created.title}`,
        link: `/cases/${created.number}`,
      },
      { config: ctx.config },
    );
  }
  return { caseId: created.id, caseNumber: created.number, entryId };
}

// The mail as a customer entry in the thread, with its .eml, attachments and inline images.
// created: the case was made for this mail a moment ago, so its latest activity is now already.
async function addCustomerEntry(
  ctx: IngestContext,
  caseId: number,
  sender?: SenderMatch | null,
  opts: { created?: boolean } = {},
): Promise<string> {
  const { trx, mail, inbound } = ctx;
  const images = await storeInlineImages(ctx, caseId);
  const html = mail.html ? rewriteCidLinks(mail.html, images.urls) : null;
  let body = mailBodyHtml({ html, text: mail.text });
  if (isBlankRichText(body.html) && mail.text.trim()) body = mailBodyHtml({ html: null, text: mail.text });
  const entry = await addThreadEntry(trx, {
    case_id: caseId,
    side: 'customer',
    user_id: null,
    author_name: (sender?.name || mail.from?.name || mail.from?.address || '?').slice(0, 200),
    author_email: mail.from?.address ?? null,
    body_html: isBlankRichText(body.html) ? textToHtml('') : body.html,
    message_id: mail.messageId,
    inbound_message_id: inbound.id,
    created_at: new Date(),
  });
  await storeMailDocuments(ctx, caseId, { attachments: true, skip: images.used });
  if (!opts.created) await markCaseActive(trx, caseId);
  return String(entry.id);
}

// Images the HTML shows by cid: become inline images (shown in place, never a document). Only
// types a browser shows without running anything, proven by their first bytes.
async function storeInlineImages(
  ctx: IngestContext,
  caseId: number,
): Promise<{ urls: Map<string, string>; used: Set<InboundAttachment> }> {
  const urls = new Map<string, string>();
  const used = new Set<InboundAttachment>();
  const referenced = ctx.mail.html ? referencedCids(ctx.mail.html) : new Set<string>();
  for (const attachment of ctx.mail.attachments) {
    if (!attachment.contentId) continue;
    const cid = normalizeCid(attachment.contentId);
    if (!referenced.has(cid)) continue;
    if (!urls.has(cid)) {
      const url = await storeMailImage(ctx.trx, { content: attachment.content, caseId });
      if (!url) continue;
      urls.set(cid, url);
    } else if (!mailImageType(attachment.content)) continue;
    used.add(attachment);
  }
  return { urls, used };
}

const extensions: Record<string, string> = {
  'message/rfc822': 'eml',
  'text/plain': 'txt',
  'text/html': 'html',
  'text/calendar': 'ics',
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

// "2026-11-27 14.05 Skrivaren fastnar.eml": sorts by time in the folder, says what it is.
function emlName(ctx: IngestContext): string {
  return mailCopyName(ctx.mail.date ?? ctx.inbound.received_at, ctx.mail.subject, {
    timeZone: ctx.config.timeZone,
    subjectTag: ctx.subjectTag,
  });
}

// DOC2/DOC3: the raw message (its stored file, not a copy) and the attachments, each a document
// in E-mail IN. Attachments go there rather than in a general folder: they came with the mail,
// and a general folder may start an approval chain that would lock a customer's file on arrival.
async function storeMailDocuments(
  ctx: IngestContext,
  caseId: number,
  opts: { attachments: boolean; skip?: Set<InboundAttachment> },
): Promise<void> {
  const document = (fileName: string, file: NewMailDocument['file']): NewMailDocument => ({
    caseId,
    folder: 'email_in',
    fileName,
    file,
    noteInHistory: true,
    inboundMessageId: ctx.inbound.id,
  });
  const documents = [document(emlName(ctx), { id: ctx.inbound.file_id })];
  if (opts.attachments) {
    let n = 0;
    for (const attachment of ctx.mail.attachments) {
      if (opts.skip?.has(attachment)) continue;
      n += 1;
      const contentType = normalizeContentType(attachment.contentType);
      const fallback = `attachment-${n}.${extensions[contentType] ?? 'bin'}`;
      documents.push(document(attachment.fileName?.trim() || fallback, { content: attachment.content, contentType }));
    }
  }
  await addMailDocuments(ctx.trx, documents);
}
