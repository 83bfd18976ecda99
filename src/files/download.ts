import type { FastifyReply } from 'fastify';
import type { Db } from '../db/database.ts';
import { streamFile } from './files.ts';
import { isInlineImageType } from './image-type.ts';

// RFC 8187 ext-value: UTF-8, percent-encoded, with the few characters encodeURIComponent keeps
// but the header grammar does not allow.
export function contentDisposition(kind: 'attachment' | 'inline', fileName: string): string {
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename*=UTF-8''${encoded}`;
}

export type Download = {
  fileId: string | number;
  contentType: string;
  sizeBytes: number;
  fileName: string;
  cacheControl: string;
};

// Sends a stored file, streamed chunk by chunk. Only the image types a browser cannot run as a
// page are shown inline; everything else is a download. The headers also stop the browser from
// guessing another type (nosniff) and, should it render the response anyway, keep it in a
// sandbox without script, styles or requests.
export function sendStoredFile(reply: FastifyReply, db: Db, file: Download): FastifyReply {
  const kind = isInlineImageType(file.contentType) ? 'inline' : 'attachment';
  return reply
    .header('Content-Type', file.contentType)
    .header('Content-Length', String(file.sizeBytes))
    .header('Content-Disposition', contentDisposition(kind, file.fileName))
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Security-Policy', "sandbox; default-src 'none'")
    .header('Cache-Control', file.cacheControl)
    .send(streamFile(db, file.fileId));
}
