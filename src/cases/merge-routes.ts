import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import { FormError, parseForm, parseQuery, queryText, requiredText } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { mergeCases, mergeSideOf } from './merge.ts';
import { mergeRefusal } from './merge-rules.ts';
import { type CaseView, findCaseByNumber, resolveTypedCaseNumber } from './queries.ts';

type NumberParams = { number: string };

const intoQuerySchema = z.object({ into: queryText });
const mergeSchema = z.object({ into: requiredText(40) });

// Merging a duplicate case into another (src/cases/merge.ts), from the case page's Manage menu:
// the agent names the case to merge into, sees it (and whether its customer differs) and
// confirms. The rights are those of editing a case, as for links: a signed-in user may edit
// any case that exists.
export async function registerMergeRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  // The target as typed (a number, with or without spaces), and what stands in the way.
  const targetFor = async (request: FastifyRequest, source: CaseView, typed: string) => {
    const target = await findCaseByNumber(db, await resolveTypedCaseNumber(db, typed));
    if (!target) return { error: request.t('merge.no_such_case', { number: typed.trim() }) };
    const refusal = mergeRefusal(mergeSideOf(source), mergeSideOf(target));
    if (refusal) return { target, error: request.t(`merge.refused.${refusal}`, { number: target.number }) };
    return { target, error: null };
  };

  const page = (
    reply: FastifyReply,
    source: CaseView,
    data: { into?: string; target?: CaseView; error?: string | null },
    status = 200,
  ) =>
    reply.code(status).view('cases/merge', {
      kase: source,
      into: data.into ?? '',
      target: data.error ? null : (data.target ?? null),
      error: data.error ?? null,
    });

  app.get<{ Params: NumberParams }>('/cases/:number/merge', async (request, reply) => {
    const source = await loadCase(request);
    const { into } = parseQuery(intoQuerySchema, request.query);
    if (!into) return page(reply, source, {});
    const found = await targetFor(request, source, into);
    return page(reply, source, { into, ...found }, found.error ? 422 : 200);
  });

  app.post<{ Params: NumberParams }>('/cases/:number/merge', async (request, reply) => {
    const form = parseForm(mergeSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    // as typed ("45") or in full: the second click of a merge compares the case's full number
    const into = await resolveTypedCaseNumber(db, form.data.into);
    const source = await findCaseByNumber(db, request.params.number);
    if (!source) throw notFound();
    // a second click of a merge that went through: the same answer, nothing merged twice
    const done = () =>
      redirectAfterPost(
        request,
        reply,
        `/cases/${into}`,
        request.t('merge.done', { source: source.number, target: into }),
      );
    if (source.merged_into_number && source.merged_into_number === into) return done();
    const checked = await loadCase(request);
    const found = await targetFor(request, checked, into);
    if (found.error || !found.target) return page(reply, checked, { into, ...found }, 422);
    const outcome = await mergeCases(db, { targetId: found.target.id, sourceIds: [checked.id] }, currentUser(request));
    const refused = outcome.refused[0];
    if (refused) {
      // the second click raced the first and waited for its merge: the same answer too
      if (refused.reason === 'source_merged') {
        const again = await findCaseByNumber(db, request.params.number);
        if (again?.merged_into_number === found.target.number) return done();
      }
      return page(reply, checked, { into, error: request.t(`merge.refused.${refused.reason}`, { number: into }) }, 409);
    }
    return redirectAfterPost(
      request,
      reply,
      `/cases/${found.target.number}`,
      request.t('merge.done', { source: checked.number, target: found.target.number }),
    );
  });
}
