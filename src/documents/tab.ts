import type { CaseTab } from '../cases/page.ts';

export const documentsTab: CaseTab = {
  name: 'documents',
  labelKey: 'cases.tab.documents',
  load: async () => ({ documents: [] }),
};
