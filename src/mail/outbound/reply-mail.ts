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

// The e-mail for a staff reply in a case's thread, composed once and put in the outbox:
// queued to go now, or as a draft for "Send to customer" to preview and release.
// Runs inside the caller's transaction, so a reply and its outbox entry exist together or not at all.
export async function queueReplyMail(
  db: Db,
  config: Config,
  input: {
    caseId: number;
    entryId: string;
    addressing: ReplyAddressing;
    // null when the system writes the reply (Kontroll's reminders and closings)
    actorId: number | null;
    status: 'queued' | 'draft';
    // instead of the case's title; the case tag is added either way
    subject?: string;
    // system replies: tells autoresponders not to answer
    autoSubmitted?: boolean;
  },
): Promise<string> {
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
  const messageId = entry.message_id ?? createMessageId(settings.messageIdDomain, secret);
  if (!entry.message_id) {
    await db.updateTable('thread_entries').set({ message_id: messageId }).where('id', '=', entry.id).execute();
  }

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
        .execute()
    : [];
  const attachments: MailAttachment[] = await Promise.all(
    documents.map(async (d) => ({
      fileName: d.file_name,
      contentType: d.content_type,
      content: await readFileContent(db, d.file_id),
    })),
  );
  if (documents.length) {
    await db
      .insertInto('thread_entry_attachments')
      .values(documents.map((d) => ({ thread_entry_id: entry.id, document_id: d.id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

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
  return enqueueMessage(db, {
    kind: 'reply',
    case_id: kase.id,
    thread_entry_id: entry.id,
    message_id: messageId,
    envelope_from: settings.fromAddress,
    envelope_to: [...input.addressing.to, ...input.addressing.cc],
    subject,
    raw,
    status: input.status,
    created_by: input.actorId,
  });
}
