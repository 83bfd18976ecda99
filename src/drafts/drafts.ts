import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { DraftBox } from '../db/schema.ts';
import { bigIdListField, checkbox, optionalMultiLine, versionField } from '../forms/form.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';

// What a user typed in one of a case's boxes (the reply to the customer, the discussion, the
// internal note) and has not sent or saved yet. The box's page saves it as they type
// (public/drafts.js), so it survives a tab switch, a reload or another browser; a reply taken back
// by Undo lands here too. One draft per case, user and box; sending or saving from the box uses it
// up (addStaffReply, addDiscussionPost, saveInternalNote). This module is the drafts table's only
// reader and writer.

export type { DraftBox };
export const draftBoxes = ['reply', 'discussion', 'internal'] as const satisfies readonly DraftBox[];

export type Draft = {
  box: DraftBox;
  // rich text for the reply and the discussion, the note's plain text for the internal note
  body_html: string;
  to: string;
  cc: string;
  document_ids: string[];
  set_waiting: boolean;
  // the internal note's version the text was typed over
  note_version: number | null;
  // a reply taken back by Undo (and maybe typed in since)
  recalled: boolean;
  updated_at: Date;
};
export type ReplyDraft = Pick<Draft, 'body_html' | 'to' | 'cc' | 'document_ids' | 'set_waiting'>;

// What a box's form sends while it is typed in. Lenient on purpose: a draft may be half-written
// (an address not finished yet), so only sizes and shapes are checked here; the box's own submit
// checks the rest. Rich text is sanitised before it is stored.
const addresses = z.string().max(2_000, 'errors.too_long').default('');
export const draftSchemas = {
  reply: z.object({
    body_html: optionalMultiLine(1_000_000),
    to: addresses,
    cc: addresses,
    document_ids: bigIdListField,
    set_waiting: checkbox,
  }),
  discussion: z.object({ body_html: optionalMultiLine(1_000_000) }),
  internal: z.object({ internal_note: optionalMultiLine(100_000), internal_note_version: versionField }),
} satisfies Record<DraftBox, z.ZodType>;
export type DraftInput = {
  [B in DraftBox]: { box: B } & z.output<(typeof draftSchemas)[B]>;
}[DraftBox];

export async function findDraft(db: Db, caseId: number, userId: number, box: DraftBox): Promise<Draft | undefined> {
  const row = await db
    .selectFrom('drafts')
    .selectAll()
    .where('case_id', '=', caseId)
    .where('user_id', '=', userId)
    .where('box', '=', box)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    box: row.box,
    body_html: row.body_html,
    to: row.to_addresses,
    cc: row.cc_addresses,
    document_ids: row.document_ids.map(String),
    set_waiting: row.set_waiting,
    note_version: row.note_version,
    recalled: row.recalled_entry_id !== null,
    updated_at: row.updated_at,
  };
}

// Stores what the box holds now; a box emptied again (or a note back to what is saved) has no
// draft. Saving the same text twice stores it once: the key is the case, the user and the box.
// `base` is the draft the box was filled from (its updated_at in ms; null: none): when the same
// user's other browser stored another draft since, nothing is written and the answer says so,
// so one window's older text never silently replaces what was typed in the other.
export type DraftSaved = { kept: true; base: number } | { kept: false } | { stale: true };
export async function saveDraft(
  db: Db,
  caseId: number,
  userId: number,
  input: DraftInput,
  base?: number | null,
): Promise<DraftSaved> {
  if (!db.isTransaction) return db.transaction().execute((trx) => saveDraft(trx, caseId, userId, input, base));
  if (base !== undefined) {
    const current = await db
      .selectFrom('drafts')
      .select('updated_at')
      .where('case_id', '=', caseId)
      .where('user_id', '=', userId)
      .where('box', '=', input.box)
      .forUpdate()
      .executeTakeFirst();
    if (current && current.updated_at.getTime() !== base) return { stale: true };
  }
  const content = await draftContent(db, caseId, input);
  if (!content) {
    await discardDraft(db, caseId, userId, input.box);
    return { kept: false };
  }
  const values = { ...content, updated_at: new Date() };
  await db
    .insertInto('drafts')
    .values({ case_id: caseId, user_id: userId, box: input.box, ...values })
    // a reply taken back by Undo stays marked as such (recalled_entry_id is left as it was)
    .onConflict((oc) => oc.columns(['case_id', 'user_id', 'box']).doUpdateSet(values))
    .execute();
  return { kept: true, base: values.updated_at.getTime() };
}

async function draftContent(db: Db, caseId: number, input: DraftInput) {
  const empty = { to_addresses: '', cc_addresses: '', document_ids: [], set_waiting: false, note_version: null };
  switch (input.box) {
    case 'reply': {
      const body = sanitizeRichText(input.body_html);
      if (isBlankRichText(body)) return null;
      return {
        ...empty,
        body_html: body,
        to_addresses: input.to,
        cc_addresses: input.cc,
        document_ids: input.document_ids,
        set_waiting: input.set_waiting,
      };
    }
    case 'discussion': {
      const body = sanitizeRichText(input.body_html);
      return isBlankRichText(body) ? null : { ...empty, body_html: body };
    }
    case 'internal': {
      const note = await db
        .selectFrom('cases')
        .select(['internal_note', 'internal_note_version'])
        .where('id', '=', caseId)
        .executeTakeFirstOrThrow();
      const unchanged =
        note.internal_note_version === input.internal_note_version && note.internal_note === input.internal_note;
      return unchanged ? null : { ...empty, body_html: input.internal_note, note_version: input.internal_note_version };
    }
  }
}

// A reply taken back by Undo goes back into its writer's reply box, with everything the box had.
export async function saveRecalledReply(
  db: Db,
  input: ReplyDraft & { caseId: number; userId: number; recalledEntryId: string },
): Promise<void> {
  const values = {
    body_html: input.body_html,
    to_addresses: input.to,
    cc_addresses: input.cc,
    document_ids: input.document_ids,
    set_waiting: input.set_waiting,
    recalled_entry_id: input.recalledEntryId,
    note_version: null,
    updated_at: new Date(),
  };
  await db
    .insertInto('drafts')
    .values({ case_id: input.caseId, user_id: input.userId, box: 'reply', ...values })
    .onConflict((oc) => oc.columns(['case_id', 'user_id', 'box']).doUpdateSet(values))
    .execute();
}

// The thread entry the writer's reply draft was taken back from, if it was (a second Undo of that
// entry answers like the first).
export async function findRecalledEntryId(db: Db, caseId: number, userId: number): Promise<string | null> {
  const row = await db
    .selectFrom('drafts')
    .select('recalled_entry_id')
    .where('case_id', '=', caseId)
    .where('user_id', '=', userId)
    .where('box', '=', 'reply')
    .executeTakeFirst();
  return row?.recalled_entry_id == null ? null : String(row.recalled_entry_id);
}

// Sent, saved or thrown away: the box is empty again. Returns the draft that was there, if any.
export async function discardDraft(
  db: Db,
  caseId: number,
  userId: number,
  box: DraftBox,
): Promise<{ recalled: boolean } | null> {
  const row = await db
    .deleteFrom('drafts')
    .where('case_id', '=', caseId)
    .where('user_id', '=', userId)
    .where('box', '=', box)
    .returning('recalled_entry_id')
    .executeTakeFirst();
  return row ? { recalled: row.recalled_entry_id !== null } : null;
}
