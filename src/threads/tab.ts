import type { CaseTab } from '../cases/page.ts';
import { listActiveCannedReplies } from './canned-replies.ts';
import { listThreadEntries } from './threads.ts';

export const threadTab: CaseTab = {
  name: 'thread',
  labelKey: 'cases.tab.thread',
  load: async ({ db, kase }) => {
    const [thread, cannedReplies] = await Promise.all([listThreadEntries(db, kase.id), listActiveCannedReplies(db)]);
    return { thread, cannedReplies, replyValues: { delivery: 'to_send' }, replyErrors: {} };
  },
};
