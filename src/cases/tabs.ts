import type { CaseTab } from '../case-page/tab.ts';
import { listCaseEvents } from './queries.ts';

export const historyTab: CaseTab = {
  name: 'history',
  labelKey: 'cases.tab.history',
  load: async ({ db, kase }) => ({ events: await listCaseEvents(db, kase.id) }),
};

export const internalTab: CaseTab = {
  name: 'internal',
  labelKey: 'cases.tab.internal',
  load: async ({ kase }) => ({ note: { text: kase.internal_note, version: kase.internal_note_version } }),
};
