import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

// A case page's heartbeat counts this long: the page sends one every ~10 s while it is visible,
// so a page that stopped (closed without pagehide, a sleeping laptop) drops out within 30 s.
export const presenceFreshSeconds = 30;

// A row this old is nobody's any more; a heartbeat on the case clears such rows of others, so
// the table holds about the pages open now and not every case anyone ever opened.
const forgetAfterMinutes = 10;

// The user has the case page open (and is, or is not, writing a reply in it). One row per case
// and user, whatever the number of windows: the freshest heartbeat wins. Writes no history:
// having a page open is no event of the case.
export async function recordHeartbeat(
  db: Db,
  heartbeat: { caseId: number; userId: number; typing: boolean; pageId: string | null },
): Promise<void> {
  const { caseId, userId, typing, pageId } = heartbeat;
  await sql`
    with forgotten as (
      delete from case_viewers
      where case_id = ${caseId} and user_id <> ${userId}
        and seen_at < now() - make_interval(mins => ${forgetAfterMinutes})
    )
    insert into case_viewers (case_id, user_id, typing, page_id, seen_at)
    values (${caseId}, ${userId}, ${typing}, ${pageId}, now())
    on conflict (case_id, user_id)
      do update set typing = excluded.typing, page_id = excluded.page_id, seen_at = excluded.seen_at
  `.execute(db);
}

// The user left the case page (pagehide): the others stop seeing them at their next poll. With
// pageId, only while the row is that page's: the user's next page (or other window) that has beaten
// since keeps them on the case.
export async function leaveCase(db: Db, caseId: number, userId: number, pageId: string | null): Promise<void> {
  let leaving = db.deleteFrom('case_viewers').where('case_id', '=', caseId).where('user_id', '=', userId);
  if (pageId) leaving = leaving.where('page_id', '=', pageId);
  await leaving.execute();
}
