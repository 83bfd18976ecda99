import type { Db } from '../db/database.ts';
import type { StatusKind } from '../db/schema.ts';

// "The status of kind X" wherever a rule names a kind rather than a status: the first active one
// in the administrator's order. Null when there is none.
export async function findStatusOfKind(db: Db, kind: StatusKind): Promise<number | null> {
  const row = await db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', kind)
    .where('active', '=', true)
    .orderBy('position')
    .orderBy('id')
    .executeTakeFirst();
  return row?.id ?? null;
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
