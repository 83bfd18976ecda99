import { sql } from 'kysely';
import { linkCasesInTransaction } from '../case-links/case-links.ts';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { User } from '../db/schema.ts';
import { moveCaseOutbox } from '../mail/outbound/outbox.ts';
import { moveThreadEntries } from '../threads/threads.ts';
import { recordCaseEvent } from './case-events.ts';
import { createCaseRecord, markCaseActive } from './cases.ts';

// Splitting a case (issue 18, part 5): the chosen thread entries (a second matter the customer
// raised in the same thread) move to a new case for the same customer and contact, the two cases
// are linked as related, and both histories say so. One transaction; a second click of the same
// form gets the first one's new case.

export type SplitRefusal = 'none_chosen' | 'all_chosen' | 'not_in_case' | 'merged';
export class SplitRefusedError extends Error {
  readonly statusCode = 422;
  constructor(readonly reason: SplitRefusal) {
    super(`The split was refused: ${reason}`);
  }
  get messageKey(): string {
    return `split.refused.${this.reason}`;
  }
}

export async function splitCase(
  db: Db,
  request: { caseId: number; entryIds: string[]; title: string },
  actor: User,
  opts: { formKey: string | null },
): Promise<{ number: string }> {
  const entryIds = [...new Set(request.entryIds)].sort();
  const content = { entryIds, title: request.title };
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, { key: opts.formKey, userId: actor.id, form: `split:${request.caseId}`, content }, async () => {
      // the case locked: a merge or another split of it waits for this one
      const source = await trx
        .selectFrom('cases')
        .select([
          'id',
          'number',
          'customer_id',
          'contact_id',
          'contact_name',
          'contact_email',
          'contact_phone',
          'case_type_id',
          'priority_id',
          'responsible_id',
          'merged_into_id',
        ])
        .where('id', '=', request.caseId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (source.merged_into_id !== null) throw new SplitRefusedError('merged');
      if (!entryIds.length) throw new SplitRefusedError('none_chosen');
      const entries = await trx.selectFrom('thread_entries').select('id').where('case_id', '=', source.id).execute();
      const here = new Set(entries.map((e) => String(e.id)));
      if (!entryIds.every((id) => here.has(id))) throw new SplitRefusedError('not_in_case');
      if (entryIds.length >= here.size) throw new SplitRefusedError('all_chosen');
      const { id: _id, number: _number, merged_into_id: _merged, ...header } = source;
      const created = await createCaseRecord(trx, { ...header, title: request.title, created_by: actor.id }, actor);
      await moveThreadEntries(trx, source.id, created.id, entryIds);
      await moveCaseOutbox(trx, source.id, created.id, entryIds);
      // the new case is found by the words of what moved to it, as a case is by its thread
      await sql`update cases set search_vector = search_vector || coalesce((
          select setweight(to_tsvector('public.casedesk_search'::regconfig,
            left(string_agg(regexp_replace(body_html, '<[^>]*>', ' ', 'g'), ' '), 100000)), 'C')
          from thread_entries where case_id = ${created.id} and side <> 'system'), ''::tsvector)
        where id = ${created.id}`.execute(trx);
      await linkCasesInTransaction(trx, created.id, source.number, 'related', actor);
      await recordCaseEvent(trx, source.id, 'split_off', actor, { new_value: created.number });
      await recordCaseEvent(trx, created.id, 'split_from', actor, { new_value: source.number });
      await markCaseActive(trx, source.id);
      return { number: created.number };
    }),
  );
}
