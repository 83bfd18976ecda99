import type { CaseTab } from '../cases/page.ts';

export const discussionTab: CaseTab = {
  name: 'discussion',
  labelKey: 'cases.tab.discussion',
  load: async () => ({ posts: [] }),
};
