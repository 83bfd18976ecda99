import type { FastifyInstance } from 'fastify';
import { loadCase, renderCasePage } from '../cases/page.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { FormError } from '../web/form.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  addDiscussionPost,
  DiscussionPostNotFoundError,
  deleteDiscussionPost,
  discussionPostLink,
  listMentionableUsers,
  NotPostWriterError,
} from './discussions.ts';

type Body = Record<string, string | undefined>;

export async function registerDiscussionRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: { number: string }; Body: Body }>('/cases/:number/discussion', async (request, reply) => {
    const kase = await loadCase(request);
    const body = request.body ?? {};
    const formKey = formKeyOf(body);
    try {
      const { post, mentionedUserIds } = await addDiscussionPost(
        db,
        kase.id,
        String(body.body_html ?? ''),
        currentUser(request),
        { config: app.deps.config, formKey },
      );
      if (mentionedUserIds.length) app.deps.mailSender?.kick();
      return redirectAfterPost(request, reply, discussionPostLink(kase.number, post.id));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return renderCasePage(request, reply, kase, 'discussion', {
        tabData: { discussionValues: body, discussionErrors: error.fields },
        status: 422,
      });
    }
  });

  app.post<{ Params: { number: string; postId: string } }>(
    '/cases/:number/discussion/:postId/deletion',
    async (request, reply) => {
      const kase = await loadCase(request);
      if (!/^\d{1,18}$/.test(request.params.postId)) throw notFound();
      try {
        await deleteDiscussionPost(db, request.params.postId, currentUser(request), { caseId: kase.id });
      } catch (error) {
        if (error instanceof NotPostWriterError) throw forbidden();
        if (error instanceof DiscussionPostNotFoundError) throw notFound();
        throw error;
      }
      return redirectAfterPost(request, reply, `/cases/${kase.number}/discussion`, request.t('discussion.deleted'));
    },
  );

  // The @mention autocomplete asks here as the user types.
  app.get<{ Querystring: { q?: string } }>('/users/mentionable', async (request, reply) => {
    const users = await listMentionableUsers(db, String(request.query.q ?? ''), { exclude: currentUser(request).id });
    return reply
      .header('Cache-Control', 'no-store')
      .send(users.map((u) => ({ login: u.login, name: u.name, initials: u.initials })));
  });
}
