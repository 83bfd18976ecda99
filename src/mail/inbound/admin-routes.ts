import type { FastifyInstance } from 'fastify';
import { sendStoredFile } from '../../files/download.ts';
import { humanFileSize } from '../../files/files.ts';
import { parseBigId } from '../../forms/form.ts';
import type { Translate } from '../../i18n/i18n.ts';
import { notFound } from '../../web/errors.ts';
import { redirectAfterPost } from '../../web/render.ts';
import { processInboundMessage } from './process.ts';
import { findInboundRaw, listFailedInbound } from './queries.ts';

type Params = { id: string };

// Where a message that was too large to download was left: the reader marked it as read, and
// moved it when the mailbox says so (fetch.ts, markHandled).
export function stillOnServer(
  t: Translate,
  mailbox: { after_read: string | null; move_to_folder: string | null },
): string {
  return mailbox.after_read === 'move' && mailbox.move_to_folder
    ? t('inbound.still_on_server_moved', { folder: mailbox.move_to_folder })
    : t('inbound.still_on_server_seen');
}

// Administration → Failed mail (M8): nothing a customer sent is lost; a message that could not
// be processed waits here with its error, its raw .eml to download, and a retry.
export async function registerInboundAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/', async (request, reply) =>
    reply.view('admin/inbound', {
      messages: await listFailedInbound(db),
      humanFileSize,
      stillOnServer: (m: { after_read: string | null; move_to_folder: string | null }) => stillOnServer(request.t, m),
    }),
  );

  app.get<{ Params: Params }>('/:id/raw', async (request, reply) => {
    const id = parseBigId(request.params.id);
    const message = id ? await findInboundRaw(db, id) : undefined;
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
    const id = parseBigId(request.params.id);
    const message = id ? await findInboundRaw(db, id) : undefined;
    if (!message) throw notFound();
    // Only its header was downloaded, or nothing of it: processing that would make a case
    // without the message.
    if (message.outcome === 'too_large' || message.outcome === 'unreadable') {
      const where = stillOnServer(request.t, message);
      const refusal = message.outcome === 'too_large' ? 'inbound.too_large_refused' : 'inbound.unreadable_refused';
      return redirectAfterPost(request, reply, '/admin/inbound', request.t(refusal, { where }));
    }
    const result = await processInboundMessage(db, config, String(message.id));
    const flash =
      result.outcome === 'failed'
        ? request.t('inbound.retry_failed', { error: result.error ?? '' })
        : request.t(`inbound.outcome.${result.outcome}`, { number: result.caseNumber ?? '' });
    return redirectAfterPost(request, reply, '/admin/inbound', flash);
  });
}
