import type { CaseTab } from '../case-page/tab.ts';
import { loadDocumentsPanel } from './panel.ts';

export const documentsTab: CaseTab = {
  name: 'documents',
  labelKey: 'cases.tab.documents',
  load: async ({ db, kase, user }) => ({
    documentsPanel: await loadDocumentsPanel(db, { kind: 'case', id: kase.id }, user),
    documentsNotice: null,
    uploadError: null,
  }),
};
