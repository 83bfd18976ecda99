import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { optionalMultiLine, parseBigId, parseForm } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { HttpError, notFound } from '../web/errors.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import { type ChainOutcome, decide, withdraw } from './chains.ts';
import { findChainSummary, findDecisionFor, findDocumentPlace, listMyApprovals } from './queries.ts';
import { refusalMessageKey, refusalStatus } from './rules.ts';

type ChainParams = { chainId: string };

const decisionSchema = z.object({
  decision: z.enum(['approve', 'send_back'], 'errors.invalid'),
  comment: optionalMultiLine(4000),
  // the step the approver saw; a chain that has moved on refuses the decision
  step: z.coerce.number('errors.invalid').int('errors.invalid').min(0, 'errors.invalid'),
});

export async function registerApprovalRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  const showRefusal = async (
    request: FastifyRequest,
    reply: FastifyReply,
    chainId: string,
    outcome: Exclude<ChainOutcome, { ok: true }>,
    comment = '',
  ) => {
    const chain = await findChainSummary(db, chainId);
    if (!chain || outcome.reason === 'not_found') throw notFound();
    const user = currentUser(request);
    // still their turn (a send back without a comment): the form again, with what they typed
    const approvalDecision = await findDecisionFor(db, chain.document_id, user.id);
    return render(
      request,
      reply,
      { page: 'approvals/refused', status: refusalStatus(outcome.reason) },
      {
        chain,
        message: refusalMessageKey(outcome.reason),
        approvalDecision,
        decisionComment: comment,
        decisionError: outcome.reason === 'comment_required' ? 'approvals.refused.comment_required' : null,
      },
    );
  };

  // "My approvals": what waits for the user's decision.
  app.get('/approvals', async (request, reply) => {
    const approvals = await listMyApprovals(db, currentUser(request).id);
    return render(request, reply, { page: 'approvals/index' }, { approvals });
  });

  app.post<{ Params: ChainParams; Body: Record<string, string | undefined> }>(
    '/approvals/:chainId/decision',
    async (request, reply) => {
      const form = parseForm(decisionSchema, request.body);
      const chainId = parseBigId(request.params.chainId);
      const chain = chainId ? await findChainSummary(db, chainId) : undefined;
      if (!chain) throw notFound();
      // the form only sends a known decision and the step it showed; anything else is not ours
      if (!form.ok) throw new HttpError(400, 'Invalid decision');
      const outcome = await decide(db, chain.id, currentUser(request), form.data, { config, language: request.lang });
      if (!outcome.ok) return showRefusal(request, reply, chain.id, outcome, form.data.comment);
      // approvers and the uploader may have been e-mailed
      app.deps.mailSender?.kick();
      const flash =
        outcome.state.kind === 'approved'
          ? request.t('approvals.flash.published')
          : form.data.decision === 'send_back'
            ? request.t('approvals.flash.send_back')
            : request.t('approvals.flash.approve', { step: form.data.step + 1 });
      return redirectAfterPost(request, reply, chain.case_number ? `/cases/${chain.case_number}` : '/approvals', flash);
    },
  );

  app.post<{ Params: ChainParams }>('/approvals/:chainId/withdraw', async (request, reply) => {
    const chainId = parseBigId(request.params.chainId);
    const chain = chainId ? await findChainSummary(db, chainId) : undefined;
    if (!chain) throw notFound();
    const outcome = await withdraw(db, chain.id, currentUser(request), { config, language: request.lang });
    if (!outcome.ok) return showRefusal(request, reply, chain.id, outcome);
    const place = await findDocumentPlace(db, chain);
    return redirectAfterPost(request, reply, place?.href ?? '/cases', request.t('approvals.flash.withdraw'));
  });
}
