import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { User } from '../db/schema.ts';
import { discardDraft } from '../drafts/drafts.ts';
import { optionalMultiLine, versionField } from '../forms/form.ts';

export const internalNoteSchema = z.object({
  internal_note: optionalMultiLine(100_000),
  internal_note_version: versionField,
});

export class StaleNoteError extends Error {
  constructor(
    readonly currentText: string,
    readonly currentVersion: number,
  ) {
    super('The internal note was changed by someone else');
  }
}

// One free-text note per case, never sent to the customer. Saved only if nobody saved since
// the version the user started from. With the form's one-time key, a second submit of the same
// form is answered like the first, not refused as stale by the first one's save.
export async function saveInternalNote(
  db: Db,
  caseId: number,
  version: number,
  text: string,
  actor: User,
  opts: { formKey?: string | null } = {},
): Promise<number> {
  const submit = { key: opts.formKey, userId: actor.id, form: `internal-note:${caseId}`, content: { version, text } };
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, submit, async () => {
      const current = await trx
        .selectFrom('cases')
        .select(['internal_note', 'internal_note_version'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (current.internal_note_version !== version)
        throw new StaleNoteError(current.internal_note, current.internal_note_version);
      // saved (or found unchanged): the writer's draft of the note is used up
      await discardDraft(trx, caseId, actor.id, 'internal');
      if (current.internal_note === text) return version;
      await trx
        .updateTable('cases')
        .set({ internal_note: text, internal_note_version: version + 1, updated_at: new Date() })
        .where('id', '=', caseId)
        .execute();
      await trx
        .insertInto('case_events')
        .values({ case_id: caseId, user_id: actor.id, kind: 'internal_note_saved' })
        .execute();
      return version + 1;
    }),
  );
}
