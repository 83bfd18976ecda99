import type { CaseTab } from '../cases/page.ts';
import { openApprovalStates } from '../documents/access.ts';
import { listActiveCannedReplies } from './canned-replies.ts';
import { listThreadEntries } from './threads.ts';

export const threadTab: CaseTab = {
  name: 'thread',
  labelKey: 'cases.tab.thread',
  load: async ({ db, kase }) => {
    const [thread, cannedReplies, documents] = await Promise.all([
      listThreadEntries(db, kase.id),
      listActiveCannedReplies(db),
      db
        .selectFrom('documents')
        .select(['id', 'file_name'])
        .where('case_id', '=', kase.id)
        .where('deleted_at', 'is', null)
        // a document locked in an approval chain cannot go to the customer (reply-mail.ts)
        .where('approval_state', 'in', openApprovalStates)
        .orderBy('id', 'desc')
        .limit(100)
        .execute(),
    ]);
    // The reply goes to the case's contact unless the user picks another address.
    const to = kase.contact_record_email ?? kase.contact_email ?? '';
    return { thread, cannedReplies, documents, replyValues: { delivery: 'to_send', to }, replyErrors: {} };
  },
};
