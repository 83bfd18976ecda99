import { cachedRead, deepFreeze } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import type { StatusKind } from '../db/schema.ts';

export type StatusOfCase = { id: number; kind: StatusKind; active: boolean };

// Every status, active or not, with its kind, in the administrator's order: what each status
// change needs to know about the status it names. Kept in the process (src/db/cached.ts), even
// for a read inside the writing transaction: a case's write never changes the statuses, and a quick
// edit would otherwise spend two of its dozen round trips asking.
export function listStatusesOfCases(db: Db): Promise<readonly StatusOfCase[]> {
  return cachedRead(
    db,
    'statuses-of-cases',
    ['case_statuses'],
    async (reader) =>
      deepFreeze(
        await reader
          .selectFrom('case_statuses')
          .select(['id', 'kind', 'active'])
          .orderBy('position')
          .orderBy('id')
          .execute(),
      ),
    { evenInTransaction: true },
  );
}

// "The status of kind X" wherever a rule names a kind rather than a status: the first active one
// in the administrator's order. Null when there is none.
export async function findStatusOfKind(db: Db, kind: StatusKind): Promise<number | null> {
  const statuses = await listStatusesOfCases(db);
  return statuses.find((s) => s.kind === kind && s.active)?.id ?? null;
}

export class MissingStatusError extends Error {
  constructor(readonly kind: StatusKind) {
    super(`No active case status of kind "${kind}"; add one under Administration.`);
  }
}

export async function statusOfKind(db: Db, kind: StatusKind): Promise<number> {
  const id = await findStatusOfKind(db, kind);
  if (id === null) throw new MissingStatusError(kind);
  return id;
}
