import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import { isDocumentApprovalCase } from '../cases/queries.ts';
import { parseForm } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { forbidden } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { type DraftBox, type DraftInput, discardDraft, draftBoxes, draftSchemas, saveDraft } from './drafts.ts';

// Each box's draft is a sub-resource of the case: POST /cases/:number/reply-draft stores what the
// box holds (public/drafts.js, as the user types), POST …/reply-draft/deletion throws it away.
// A draft is always the current user's own, on a case they can open; CSRF is checked for every
// POST by the app's pipeline.
// The draft the page filled the box from: its updated_at in ms, '' for none; left out by a
// client that does not know it (then the save is not checked against the other browser's).
const draftBaseSchema = z.object({
  draft_base: z
    .string()
    .regex(/^\d{0,15}$/, 'errors.invalid')
    .optional()
    .transform((v) => (v === undefined ? undefined : v === '' ? null : Number(v))),
});

const boxPaths: Record<DraftBox, { path: string; tab: string }> = {
  reply: { path: 'reply-draft', tab: '' },
  discussion: { path: 'discussion-draft', tab: '/discussion' },
  internal: { path: 'internal-draft', tab: '/internal' },
};

export async function registerDraftRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  for (const box of draftBoxes) {
    const { path, tab } = boxPaths[box];

    app.post<{ Params: { number: string } }>(`/cases/:number/${path}`, async (request, reply) => {
      const kase = await loadCase(request);
      // the approval chain's document case has no reply box: there is no customer to answer
      if (box === 'reply' && isDocumentApprovalCase(kase)) throw forbidden();
      const form = parseForm(draftSchemas[box], request.body);
      if (!form.ok) {
        return reply.code(422).type('text/plain; charset=utf-8').send(request.t('drafts.not_saved'));
      }
      const based = parseForm(draftBaseSchema, request.body);
      if (!based.ok) return reply.code(422).type('text/plain; charset=utf-8').send(request.t('drafts.not_saved'));
      // the box's own schema parsed it, so it is that box's input
      const input = { box, ...form.data } as DraftInput;
      const saved = await saveDraft(db, kase.id, currentUser(request).id, input, based.data.draft_base);
      if ('stale' in saved) {
        return reply.code(409).type('text/plain; charset=utf-8').send(request.t('drafts.changed_elsewhere'));
      }
      return reply.header('Cache-Control', 'no-store').send(saved);
    });

    app.post<{ Params: { number: string } }>(`/cases/:number/${path}/deletion`, async (request, reply) => {
      const kase = await loadCase(request);
      const discarded = await discardDraft(db, kase.id, currentUser(request).id, box);
      const notice = discarded?.recalled ? request.t('thread.draft_discarded') : request.t('drafts.discarded');
      return redirectAfterPost(request, reply, `/cases/${kase.number}${tab}`, notice);
    });
  }
}
