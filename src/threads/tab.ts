import type { CaseTab } from '../case-page/tab.ts';
import { isDocumentApprovalCase } from '../cases/queries.ts';
import { listThreadDocuments } from '../documents/queries.ts';
import { findDraft } from '../drafts/drafts.ts';
import { listActiveCannedReplies } from './canned-replies.ts';
import { unsentRepliesOf } from './send.ts';
import { readSystemText, systemTextHtml } from './system-text.ts';
import { listThreadEntries } from './threads.ts';

export const threadTab: CaseTab = {
  name: 'thread',
  labelKey: 'cases.tab.thread',
  load: async ({ db, kase, user }) => {
    const [entries, { mailAttachments, attachable: documents }, cannedReplies, draft] = await Promise.all([
      listThreadEntries(db, kase.id),
      listThreadDocuments(db, kase.id),
      listActiveCannedReplies(db),
      findDraft(db, kase.id, user.id, 'reply'),
    ]);
    // a received mail's entry lists the files it brought (they are filed in E-mail IN)
    const attachmentsOf = new Map<string | null, typeof mailAttachments>();
    for (const a of mailAttachments)
      attachmentsOf.set(a.inbound_message_id, [...(attachmentsOf.get(a.inbound_message_id) ?? []), a]);
    const thread = entries.map((entry) => ({
      ...entry,
      // shown in the reader's language (systemTextHtml with the page's t); null: body_html as stored
      system_text: readSystemText(entry.system_text),
      attachments: (entry.inbound_message_id !== null && attachmentsOf.get(entry.inbound_message_id)) || [],
    }));
    // The user's draft (typed earlier, or a reply taken back by Undo) fills the box as it was;
    // else the reply goes to the case's contact unless the user picks another address.
    const replyValues = draft
      ? { ...draft, delivery: 'to_send', set_waiting: draft.set_waiting ? 'on' : '' }
      : { delivery: 'to_send', to: kase.contact_record_email ?? kase.contact_email ?? '' };
    return {
      thread,
      // the Manage menu's "Send to customer" list, from these entries (renderCasePage)
      unsentReplies: unsentRepliesOf(entries),
      systemTextHtml,
      // the approval chain's document case answers no customer
      replyBox: !isDocumentApprovalCase(kase),
      cannedReplies,
      documents,
      replyValues,
      replyDraft: draft ?? null,
      replyErrors: {},
    };
  },
};
