import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadCase, renderCasePage } from '../case-page/page.ts';
import type { CaseView } from '../cases/queries.ts';
import type { Db } from '../db/database.ts';
import { formKeyPattern } from '../db/form-keys.ts';
import { sendStoredFile } from '../files/download.ts';
import { FileTooLargeError } from '../files/files.ts';
import { FormError, parseBigId, parseId } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { discardRestOfBody, type UploadPart, uploadParts } from '../web/multipart.ts';
import { safeRedirectTarget } from '../web/redirect.ts';
import { isHtmx, redirectAfterPost, render } from '../web/render.ts';
import { type AccessDocument, canOpen } from './access.ts';
import {
  addDocumentVersion,
  addUploadedDocuments,
  DocumentForbiddenError,
  DocumentNotFoundError,
  DocumentOwnerNotFoundError,
  deleteDocument,
  type StartApproval,
} from './documents.ts';
import { type DocumentOwner, findOwnerPlace, ownerOf, parseOwner } from './owners.ts';
import { loadDocumentPage } from './page.ts';
import { loadDocumentsPanel } from './panel.ts';
import { findCaseDocument, findDocument, findDocumentVersion, findLatestChain } from './queries.ts';

type CaseDocumentParams = { number: string; id: string };
type DocumentParams = { id: string };
type Refusal = { status: number; message: string };

// A document's content goes out only through here: the access rule is asked on every download
// (a locked document answers 403 to everyone but the approver whose turn it is, admins too).
async function sendDocumentFile(
  request: FastifyRequest,
  reply: FastifyReply,
  db: Db,
  document: AccessDocument & { id: string | number },
  file: { file_id: string; file_name: string; content_type: string; size_bytes: number },
) {
  const chain = await findLatestChain(db, String(document.id));
  const access = canOpen(currentUser(request), document, chain);
  if (!access.allowed) throw access.reason === 'gone' ? notFound() : forbidden();
  return sendStoredFile(reply, db, {
    fileId: file.file_id,
    contentType: file.content_type,
    sizeBytes: file.size_bytes,
    fileName: file.file_name,
    // A deleted or newly locked document must stop being served, so the browser asks each time.
    cacheControl: 'private, no-cache',
  });
}

// After an upload or a deletion on a case: htmx gets the tab again with a note on top, a plain
// form the redirect back to the tab with the same note as a flash.
function showDocumentsTab(request: FastifyRequest, reply: FastifyReply, kase: CaseView, notice: string) {
  if (isHtmx(request))
    return renderCasePage(request, reply, kase, 'documents', { tabData: { documentsNotice: notice } });
  return redirectAfterPost(request, reply, `/cases/${kase.number}/documents`, notice);
}

// The same for any other owner: htmx gets the panel, a plain form goes back to the owner's page.
async function showOwnerPanel(request: FastifyRequest, reply: FastifyReply, owner: DocumentOwner, notice: string) {
  const db = request.server.deps.db;
  if (owner.kind === 'case') {
    const kase = await db.selectFrom('cases').select('number').where('id', '=', owner.id).executeTakeFirstOrThrow();
    const url = `/cases/${kase.number}/documents`;
    if (!isHtmx(request)) return redirectAfterPost(request, reply, url, notice);
    return reply.header('HX-Redirect', safeRedirectTarget(url)).code(204).send();
  }
  if (!isHtmx(request)) {
    const place = await findOwnerPlace(db, owner);
    if (!place) throw notFound();
    return redirectAfterPost(request, reply, place.href, notice);
  }
  const panel = await loadDocumentsPanel(db, owner, currentUser(request));
  return reply.header('Vary', 'HX-Request').view('documents/_panel', { panel: { ...panel, notice } });
}

function documentIdFrom(text: string): string {
  const id = parseBigId(text);
  if (!id) throw notFound();
  return id;
}

// The approvals domain's chain start, wired in by app.ts: approvals is built on documents, so
// documents cannot import it. Required, so registering the routes without it does not compile.
export type DocumentRouteOptions = { startApproval: StartApproval };

