import type { CaseTab } from '../case-page/tab.ts';
import { listDiscussionPosts } from './discussions.ts';
import { findMentions, highlightMentions, textOfRichText } from './mentions.ts';

export const discussionTab: CaseTab = {
  name: 'discussion',
  labelKey: 'cases.tab.discussion',
  load: async ({ db, kase }) => {
    const posts = await listDiscussionPosts(db, kase.id);
    // Only @LOGINs of real users are marked; "@nobody" stays plain text.
    const named = [...new Set(posts.flatMap((p) => findMentions(textOfRichText(p.body_html))))];
    const known = named.length
      ? await db.selectFrom('users').select('login').where('login', 'in', named).execute()
      : [];
    const logins = new Set(known.map((u) => u.login));
    return {
      posts: posts.map((p) => ({ ...p, body_html: highlightMentions(p.body_html, logins) })),
      discussionValues: {},
      discussionErrors: {},
    };
  },
};
