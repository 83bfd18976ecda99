import type { FastifyInstance } from 'fastify';
import { sendStoredFile } from '../../files/download.ts';
import { humanFileSize } from '../../files/files.ts';
import { notFound } from '../../web/errors.ts';
import { redirectAfterPost } from '../../web/render.ts';
import { processInboundMessage } from './process.ts';
import { findInboundRaw, listFailedInbound } from './queries.ts';

type Params = { id: string };

// Administration → Failed mail (M8): nothing a customer sent is lost; a message that could not
// be processed waits here with its error, its raw .eml to download, and a retry.
export async function registerInboundAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/', async (_request, reply) =>
    reply.view('admin/inbound', { messages: await listFailedInbound(db), humanFileSize }),
  );

  app.get<{ Params: Params }>('/:id/raw', async (request, reply) => {
    const message = await findInboundRaw(db, request.params.id);
    if (!message) throw notFound();
    return sendStoredFile(reply, db, {
      fileId: message.file_id,
      contentType: 'message/rfc822',
      sizeBytes: message.size_bytes,
      fileName: `inbound-${message.id}.eml`,
      cacheControl: 'private, no-store',
    });
  });

  app.post<{ Params: Params }>('/:id/retry', async (request, reply) => {
    const message = await findInboundRaw(db, request.params.id);
    if (!message) throw notFound();
    const result = await processInboundMessage(db, config, String(message.id));
    const flash =
      result.outcome === 'failed'
        ? request.t('inbound.retry_failed', { error: result.error ?? '' })
        : request.t(`inbound.outcome.${result.outcome}`, { number: result.caseNumber ?? '' });
    return redirectAfterPost(request, reply, '/admin/inbound', flash);
  });
}
