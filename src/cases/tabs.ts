import type { CaseTab } from '../case-page/tab.ts';
import { findDraft } from '../drafts/drafts.ts';
import { listCaseEvents } from './queries.ts';

export const historyTab: CaseTab = {
  name: 'history',
  labelKey: 'cases.tab.history',
  load: async ({ db, kase }) => ({ events: await listCaseEvents(db, kase.id) }),
};

export const internalTab: CaseTab = {
  name: 'internal',
  labelKey: 'cases.tab.internal',
  load: async ({ db, kase, user }) => {
    // The user's unsaved edit of the note comes back with the version it was typed over, so
    // saving it still meets the stale-note check if a colleague saved the note since.
    const draft = await findDraft(db, kase.id, user.id, 'internal');
    const note = draft
      ? { text: draft.body_html, version: draft.note_version ?? kase.internal_note_version }
      : { text: kase.internal_note, version: kase.internal_note_version };
    return { note, noteDraft: draft ?? null };
  },
};
