import type { FastifyInstance } from 'fastify';
import { loadCase, renderCasePage } from '../cases/page.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { FormError, parseForm } from '../web/form.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import { findCannedReplyHtml } from './canned-replies.ts';
import { addStaffReply, replySchema } from './threads.ts';

export async function registerThreadRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get<{ Params: { id: string } }>('/canned-replies/:id', async (request, reply) => {
    const html = /^\d+$/.test(request.params.id) ? await findCannedReplyHtml(db, Number(request.params.id)) : null;
    if (html === null) throw notFound();
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
  });

  app.post<{ Params: { number: string }; Body: Record<string, string | undefined> }>(
    '/cases/:number/thread',
    async (request, reply) => {
      const kase = await loadCase(request);
      const formKey = formKeyOf(request.body);
      const form = parseForm(replySchema, request.body);
      try {
        if (!form.ok) throw new FormError(form.errors);
        const added = await addStaffReply(db, kase.id, form.data, currentUser(request), {
          config: app.deps.config,
          formKey,
        });
        if (added.delivery === 'to_send') app.deps.mailSender?.kick();
        const notice = added.delivery === 'to_send' ? 'thread.reply_queued' : 'thread.reply_saved';
        return redirectAfterPost(request, reply, `/cases/${kase.number}`, request.t(notice));
      } catch (error) {
        if (!(error instanceof FormError)) throw error;
        return renderCasePage(request, reply, kase, 'thread', {
          tabData: { replyValues: request.body, replyErrors: error.fields },
          status: 422,
        });
      }
    },
  );
}
