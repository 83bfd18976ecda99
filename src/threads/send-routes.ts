import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import type { CaseView } from '../cases/queries.ts';
import { listCaseDocuments } from '../documents/queries.ts';
import { humanFileSize } from '../files/files.ts';
import { FormError, parseBigId, parseForm } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import {
  composeReplyPreview,
  findReplyToSend,
  NotSendableError,
  sendAddressingSchema,
  sendReplyToCustomer,
} from './send.ts';

type Params = { number: string; entryId: string };
type Query = Record<string, string | string[] | undefined>;

// The preview's digest: the mail Send may queue is the one the user saw.
const digestSchema = z.object({ digest: z.string().default('') });

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
      state: 'preview',
      humanFileSize,
      ...rest,
    },
  );
}

// What the page's forms carry: To, Cc and the ticked documents. The GET form has them in the
// query, the Send form as hidden fields beside the preview's digest.
function addressingOf(source: Query, entry: { documentIds: (string | number)[] }, contactEmail: string) {
  // First the case's contact and the documents already attached; once the form is used, what it says.
  const typed =
    'to' in source
      ? { to: source.to, cc: source.cc, documents: source.documents }
      : { to: contactEmail, cc: '', documents: entry.documentIds.map(String) };
  const values = {
    to: typeof typed.to === 'string' ? typed.to : '',
    cc: typeof typed.cc === 'string' ? typed.cc : '',
    documents: [typed.documents ?? []].flat().map(String),
  };
  return { values, form: parseForm(sendAddressingSchema, typed) };
}

// Manage → Send to customer: a reply that was only saved (or whose mail did not go) is shown as
// the e-mail it will be, and Send composes that e-mail again and queues it. The preview is
// computed without writing anything; Send goes only if the mail is still the one shown.
export async function registerSendRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  async function loadReply(request: FastifyRequest<{ Params: Params }>) {
    const kase = await loadCase(request);
    const { entryId } = request.params;
    const entry = parseBigId(entryId) !== null ? await findReplyToSend(db, kase.id, entryId) : null;
    if (entry?.side !== 'staff') throw notFound();
    return { kase, entryId, entry };
  }

  app.get<{ Params: Params; Querystring: Query }>('/cases/:number/thread/:entryId/mail', async (request, reply) => {
    const { kase, entryId, entry } = await loadReply(request);
    if (!entry.sendable) return renderSendPage(request, reply, kase, entryId, { state: 'not_sendable', status: 404 });
    const contact = kase.contact_record_email ?? kase.contact_email ?? '';
    const { values, form } = addressingOf(request.query ?? {}, entry, contact);
    const page = { entry, values, documents: await listCaseDocuments(db, kase.id) };
    if (!form.ok) return renderSendPage(request, reply, kase, entryId, { ...page, errors: form.errors, status: 422 });
    try {
      const preview = await composeReplyPreview(db, config, {
        caseId: kase.id,
        entryId,
        addressing: { to: form.data.to, cc: form.data.cc, documentIds: form.data.documents },
      });
      reply.header('Cache-Control', 'no-store');
      return renderSendPage(request, reply, kase, entryId, { ...page, preview });
    } catch (error) {
      if (!(error instanceof NotSendableError)) throw error;
      return renderSendPage(request, reply, kase, entryId, { state: 'not_sendable', status: 404 });
    }
  });

  app.post<{ Params: Params; Body: Query }>('/cases/:number/thread/:entryId/mail', async (request, reply) => {
    const { kase, entryId, entry } = await loadReply(request);
    const body = request.body ?? {};
    const { form } = addressingOf({ to: '', ...body }, entry, '');
    const sent = parseForm(digestSchema, body);
    if (!sent.ok) throw new FormError(sent.errors);
    const digest = /^[0-9a-f]{64}$/.test(sent.data.digest) ? sent.data.digest : null;
    const outcome =
      form.ok && digest
        ? await sendReplyToCustomer(db, config, {
            caseId: kase.id,
            entryId,
            addressing: { to: form.data.to, cc: form.data.cc, documentIds: form.data.documents },
            digest,
            actorId: currentUser(request).id,
          })
        : 'stale';
    // Sent already (a second click), or the mail changed since the preview: nothing goes unseen or twice.
    if (outcome === 'stale') return renderSendPage(request, reply, kase, entryId, { state: 'stale', status: 409 });
    app.deps.mailSender?.kick();
    return redirectAfterPost(request, reply, `/cases/${kase.number}`, request.t('send.queued'));
  });
}
