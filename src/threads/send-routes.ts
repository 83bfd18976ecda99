import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadCase } from '../cases/page.ts';
import type { CaseView } from '../cases/queries.ts';
import { listCaseDocuments } from '../documents/queries.ts';
import { humanFileSize } from '../files/files.ts';
import { previewMail } from '../mail/outbound/preview.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { parseForm } from '../web/form.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import {
  composeReplyDraft,
  findReplyToSend,
  NotSendableError,
  releaseReplyDraft,
  sendAddressingSchema,
} from './send.ts';

type Params = { number: string; entryId: string };
type Query = Record<string, string | string[] | undefined>;

const numericId = /^\d{1,18}$/;

function renderSendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  kase: CaseView,
  entryId: string,
  data: Record<string, unknown> & { status?: number },
): FastifyReply {
  const { status, ...rest } = data;
  return render(
    request,
    reply,
    { page: 'threads/send-preview', status },
    {
      kase,
      entryId,
      entry: null,
      values: { to: '', cc: '', documents: [] },
      errors: {},
      documents: [],
      preview: null,
      draftId: null,
      state: 'preview',
      humanFileSize,
      ...rest,
    },
  );
}

// Manage → Send to customer: a reply that was only saved (or whose mail did not go) is composed
// as a draft e-mail, shown exactly as it will leave, and released to the outbox by Send.
export async function registerSendRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get<{ Params: Params; Querystring: Query }>('/cases/:number/thread/:entryId/mail', async (request, reply) => {
    const kase = await loadCase(request);
    const { entryId } = request.params;
    const entry = numericId.test(entryId) ? await findReplyToSend(db, kase.id, entryId) : null;
    if (entry?.side !== 'staff') throw notFound();
    if (!entry.sendable) return renderSendPage(request, reply, kase, entryId, { state: 'not_sendable', status: 404 });

    // First the case's contact and the documents already attached; once the form is used, what it says.
    const query = request.query ?? {};
    const typed =
      'to' in query
        ? { to: query.to, cc: query.cc, documents: query.documents }
        : {
            to: kase.contact_record_email ?? kase.contact_email ?? '',
            cc: '',
            documents: entry.documentIds.map(String),
          };
    const values = {
      to: typeof typed.to === 'string' ? typed.to : '',
      cc: typeof typed.cc === 'string' ? typed.cc : '',
      documents: [typed.documents ?? []].flat().map(String),
    };
    const page = { entry, values, documents: await listCaseDocuments(db, kase.id) };
    const form = parseForm(sendAddressingSchema, typed);
    if (!form.ok) return renderSendPage(request, reply, kase, entryId, { ...page, errors: form.errors, status: 422 });
    try {
      const draft = await composeReplyDraft(db, config, {
        caseId: kase.id,
        entryId,
        addressing: { to: form.data.to, cc: form.data.cc, documentIds: form.data.documents },
        actorId: currentUser(request).id,
      });
      const preview = await previewMail(draft.raw);
      reply.header('Cache-Control', 'no-store');
      return renderSendPage(request, reply, kase, entryId, { ...page, draftId: draft.id, preview });
    } catch (error) {
      if (!(error instanceof NotSendableError)) throw error;
      return renderSendPage(request, reply, kase, entryId, { state: 'not_sendable', status: 404 });
    }
  });

  app.post<{ Params: Params; Body: Record<string, string | undefined> }>(
    '/cases/:number/thread/:entryId/mail',
    async (request, reply) => {
      const kase = await loadCase(request);
      const { entryId } = request.params;
      if (!numericId.test(entryId)) throw notFound();
      const draft = request.body?.draft ?? '';
      const outcome = numericId.test(draft)
        ? await releaseReplyDraft(db, { caseId: kase.id, entryId, outboxId: draft, actorId: currentUser(request).id })
        : 'stale';
      // Sent already (a second click), or a newer preview replaced this one: nothing goes twice.
      if (outcome === 'stale') return renderSendPage(request, reply, kase, entryId, { state: 'stale', status: 409 });
      app.deps.mailSender?.kick();
      return redirectAfterPost(request, reply, `/cases/${kase.number}`, request.t('send.queued'));
    },
  );
}
