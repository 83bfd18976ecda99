import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { presenceFreshSeconds } from './presence.ts';

export type CaseViewer = { name: string; typing: boolean };

// Who else has the case open now, by name, and whether they are writing a reply. Polled every
// second by each open case page: one index range (the primary key's case_id), fresh rows only,
// and never the asking user.
export async function listCaseViewers(db: Db, caseId: number, exceptUserId: number): Promise<CaseViewer[]> {
  return db
    .selectFrom('case_viewers')
    .innerJoin('users', 'users.id', 'case_viewers.user_id')
    .select(['users.name', 'case_viewers.typing'])
    .where('case_viewers.case_id', '=', caseId)
    .where('case_viewers.user_id', '<>', exceptUserId)
    .where('case_viewers.seen_at', '>', sql<Date>`now() - make_interval(secs => ${presenceFreshSeconds})`)
    .where('users.active', '=', true)
    .orderBy('users.name')
    .execute();
}
