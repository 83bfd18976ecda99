import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { loadSecret } from '../../db/secrets.ts';
import { openApprovalStates } from '../../documents/access.ts';
import { readFileContent } from '../../files/files.ts';
import { composeMail, type InlineImage, imageTokensIn, type MailAttachment, subjectWithTag } from './compose.ts';
import { createMessageId } from './message-id.ts';
import { enqueueMessage } from './outbox.ts';
import { loadMailSettings } from './settings.ts';

export type ReplyAddressing = { to: string[]; cc: string[]; documentIds: string[] };

// Threading for a reply after these earlier messages of the case (oldest first): it answers the
// customer's latest message and names the conversation so far.
export function threadingAfter(earlier: { message_id: string | null; side: string }[]): {
  references: string[];
  inReplyTo: string | null;
} {
  const withId = earlier.filter((e) => e.message_id);
  const references = withId.map((e) => e.message_id as string).slice(-20);
  const inReplyTo = withId.filter((e) => e.side === 'customer').at(-1)?.message_id ?? references.at(-1) ?? null;
  return { references, inReplyTo };
}

export type ComposedReply = {
  raw: Buffer;
  messageId: string;
  // true when the entry had no Message-ID yet and this one is new
  newMessageId: boolean;
  subject: string;
  envelopeFrom: string;
  envelopeTo: string[];
  // the documents that went in as attachments (refused ones are left out)
  documentIds: string[];
};

// The e-mail for a staff reply in a case's thread, composed from what the database holds now.
// Reads only: the Send-to-customer preview shows it without changing anything.
export async function composeReplyMail(
  db: Db,
  config: Config,
  input: {
    caseId: number;
    entryId: string;
    addressing: ReplyAddressing;
    // instead of the case's title; the case tag is added either way
    subject?: string;
    // system replies: tells autoresponders not to answer
    autoSubmitted?: boolean;
    // a new Message-ID even when the entry has one (its earlier message failed or was cancelled)
    freshMessageId?: boolean;
  },
): Promise<ComposedReply> {
  const [kase, entry, settings, secret] = await Promise.all([
    db.selectFrom('cases').select(['id', 'number', 'title']).where('id', '=', input.caseId).executeTakeFirstOrThrow(),
    db
      .selectFrom('thread_entries')
      .select(['id', 'body_html', 'message_id'])
      .where('id', '=', input.entryId)
      .executeTakeFirstOrThrow(),
    loadMailSettings(db, config),
    loadSecret(db, 'message-id'),
  ]);
  const kept = input.freshMessageId ? null : entry.message_id;
  const messageId = kept ?? createMessageId(settings.messageIdDomain, secret);

  const earlier = await db
    .selectFrom('thread_entries')
    .select(['message_id', 'side'])
    .where('case_id', '=', kase.id)
    .where('id', '<', entry.id)
    .where('message_id', 'is not', null)
    .orderBy('id')
    .execute();
  const { references, inReplyTo } = threadingAfter(earlier);

  const tokens = imageTokensIn(entry.body_html);
  const images = tokens.length
    ? await db
        .selectFrom('inline_images')
        .innerJoin('files', 'files.id', 'inline_images.file_id')
        .select(['inline_images.token', 'files.id as file_id', 'files.content_type'])
        .where('inline_images.token', 'in', tokens)
        .execute()
    : [];
  const inlineImages: InlineImage[] = await Promise.all(
    images.map(async (image) => ({
      token: image.token,
      contentType: image.content_type,
      content: await readFileContent(db, image.file_id),
    })),
  );
  const documents = input.addressing.documentIds.length
    ? await db
        .selectFrom('documents')
        .innerJoin('files', 'files.id', 'documents.file_id')
        .select(['documents.id', 'documents.file_name', 'files.id as file_id', 'files.content_type'])
        .where('documents.case_id', '=', kase.id)
        .where('documents.deleted_at', 'is', null)
        // a document locked in an approval chain leaves the house only once approved
        .where('documents.approval_state', 'in', openApprovalStates)
        .where('documents.id', 'in', input.addressing.documentIds)
        .orderBy('documents.id')
        .execute()
    : [];
  const attachments: MailAttachment[] = await Promise.all(
    documents.map(async (d) => ({
      fileName: d.file_name,
      contentType: d.content_type,
      content: await readFileContent(db, d.file_id),
    })),
  );

  const subject = subjectWithTag(settings.subjectTag, kase.number, input.subject ?? kase.title);
  const raw = await composeMail({
    settings,
    messageId,
    to: input.addressing.to,
    cc: input.addressing.cc,
    subject,
    bodyHtml: entry.body_html,
    inlineImages,
    attachments,
    inReplyTo,
    references,
    caseNumber: kase.number,
    autoSubmitted: input.autoSubmitted ?? false,
  });
  return {
    raw,
    messageId,
    newMessageId: messageId !== entry.message_id,
    subject,
    envelopeFrom: settings.fromAddress,
    envelopeTo: [...input.addressing.to, ...input.addressing.cc],
    documentIds: documents.map((d) => String(d.id)),
  };
}

// The reply's e-mail, composed once and put in the outbox to go now. The entry keeps the
// Message-ID and the documents that went with it.
// Runs inside the caller's transaction, so a reply and its outbox entry exist together or not at all.
export async function queueReplyMail(
  db: Db,
  config: Config,
  input: Parameters<typeof composeReplyMail>[2] & {
    // null when the system writes the reply (Kontroll's reminders and closings)
    actorId: number | null;
    status: 'queued';
  },
): Promise<string> {
  const { actorId, status, ...compose } = input;
  const mail = await composeReplyMail(db, config, compose);
  return storeReplyMail(db, { caseId: input.caseId, entryId: input.entryId, actorId, status }, mail);
}

// Writes a composed reply: its Message-ID on the entry, its documents as the entry's
// attachments, and the message queued in the outbox.
export async function storeReplyMail(
  db: Db,
  input: { caseId: number; entryId: string; actorId: number | null; status: 'queued' },
  mail: ComposedReply,
): Promise<string> {
  if (mail.newMessageId) {
    await db
      .updateTable('thread_entries')
      .set({ message_id: mail.messageId })
      .where('id', '=', input.entryId)
      .execute();
  }
  if (mail.documentIds.length) {
    await db
      .insertInto('thread_entry_attachments')
      .values(mail.documentIds.map((id) => ({ thread_entry_id: input.entryId, document_id: id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return enqueueMessage(db, {
    kind: 'reply',
    case_id: input.caseId,
    thread_entry_id: input.entryId,
    message_id: mail.messageId,
    envelope_from: mail.envelopeFrom,
    envelope_to: mail.envelopeTo,
    subject: mail.subject,
    raw: mail.raw,
    status: input.status,
    created_by: input.actorId,
  });
}
