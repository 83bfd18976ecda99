import { cachedRead, deepFreeze } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import { sanitizeRichText } from '../rich-text/sanitize.ts';

// On every case page: from this process's cache, dropped when canned replies change (src/db/cached.ts).
export async function listActiveCannedReplies(db: Db) {
  return cachedRead(db, 'canned-replies', ['canned_replies'], async () =>
    deepFreeze(
      await db
        .selectFrom('canned_replies')
        .select(['id', 'title'])
        .where('active', '=', true)
        .orderBy('title')
        .execute(),
    ),
  );
}

// The text a canned reply inserts into the reply box; sanitised again on the way out.
export async function findCannedReplyHtml(db: Db, id: number): Promise<string | null> {
  const row = await db
    .selectFrom('canned_replies')
    .select('body_html')
    .where('id', '=', id)
    .where('active', '=', true)
    .executeTakeFirst();
  return row ? sanitizeRichText(row.body_html) : null;
}
