import type { CaseTab } from '../case-page/tab.ts';
import { findDraft } from '../drafts/drafts.ts';
import { listDiscussionPosts } from './discussions.ts';
import { findMentions, highlightMentions, textOfRichText } from './mentions.ts';

export const discussionTab: CaseTab = {
  name: 'discussion',
  labelKey: 'cases.tab.discussion',
  load: async ({ db, kase, user }) => {
    const [posts, draft] = await Promise.all([
      listDiscussionPosts(db, kase.id),
      findDraft(db, kase.id, user.id, 'discussion'),
    ]);
    // Only @LOGINs of real users are marked; "@nobody" stays plain text.
    const named = [...new Set(posts.flatMap((p) => findMentions(textOfRichText(p.body_html))))];
    const known = named.length
      ? await db.selectFrom('users').select('login').where('login', 'in', named).execute()
      : [];
    const logins = new Set(known.map((u) => u.login));
    return {
      posts: posts.map((p) => ({ ...p, body_html: highlightMentions(p.body_html, logins) })),
      // the user's unsent post, as they left it
      discussionValues: draft ? { body_html: draft.body_html } : {},
      discussionDraft: draft ?? null,
      discussionErrors: {},
    };
  },
};
