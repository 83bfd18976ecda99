import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import { FormError, manyOf, parseBigId, parseForm, requiredText } from '../forms/form.ts';
import { excerptOf } from '../rich-text/excerpt.ts';
import { listThreadEntries } from '../threads/threads.ts';
import { currentUser } from '../web/context.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import type { CaseView } from './queries.ts';
import { SplitRefusedError, splitCase } from './split.ts';

type NumberParams = { number: string };

const splitSchema = z.object({
  title: requiredText(200),
  entry: manyOf(z.string().refine((v) => parseBigId(v) !== null, 'errors.invalid')),
});

// Splitting a case (src/cases/split.ts), from the case page's Manage menu: the thread's entries
// with a box each and the new case's title; the rights are those of editing the case.
export async function registerSplitRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  const page = async (
    reply: FastifyReply,
    kase: CaseView,
    data: { title?: string; chosen?: string[]; error?: string | null },
    status = 200,
  ) => {
    const entries = (await listThreadEntries(db, kase.id))
      .filter((e) => e.side !== 'system')
      .reverse()
      .map((e) => ({
        id: String(e.id),
        author_name: e.author_name,
        created_at: e.created_at,
        excerpt: excerptOf(e.body_html, 140),
      }));
    return reply.code(status).view('cases/split', {
      kase,
      entries,
      title: data.title ?? kase.title,
      chosen: new Set(data.chosen ?? []),
      error: data.error ?? null,
    });
  };

  app.get<{ Params: NumberParams }>('/cases/:number/split', async (request, reply) =>
    page(reply, await loadCase(request), {}),
  );

  app.post<{ Params: NumberParams }>('/cases/:number/split', async (request, reply) => {
    const kase = await loadCase(request);
    const form = parseForm(splitSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    try {
      const created = await splitCase(
        db,
        { caseId: kase.id, entryIds: form.data.entry, title: form.data.title },
        currentUser(request),
        { formKey: formKeyOf(request.body) },
      );
      return redirectAfterPost(
        request,
        reply,
        `/cases/${created.number}`,
        request.t('split.done', { source: kase.number, number: created.number }),
      );
    } catch (error) {
      if (!(error instanceof SplitRefusedError)) throw error;
      return page(
        reply,
        kase,
        { title: form.data.title, chosen: form.data.entry, error: request.t(error.messageKey) },
        422,
      );
    }
  });
}
