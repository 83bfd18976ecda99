import { sql, Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Case, Database, User } from '../db/schema.ts';
import { moveDiscussionPosts } from '../discussions/discussions.ts';
import { countPendingApprovals, moveCaseDocuments } from '../documents/documents.ts';
import { moveCaseOutbox } from '../mail/outbound/outbox.ts';
import { moveThreadEntries } from '../threads/threads.ts';
import { applyCaseEvent, moveCaseHistory, recordCaseEvent } from './case-events.ts';
import { markCaseActive } from './cases.ts';
import { type MergeRefusal, type MergeSide, mergeRefusal } from './merge-rules.ts';
import { isDocumentApprovalCase } from './queries.ts';

// Merging duplicate cases (issue 18, part 4). Each source case B merged into the target A: B's
// thread, discussion, documents and history move to A (each domain moves its own rows, marking
// where they came from), B's internal note is added to A's, A can be found by B's words and
// number, and B is closed as "merged into A" by the case lifecycle, with merged_into_id pointing
// at A: its page leads to A, and mail answering B lands in A (src/mail/inbound/filters/case-match.ts).
// Both histories say so. All in one transaction, the cases locked in id order.

export type MergeOutcome = {
  target: string;
  merged: string[];
  refused: { number: string; reason: MergeRefusal }[];
};

// A case as the merge rules see it. Its documents waiting for approval are counted under the
// merge's lock; a page that only asks whether a merge could go (merge-routes.ts) leaves them at 0.
export function mergeSideOf(
  kase: Pick<Case, 'id' | 'status_kind' | 'merged_into_id'> & { type_system_key: string | null },
  pendingApprovals = 0,
): MergeSide {
  return {
    id: kase.id,
    statusKind: kase.status_kind,
    mergedIntoId: kase.merged_into_id,
    documentCase: isDocumentApprovalCase(kase),
    pendingApprovals,
  };
}

export async function mergeCases(
  db: Db,
  request: { targetId: number; sourceIds: number[] },
  actor: Pick<User, 'id'>,
): Promise<MergeOutcome> {
  if (db instanceof Transaction) return mergeCasesIn(db, request, actor);
  return db.transaction().execute((trx) => mergeCasesIn(trx, request, actor));
}

async function mergeCasesIn(
  trx: Transaction<Database>,
  { targetId, sourceIds }: { targetId: number; sourceIds: number[] },
  actor: Pick<User, 'id'>,
): Promise<MergeOutcome> {
  const ids = [...new Set([targetId, ...sourceIds])];
  // Locked in id order: two merges over the same cases (a double click, two agents) queue, and
  // the second sees what the first did.
  const rows = await trx
    .selectFrom('cases')
    .innerJoin('case_types', 'case_types.id', 'cases.case_type_id')
    .select([
      'cases.id',
      'cases.number',
      'cases.status_kind',
      'cases.merged_into_id',
      'cases.internal_note',
      'cases.internal_note_version',
      'case_types.system_key',
    ])
    .where('cases.id', 'in', ids)
    .orderBy('cases.id')
    .forUpdate('cases')
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const target = byId.get(targetId);
  if (!target) throw new Error(`No case ${targetId}`);
  const side = async (row: (typeof rows)[number], pending: boolean) =>
    mergeSideOf({ ...row, type_system_key: row.system_key }, pending ? await countPendingApprovals(trx, row.id) : 0);
  const targetSide = await side(target, false);
  const outcome: MergeOutcome = { target: target.number, merged: [], refused: [] };
  let note = target.internal_note;
  for (const sourceId of [...new Set(sourceIds)].sort((a, b) => a - b)) {
    const source = byId.get(sourceId);
    if (!source) continue;
    const refusal = mergeRefusal(await side(source, true), targetSide);
    if (refusal) {
      outcome.refused.push({ number: source.number, reason: refusal });
      continue;
    }
    // B's history first, so the lines the merge writes on B below stay B's
    await moveCaseHistory(trx, source.id, target.id);
    await moveThreadEntries(trx, source.id, target.id);
    await moveCaseOutbox(trx, source.id, target.id);
    await moveDiscussionPosts(trx, source.id, target.id);
    await moveCaseDocuments(trx, source.id, target.id);
    if (source.internal_note.trim())
      note = [note.trim(), `${source.number}:\n${source.internal_note.trim()}`].filter(Boolean).join('\n\n');
    // A is found by what found B: its words, its thread's and its number
    await trx
      .updateTable('cases')
      .set({
        merged_into_id: target.id,
      })
      .where('id', '=', source.id)
      .execute();
    await sql`update cases set search_vector = search_vector || (select search_vector from cases where id = ${source.id})
      where id = ${target.id}`.execute(trx);
    await applyCaseEvent(trx, source.id, { type: 'merged', into: target.number }, actor);
    await recordCaseEvent(trx, target.id, 'merged_in', actor, { new_value: source.number });
    outcome.merged.push(source.number);
  }
  if (outcome.merged.length) {
    if (note !== target.internal_note)
      await trx
        .updateTable('cases')
        .set({ internal_note: note, internal_note_version: target.internal_note_version + 1 })
        .where('id', '=', target.id)
        .execute();
    await markCaseActive(trx, target.id);
  }
  return outcome;
}