export async function registerDocumentRoutes(
  app: FastifyInstance,
  { startApproval }: DocumentRouteOptions,
): Promise<void> {
  const { db, config, mailSender } = app.deps;
  const maxUploadMb = Math.round(config.maxUploadBytes / (1024 * 1024));

  // Why an upload was refused, as a status and a sentence for the user; undefined for a fault.
  const refusalOf = (request: FastifyRequest, error: unknown): Refusal | undefined => {
    const code = (error as { code?: string }).code;
    if (error instanceof FileTooLargeError || code === 'FST_REQ_FILE_TOO_LARGE') {
      return { status: 413, message: request.t('documents.too_large', { mb: maxUploadMb }) };
    }
    if (code === 'FST_FILES_LIMIT') return { status: 413, message: request.t('documents.too_many_files', { max: 20 }) };
    if (error instanceof FormError) {
      return { status: 422, message: request.t(Object.values(error.fields)[0] ?? 'errors.invalid') };
    }
    return undefined;
  };

  // htmx swaps no error response; its alert area shows this text instead (public/app.js).
  const sendRefusalText = (reply: FastifyReply, refusal: Refusal) =>
    reply.code(refusal.status).header('Vary', 'HX-Request').type('text/plain; charset=utf-8').send(refusal.message);

  app.post<{ Params: { number: string } }>('/cases/:number/documents', async (request, reply) => {
    const kase = await loadCase(request);
    try {
      const { added } = await addUploadedDocuments(db, {
        owner: { kind: 'case', id: kase.id },
        user: currentUser(request),
        maxBytes: config.maxUploadBytes,
        parts: uploadParts(request, config.maxUploadBytes),
        config,
        language: request.lang,
        startApproval,
      });
      // a repeat of the form (its one-time key) is answered before its files are read
      discardRestOfBody(request);
      mailSender?.kick();
      return showDocumentsTab(request, reply, kase, addedNotice(request, added));
    } catch (error) {
      const refusal = refusalOf(request, error);
      if (!refusal) throw error;
      discardRestOfBody(request);
      if (isHtmx(request)) return sendRefusalText(reply, refusal);
      return renderCasePage(request, reply, kase, 'documents', {
        status: refusal.status,
        tabData: { uploadError: refusal.message },
      });
    }
  });

  app.get<{ Params: CaseDocumentParams }>('/cases/:number/documents/:id', async (request, reply) => {
    const kase = await loadCase(request);
    const document = await findCaseDocument(db, kase.id, documentIdFrom(request.params.id));
    if (!document) throw notFound();
    return sendDocumentFile(request, reply, db, document, { ...document, file_id: String(document.file_id) });
  });

  app.post<{ Params: CaseDocumentParams }>('/cases/:number/documents/:id/deletion', async (request, reply) => {
    const kase = await loadCase(request);
    const document = await findCaseDocument(db, kase.id, documentIdFrom(request.params.id));
    if (!document) throw notFound();
    await deleteOrRefuse(String(document.id), request);
    return showDocumentsTab(request, reply, kase, request.t('documents.deleted', { name: document.file_name }));
  });

  // The panel's upload on any owner; the owner comes in owner_kind and owner_id fields.
  app.post('/documents', async (request, reply) => {
    const seen: Record<string, string> = {};
    try {
      const { owner, added } = await addUploadedDocuments(db, {
        user: currentUser(request),
        maxBytes: config.maxUploadBytes,
        parts: noteFields(uploadParts(request, config.maxUploadBytes), seen),
        config,
        language: request.lang,
        startApproval,
      });
      discardRestOfBody(request);
      mailSender?.kick();
      return showOwnerPanel(request, reply, owner, addedNotice(request, added));
    } catch (error) {
      if (error instanceof DocumentOwnerNotFoundError) {
        discardRestOfBody(request);
        throw notFound();
      }
      const refusal = refusalOf(request, error);
      if (!refusal) throw error;
      discardRestOfBody(request);
      if (isHtmx(request)) return sendRefusalText(reply, refusal);
      // Without JavaScript: the owner's panel on a page of its own, with the reason above the form.
      const owner = parseOwner(seen.owner_kind, seen.owner_id);
      const place = owner ? await findOwnerPlace(db, owner) : undefined;
      if (!owner || !place) throw notFound();
      const panel = await loadDocumentsPanel(db, owner, currentUser(request));
      return reply
        .code(refusal.status)
        .view('documents/upload-refused', { place, panel: { ...panel, uploadError: refusal.message } });
    }
  });

  app.get<{ Params: DocumentParams }>('/documents/:id', async (request, reply) => {
    const page = await loadDocumentPage(db, documentIdFrom(request.params.id), currentUser(request));
    if (!page) throw notFound();
    return render(request, reply, { page: 'documents/show' }, { ...page, versionError: null });
  });

  app.get<{ Params: DocumentParams }>('/documents/:id/download', async (request, reply) => {
    const document = await findDocument(db, documentIdFrom(request.params.id));
    if (!document) throw notFound();
    return sendDocumentFile(request, reply, db, document, document);
  });

  app.get<{ Params: DocumentParams & { version: string } }>(
    '/documents/:id/versions/:version',
    async (request, reply) => {
      const document = await findDocument(db, documentIdFrom(request.params.id));
      const version = parseId(request.params.version);
      if (!document || !version) throw notFound();
      const file = await findDocumentVersion(db, document, version);
      if (!file) throw notFound();
      return sendDocumentFile(request, reply, db, document, { ...file, file_id: String(file.file_id) });
    },
  );

  // A new version: multipart with one `file`. The access rule is checked on the locked row.
  app.post<{ Params: DocumentParams }>('/documents/:id/versions', async (request, reply) => {
    const documentId = documentIdFrom(request.params.id);
    const user = currentUser(request);
    try {
      let stored: Awaited<ReturnType<typeof addDocumentVersion>> | undefined;
      let formKey: string | null = null;
      for await (const part of uploadParts(request, config.maxUploadBytes)) {
        if (part.kind === 'field' && part.name === 'form_key') {
          if (!formKeyPattern.test(part.value)) throw new FormError({ form_key: 'errors.invalid' });
          formKey = part.value;
        }
        if (part.kind !== 'file' || part.name !== 'file' || part.fileName === '' || stored) continue;
        stored = await addDocumentVersion(db, {
          formKey,
          documentId,
          fileName: part.fileName,
          contentType: part.contentType,
          stream: part.stream,
          user,
          maxBytes: config.maxUploadBytes,
          config,
          language: request.lang,
          startApproval,
        });
      }
      if (!stored) throw new FormError({ file: 'documents.no_file' });
      mailSender?.kick();
      const notice = request.t(stored.approvalStarted ? 'documents.version_added_sent' : 'documents.version_added', {
        version: stored.version,
      });
      return redirectAfterPost(request, reply, `/documents/${documentId}`, notice);
    } catch (error) {
      if (error instanceof DocumentNotFoundError) {
        discardRestOfBody(request);
        throw notFound();
      }
      if (error instanceof DocumentForbiddenError) {
        discardRestOfBody(request);
        throw forbidden();
      }
      const refusal = refusalOf(request, error);
      if (!refusal) throw error;
      discardRestOfBody(request);
      if (isHtmx(request)) return sendRefusalText(reply, refusal);
      const page = await loadDocumentPage(db, documentId, user);
      if (!page) throw notFound();
      return render(
        request,
        reply,
        { page: 'documents/show', status: refusal.status },
        { ...page, versionError: refusal.message },
      );
    }
  });

  app.post<{ Params: DocumentParams }>('/documents/:id/deletion', async (request, reply) => {
    const document = await findDocument(db, documentIdFrom(request.params.id));
    if (!document) throw notFound();
    await deleteOrRefuse(String(document.id), request);
    const owner = ownerOf(document);
    const notice = request.t('documents.deleted', { name: document.file_name });
    if (!owner) return redirectAfterPost(request, reply, '/', notice);
    return showOwnerPanel(request, reply, owner, notice);
  });

  async function deleteOrRefuse(documentId: string, request: FastifyRequest) {
    try {
      await deleteDocument(db, documentId, currentUser(request));
    } catch (error) {
      if (error instanceof DocumentForbiddenError) throw forbidden();
      if (error instanceof DocumentNotFoundError) throw notFound();
      throw error;
    }
  }
}

// The parts as they pass, with the plain fields written down for an error page afterwards.
async function* noteFields(parts: AsyncIterable<UploadPart>, seen: Record<string, string>) {
  for await (const part of parts) {
    if (part.kind === 'field') seen[part.name] = part.value;
    yield part;
  }
}

// "2 files added." plus, when a category's approval chain took some, that they await approval.
function addedNotice(request: FastifyRequest, added: { approvalStarted: boolean }[]): string {
  const notice = request.t('documents.added', { count: added.length });
  const locked = added.filter((a) => a.approvalStarted).length;
  return locked ? `${notice} ${request.t('documents.sent_for_approval', { count: locked })}` : notice;
}
