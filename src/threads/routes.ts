import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadCase, renderCasePage } from '../case-page/page.ts';
import { isDocumentApprovalCase } from '../cases/queries.ts';
import { FormError, parseBigId, parseForm, parseId, typedList, typedValues } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import { findCannedReplyHtml } from './canned-replies.ts';
import { recallHeldReply } from './send.ts';
import { addStaffReply, ReplyCollisionError, replySchema } from './threads.ts';

type EntryParams = { number: string; entryId: string };

// What the reply form saw (issue 18): the newest thread entry shown when it was opened ('0': the
// thread was empty). Absent (a page from before, a script): not checked. The collision warning's
// form sends it again, counting the new entries as seen, with the button pressed.
const seenSchema = z.object({
  seen_entry_id: z
    .string('errors.invalid')
    .refine((v) => v === '0' || parseBigId(v) !== null, 'errors.invalid')
    .optional(),
  collision: z.enum(['send', 'edit'], 'errors.invalid').optional(),
});

export async function registerThreadRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get<{ Params: { id: string } }>('/canned-replies/:id', async (request, reply) => {
    const id = parseId(request.params.id);
    const html = id ? await findCannedReplyHtml(db, id) : null;
    if (html === null) throw notFound();
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
  });

  app.post<{ Params: { number: string }; Body: Record<string, string | undefined> }>(
    '/cases/:number/thread',
    async (request, reply) => {
      const kase = await loadCase(request);
      // the approval chain's document case has no customer to answer (its page shows no reply box)
      if (isDocumentApprovalCase(kase)) throw forbidden();
      const formKey = formKeyOf(request.body);
      const form = parseForm(replySchema, request.body);
      const seen = parseForm(seenSchema, request.body);
      const typed = (): Record<string, string | string[]> => ({
        ...typedValues(request.body),
        document_ids: typedList(request.body, 'document_ids'),
      });
      try {
        if (!seen.ok) throw new FormError(seen.errors);
        // "Edit reply" on the collision warning: back to the reply box with the text as typed
        if (seen.data.collision === 'edit') {
          return renderCasePage(request, reply, kase, 'thread', { tabData: { replyValues: typed() } });
        }
        if (!form.ok) throw new FormError(form.errors);
        // A person pressed Send now (button, F2, Ctrl+S): the mail waits for Undo first.
        const added = await addStaffReply(db, kase.id, form.data, currentUser(request), {
          config: app.deps.config,
          formKey,
          holdForUndo: true,
          seenEntryId: seen.data.seen_entry_id ?? null,
        });
        // a held message: the sender learns when its hold ends and wakes up then
        if (added.delivery === 'to_send') app.deps.mailSender?.kick();
        const notice =
          added.delivery !== 'to_send'
            ? request.t('thread.reply_saved')
            : added.heldSeconds > 0
              ? request.t('thread.reply_held', { seconds: added.heldSeconds })
              : request.t('thread.reply_queued');
        return redirectAfterPost(request, reply, `/cases/${kase.number}`, notice);
      } catch (error) {
        // Not sent: the customer wrote or a colleague replied since the form was opened. The
        // warning shows what is new and offers to send the reply as it is or to edit it.
        if (error instanceof ReplyCollisionError && form.ok) {
          return renderCasePage(request, reply, kase, 'thread', {
            tabData: { collision: { entries: error.entries, reply: form.data }, replyValues: typed() },
            status: 409,
          });
        }
        if (!(error instanceof FormError)) throw error;
        const values = typed();
        // a broken "seen" field is not shown again: the form counts what the page shows now
        if (!seen.ok) delete values.seen_entry_id;
        return renderCasePage(request, reply, kase, 'thread', {
          tabData: { replyValues: values, replyErrors: error.fields },
          status: 422,
        });
      }
    },
  );

  // Undo of "Send now", while its mail is held: the reply goes back to the writer's reply box.
  app.post<{ Params: EntryParams }>('/cases/:number/thread/:entryId/recall', async (request, reply) => {
    const kase = await loadCase(request);
    const entryId = parseBigId(request.params.entryId);
    if (!entryId) throw notFound();
    const outcome = await recallHeldReply(db, { caseId: kase.id, entryId, actor: currentUser(request) });
    if (outcome === 'not_found') throw notFound();
    if (outcome === 'not_writer') throw forbidden();
    if (outcome === 'too_late') {
      return renderCasePage(request, reply, kase, 'thread', {
        tabData: { threadAlert: request.t('thread.undo_too_late') },
        status: 409,
      });
    }
    return redirectAfterPost(request, reply, `/cases/${kase.number}`, request.t('thread.undo_done'));
  });
}
