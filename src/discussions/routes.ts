import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadCase, renderCasePage } from '../case-page/page.ts';
import {
  FormError,
  optionalMultiLine,
  parseBigId,
  parseForm,
  parseQuery,
  queryText,
  typedValues,
} from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
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

const discussionPostSchema = z.object({ body_html: optionalMultiLine(1_000_000) });
const mentionQuerySchema = z.object({ q: queryText });

export async function registerDiscussionRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: { number: string }; Body: Body }>('/cases/:number/discussion', async (request, reply) => {
    const kase = await loadCase(request);
    const body = typedValues(request.body);
    const formKey = formKeyOf(request.body);
    try {
      const form = parseForm(discussionPostSchema, request.body);
      if (!form.ok) throw new FormError(form.errors);
      const { post, mentionedUserIds } = await addDiscussionPost(
        db,
        kase.id,
        form.data.body_html,
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
      const postId = parseBigId(request.params.postId);
      if (!postId) throw notFound();
      try {
        await deleteDiscussionPost(db, postId, currentUser(request), { caseId: kase.id });
      } catch (error) {
        if (error instanceof NotPostWriterError) throw forbidden();
        if (error instanceof DiscussionPostNotFoundError) throw notFound();
        throw error;
      }
      return redirectAfterPost(request, reply, `/cases/${kase.number}/discussion`, request.t('discussion.deleted'));
    },
  );

  // The @mention autocomplete asks here as the user types.
  app.get('/users/mentionable', async (request, reply) => {
    const { q } = parseQuery(mentionQuerySchema, request.query);
    const users = await listMentionableUsers(db, q ?? '', { exclude: currentUser(request).id });
    return reply
      .header('Cache-Control', 'no-store')
      .send(users.map((u) => ({ login: u.login, name: u.name, initials: u.initials })));
  });
}
