import { sql } from 'kysely';
import { recordCaseEvent } from '../cases/case-events.ts';
import { markCaseActive } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { User } from '../db/schema.ts';
import { discardDraft } from '../drafts/drafts.ts';
import { FormError } from '../forms/form.ts';
import { notifyUser } from '../notifications/notifications.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';
import { findMentions, textOfRichText } from './mentions.ts';

// The staff's internal conversation on a case. The customer never sees it; an @LOGIN in a post
// tells that colleague through the bell.

export class DiscussionPostNotFoundError extends Error {
  constructor() {
    super('No such discussion post');
  }
}

// A post is its writer's own: nobody else may delete it, administrators included.
export class NotPostWriterError extends Error {
  constructor() {
    super('Only the writer may delete a discussion post');
  }
}

export function discussionPostLink(caseNumber: string, postId: string): string {
  return `/cases/${caseNumber}/discussion#post-${postId}`;
}

// With the config, the mentioned colleagues are also told by e-mail (see notifyUser). With the
// form's one-time key, a second submit of the same form gets the first post back.
export async function addDiscussionPost(
  db: Db,
  caseId: number,
  bodyHtml: string,
  user: User,
  opts: { config?: Config; formKey?: string | null } = {},
): Promise<{ post: { id: string }; mentionedUserIds: number[] }> {
  const body = sanitizeRichText(bodyHtml);
  if (isBlankRichText(body)) throw new FormError({ body_html: 'errors.required' });
  const logins = findMentions(textOfRichText(body));
  const submit = { key: opts.formKey, userId: user.id, form: `discussion:${caseId}`, content: body };
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, submit, async () => {
      const written = await writeDiscussionPost(trx, caseId, body, logins, user, opts);
      // the writer's draft in the discussion box is used up (an answer by e-mail leaves it)
      await discardDraft(trx, caseId, user.id, 'discussion');
      return written;
    }),
  );
}

// A post written inside the caller's transaction: a staff member's e-mail answer to a
// notification (mail ingest) lands here, as that staff member.
export async function addDiscussionPostInTransaction(
  trx: Db,
  caseId: number,
  bodyHtml: string,
  user: User,
  opts: { config?: Config } = {},
): Promise<{ post: { id: string }; mentionedUserIds: number[] }> {
  const body = sanitizeRichText(bodyHtml);
  if (isBlankRichText(body)) throw new FormError({ body_html: 'errors.required' });
  return writeDiscussionPost(trx, caseId, body, findMentions(textOfRichText(body)), user, opts);
}

async function writeDiscussionPost(
  trx: Db,
  caseId: number,
  body: string,
  logins: string[],
  user: User,
  opts: { config?: Config },
): Promise<{ post: { id: string }; mentionedUserIds: number[] }> {
  const kase = await trx
    .selectFrom('cases')
    .select(['id', 'number', 'title'])
    .where('id', '=', caseId)
    .executeTakeFirstOrThrow();
  const post = await trx
    .insertInto('discussion_posts')
    .values({ case_id: caseId, user_id: user.id, body_html: body })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordCaseEvent(trx, caseId, 'discussion_post', user);
  await markCaseActive(trx, caseId);
  const mentioned = logins.length
    ? await trx
        .selectFrom('users')
        .select('id')
        .where('login', 'in', logins)
        .where('active', '=', true)
        .where('id', '!=', user.id)
        .orderBy('id')
        .execute()
    : [];
  for (const { id } of mentioned) {
    await notifyUser(
      trx,
      {
        userId: id,
        actorId: user.id,
        kind: 'mentioned',
        caseId,
        summary: `${kase.number} ${kase.title}`,
        link: discussionPostLink(kase.number, post.id),
      },
      { config: opts.config },
    );
  }
  return { post: { id: post.id }, mentionedUserIds: mentioned.map((m) => m.id) };
}

// Soft delete: the row stays for the history, the feed no longer shows it. With caseId, a post
// of another case counts as not found, so a case's URL cannot reach another case's posts.
export async function deleteDiscussionPost(db: Db, postId: string, user: User, opts: { caseId?: number } = {}) {
  return db.transaction().execute(async (trx) => {
    // Locked so two deletions of the same post write one event, not two.
    let query = trx
      .selectFrom('discussion_posts')
      .select(['id', 'case_id', 'user_id'])
      .where('id', '=', postId)
      .where('deleted_at', 'is', null)
      .forUpdate();
    if (opts.caseId !== undefined) query = query.where('case_id', '=', opts.caseId);
    const post = await query.executeTakeFirst();
    if (!post) throw new DiscussionPostNotFoundError();
    if (post.user_id !== user.id) throw new NotPostWriterError();
    await trx.updateTable('discussion_posts').set({ deleted_at: sql<Date>`now()` }).where('id', '=', post.id).execute();
    await recordCaseEvent(trx, post.case_id, 'discussion_post_deleted', user);
  });
}

export async function listDiscussionPosts(db: Db, caseId: number) {
  return db
    .selectFrom('discussion_posts')
    .innerJoin('users', 'users.id', 'discussion_posts.user_id')
    .select([
      'discussion_posts.id',
      'discussion_posts.user_id',
      'discussion_posts.body_html',
      'discussion_posts.created_at',
      'users.login as writer_login',
      'users.name as writer_name',
      'users.initials as writer_initials',
      // a merge brought it here from this case
      (eb) =>
        eb
          .selectFrom('cases as moved_from')
          .select('moved_from.number')
          .whereRef('moved_from.id', '=', 'discussion_posts.moved_from_case_id')
          .as('moved_from_number'),
    ])
    .where('discussion_posts.case_id', '=', caseId)
    .where('discussion_posts.deleted_at', 'is', null)
    .orderBy('discussion_posts.id', 'desc')
    .execute();
}
export type DiscussionPost = Awaited<ReturnType<typeof listDiscussionPosts>>[number];

// Active colleagues whose login or name contains what was typed after the @, those that start
// with it first; for the editor's autocomplete.
export async function listMentionableUsers(db: Db, typed: string, opts: { exclude?: number; limit?: number } = {}) {
  const q = typed.trim().slice(0, 50).toLowerCase();
  const like = q.replace(/[\\%_]/g, (c) => `\\${c}`);
  let query = db
    .selectFrom('users')
    .select(['id', 'login', 'name', 'initials'])
    .where('active', '=', true)
    .orderBy(sql`case when lower(login) like ${`${like}%`} or lower(name) like ${`${like}%`} then 0 else 1 end`)
    .orderBy('login')
    .limit(opts.limit ?? 10);
  if (q) {
    query = query.where((eb) =>
      eb.or([eb(eb.fn('lower', ['login']), 'like', `%${like}%`), eb(eb.fn('lower', ['name']), 'like', `%${like}%`)]),
    );
  }
  if (opts.exclude !== undefined) query = query.where('id', '!=', opts.exclude);
  return query.execute();
}

// A merge moves the case's internal discussion along with it (as moveThreadEntries does the thread).
export async function moveDiscussionPosts(trx: Db, fromCaseId: number, toCaseId: number): Promise<void> {
  await trx
    .updateTable('discussion_posts')
    .set({ case_id: toCaseId, moved_from_case_id: sql`coalesce(moved_from_case_id, ${fromCaseId})` })
    .where('case_id', '=', fromCaseId)
    .execute();
}
