import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadCase, renderCasePage } from '../case-page/page.ts';
import { resolveTypedCaseNumber } from '../cases/queries.ts';
import { parseForm, parseId, requiredText, typedValues } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { linkCases, unlinkCases } from './case-links.ts';
import { linkRoles } from './rules.ts';

type NumberParams = { number: string };

const addLinkSchema = z.object({
  case_number: requiredText(40),
  role: z.enum(linkRoles, 'errors.invalid'),
});

// Links between cases, added and removed on the case page's "Linked cases". The rights are those
// of editing a case (its header form): a signed-in user may edit any case that exists, so both
// cases are looked up and a missing one answers 404 (this one) or a message (the other).
export async function registerCaseLinkRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: NumberParams }>('/cases/:number/links', async (request, reply) => {
    const kase = await loadCase(request);
    const form = parseForm(addLinkSchema, request.body);
    const refuse = (linkErrors: Record<string, string>) =>
      renderCasePage(request, reply, kase, 'thread', {
        status: 422,
        tabData: { linkValues: typedValues(request.body), linkErrors },
      });
    if (!form.ok) return refuse(form.errors);
    const other = await resolveTypedCaseNumber(db, form.data.case_number);
    const outcome = await linkCases(db, kase.id, other, form.data.role, currentUser(request));
    if (outcome.ok) {
      return redirectAfterPost(
        request,
        reply,
        `/cases/${kase.number}`,
        request.t('case_links.added', { number: outcome.otherNumber }),
      );
    }
    // a second click on "Link a case": the link is there, which is what the user wanted
    if (outcome.reason === 'duplicate') {
      return redirectAfterPost(
        request,
        reply,
        `/cases/${kase.number}`,
        request.t('case_links.already_linked', { number: outcome.otherNumber ?? '' }),
      );
    }
    return refuse({ case_number: `case_links.error.${outcome.reason}` });
  });

  app.post<{ Params: NumberParams & { linkId: string } }>(
    '/cases/:number/links/:linkId/removal',
    async (request, reply) => {
      const kase = await loadCase(request);
      const linkId = parseId(request.params.linkId);
      if (linkId === null) throw notFound();
      const removed = await unlinkCases(db, kase.id, linkId, currentUser(request));
      return redirectAfterPost(
        request,
        reply,
        `/cases/${kase.number}`,
        removed ? request.t('case_links.removed', { number: removed.otherNumber }) : request.t('case_links.link_gone'),
      );
    },
  );
}
