import type { CaseTab } from '../cases/page.ts';
import { listActiveCannedReplies } from './canned-replies.ts';
import { listThreadEntries } from './threads.ts';

export const threadTab: CaseTab = {
  name: 'thread',
  labelKey: 'cases.tab.thread',
  load: async ({ db, kase }) => ({
    thread: await listThreadEntries(db, kase.id),
    cannedReplies: await db
      .selectFrom('canned_replies')
      .select(['id', 'title'])
      .where('active', '=', true)
      .orderBy('title')
      .execute(),
    replyValues: { delivery: 'to_send' },
    replyErrors: {},
  }),
};
