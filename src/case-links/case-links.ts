import { sql } from 'kysely';
import { type CaseActor, recordCaseEvent } from '../cases/case-events.ts';
import { lockSpaces } from '../db/advisory-locks.ts';
import type { Db } from '../db/database.ts';
import { arePairLinked, listParentLinksBelow } from './queries.ts';
import { decideNewLink, type LinkRefusal, type LinkRole, otherCaseOf, roleOf } from './rules.ts';

export type LinkOutcome =
  | { ok: true; linkId: number; otherNumber: string }
  | { ok: false; reason: LinkRefusal | 'not_found'; otherNumber: string | null };

// Links the case to the one numbered otherNumber, which stands to it as `role` ("parent": the
// other case is this one's parent). Refused (nothing written) for the case itself, a pair already
// linked (a second click lands here), a parent loop, or no such case.
export async function linkCases(
  db: Db,
  caseId: number,
  otherNumber: string,
  role: LinkRole,
  actor: CaseActor,
): Promise<LinkOutcome> {
  return db.transaction().execute((trx) => linkCasesInTransaction(trx, caseId, otherNumber, role, actor));
}

// The same inside the caller's transaction: mail ingest links the case a mail made to the case it
// answered (a stranger's: related; a follow-up of a long-closed case: its child).
export async function linkCasesInTransaction(
  trx: Db,
  caseId: number,
  otherNumber: string,
  role: LinkRole,
  actor: CaseActor,
): Promise<LinkOutcome> {
  // The two cases first, held against deletion (the link's foreign keys take this lock anyway):
  // taken before the loop lock below, so a writer that holds a case's row lock and then links (mail
  // ingest) and an adder waiting for that case never wait for each other.
  const cases = await trx
    .selectFrom('cases')
    .select(['id', 'number'])
    .where((eb) => eb.or([eb('id', '=', caseId), eb('number', '=', otherNumber)]))
    .forKeyShare()
    .execute();
  // One adder of a parent link at a time: two added at once could each pass the loop check and
  // together close a loop. A related link takes no part in loops, and the pair's unique index
  // settles a race between two of them.
  if (role !== 'related') await sql`select pg_advisory_xact_lock(${lockSpaces.caseLinks}::int, 0)`.execute(trx);
  const self = cases.find((c) => c.id === caseId);
  const other = cases.find((c) => c.number === otherNumber);
  if (!self) throw new Error(`No case ${caseId} to link`);
  if (!other) return { ok: false, reason: 'not_found', otherNumber: null };
  const pairLinked = self.id !== other.id && (await arePairLinked(trx, self.id, other.id));
  const childId = role === 'parent' ? self.id : other.id;
  const edges = role === 'related' || pairLinked ? [] : await listParentLinksBelow(trx, childId);
  const decision = decideNewLink({ caseId: self.id, otherId: other.id, role, pairLinked, edges });
  if (!decision.ok) return { ok: false, reason: decision.reason, otherNumber: other.number };
  // the same pair linked a moment ago by a concurrent add (case_links_pair): a duplicate too
  const inserted = await trx
    .insertInto('case_links')
    .values({ ...decision.link, created_by: actor?.id ?? null })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return { ok: false, reason: 'duplicate', otherNumber: other.number };
  const { id } = inserted;
  // each history names the other case and its role there ("Parent case 2026-00002")
  await recordCaseEvent(trx, self.id, 'case_linked', actor, {
    field: roleOf(decision.link, self.id),
    new_value: other.number,
  });
  await recordCaseEvent(trx, other.id, 'case_linked', actor, {
    field: roleOf(decision.link, other.id),
    new_value: self.number,
  });
  return { ok: true, linkId: id, otherNumber: other.number };
}

// Removes a link of the case; null when the case has no such link (removed already: a second
// click, or a colleague). Both cases' history tells of it.
export async function unlinkCases(
  db: Db,
  caseId: number,
  linkId: number,
  actor: CaseActor,
): Promise<{ otherNumber: string } | null> {
  return db.transaction().execute(async (trx) => {
    const link = await trx
      .deleteFrom('case_links')
      .where('id', '=', linkId)
      .where((eb) => eb.or([eb('from_case_id', '=', caseId), eb('to_case_id', '=', caseId)]))
      .returning(['kind', 'from_case_id', 'to_case_id'])
      .executeTakeFirst();
    if (!link) return null;
    const otherId = otherCaseOf(link, caseId);
    const pair = await trx.selectFrom('cases').select(['id', 'number']).where('id', 'in', [caseId, otherId]).execute();
    const numberOf = (id: number) => pair.find((c) => c.id === id)?.number ?? null;
    await recordCaseEvent(trx, caseId, 'case_unlinked', actor, {
      field: roleOf(link, caseId),
      old_value: numberOf(otherId),
    });
    await recordCaseEvent(trx, otherId, 'case_unlinked', actor, {
      field: roleOf(link, otherId),
      old_value: numberOf(caseId),
    });
    return { otherNumber: numberOf(otherId) ?? '' };
  });
}
