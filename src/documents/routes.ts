import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadCase, renderCasePage } from '../cases/page.ts';
import type { CaseView } from '../cases/queries.ts';
import { sendStoredFile } from '../files/download.ts';
import { FileTooLargeError } from '../files/files.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { FormError } from '../web/form.ts';
import { discardRestOfBody, uploadParts } from '../web/multipart.ts';
import { isHtmx, redirectAfterPost } from '../web/render.ts';
import {
  addUploadedDocuments,
  DocumentDeletionForbiddenError,
  DocumentNotFoundError,
  deleteDocument,
} from './documents.ts';
import { findCaseDocument } from './queries.ts';

type DocumentParams = { number: string; id: string };

// After an upload or a deletion: htmx gets the tab again with a note on top, a plain form the
// redirect back to the tab with the same note as a flash.
function showDocumentsTab(request: FastifyRequest, reply: FastifyReply, kase: CaseView, notice: string) {
  if (isHtmx(request))
    return renderCasePage(request, reply, kase, 'documents', { tabData: { documentsNotice: notice } });
  return redirectAfterPost(request, reply, `/cases/${kase.number}/documents`, notice);
}

export async function registerDocumentRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  const maxUploadMb = Math.round(config.maxUploadBytes / (1024 * 1024));

  // Why an upload was refused, as a status and a sentence for the user; undefined for a fault.
  const refusalOf = (request: FastifyRequest, error: unknown): { status: number; message: string } | undefined => {
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

  app.post<{ Params: { number: string } }>('/cases/:number/documents', async (request, reply) => {
    const kase = await loadCase(request);
    try {
      const added = await addUploadedDocuments(db, {
        caseId: kase.id,
        user: currentUser(request),
        maxBytes: config.maxUploadBytes,
        parts: uploadParts(request, config.maxUploadBytes),
      });
      return showDocumentsTab(request, reply, kase, request.t('documents.added', { count: added.length }));
    } catch (error) {
      const refusal = refusalOf(request, error);
      if (!refusal) throw error;
      discardRestOfBody(request);
      // htmx swaps no error response; its alert area shows this text instead (public/app.js).
      if (isHtmx(request)) {
        return reply
          .code(refusal.status)
          .header('Vary', 'HX-Request')
          .type('text/plain; charset=utf-8')
          .send(refusal.message);
      }
      return renderCasePage(request, reply, kase, 'documents', {
        status: refusal.status,
        tabData: { uploadError: refusal.message },
      });
    }
  });

  app.get<{ Params: DocumentParams }>('/cases/:number/documents/:id', async (request, reply) => {
    const kase = await loadCase(request);
    const document = await findCaseDocument(db, kase.id, request.params.id);
    if (!document) throw notFound();
    return sendStoredFile(reply, db, {
      fileId: document.file_id,
      contentType: document.content_type,
      sizeBytes: document.size_bytes,
      fileName: document.file_name,
      // A deleted document must stop being served, so the browser asks again each time.
      cacheControl: 'private, no-cache',
    });
  });

  app.post<{ Params: DocumentParams }>('/cases/:number/documents/:id/deletion', async (request, reply) => {
    const kase = await loadCase(request);
    const document = await findCaseDocument(db, kase.id, request.params.id);
    if (!document) throw notFound();
    try {
      await deleteDocument(db, String(document.id), currentUser(request));
    } catch (error) {
      if (error instanceof DocumentDeletionForbiddenError) throw forbidden();
      if (error instanceof DocumentNotFoundError) throw notFound();
      throw error;
    }
    return showDocumentsTab(request, reply, kase, request.t('documents.deleted', { name: document.file_name }));
  });
}
