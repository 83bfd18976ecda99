import type { FastifyInstance } from 'fastify';
import { sendStoredFile } from '../files/download.ts';
import { FileTooLargeError } from '../files/files.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { discardRestOfBody, uploadParts } from '../web/multipart.ts';
import { findInlineImage, inlineImageUrl, NotAnImageError, storeInlineImage } from './inline-images.ts';

const imageCapBytes = 10 * 1024 * 1024;

// Images pasted into rich text (thread replies, discussion, canned replies). The editor uploads
// each one here as it is inserted and keeps only the returned URL in the text.
export async function registerInlineImageRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  const maxBytes = Math.min(imageCapBytes, config.maxUploadBytes);
  const maxMb = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;

  app.post(
    '/uploads/images',
    { config: { multipartOptions: { limits: { fileSize: maxBytes, files: 1 } } } },
    async (request, reply) => {
      try {
        for await (const part of uploadParts(request, maxBytes)) {
          if (part.kind !== 'file' || part.name !== 'file') continue;
          const image = await storeInlineImage(db, { content: part.stream, user: currentUser(request), maxBytes });
          return reply.code(201).send({ url: inlineImageUrl(image.token) });
        }
        return reply.code(400).send({ error: request.t('errors.invalid') });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (error instanceof FileTooLargeError || code === 'FST_REQ_FILE_TOO_LARGE') {
          discardRestOfBody(request);
          return reply.code(413).send({ error: request.t('documents.image_too_large', { mb: maxMb }) });
        }
        if (error instanceof NotAnImageError) {
          discardRestOfBody(request);
          return reply.code(415).send({ error: request.t('documents.image_only') });
        }
        throw error;
      }
    },
  );

  // Behind the login like every page; the unguessable token is what limits who can find it.
  app.get<{ Params: { token: string } }>('/uploads/images/:token', async (request, reply) => {
    const image = await findInlineImage(db, request.params.token);
    if (!image) throw notFound();
    return sendStoredFile(reply, db, {
      fileId: image.file_id,
      contentType: image.content_type,
      sizeBytes: image.size_bytes,
      fileName: `image.${image.content_type.split('/')[1]}`,
      // The content under a token never changes; private keeps it out of shared caches.
      cacheControl: 'private, max-age=86400',
    });
  });
}
