import type { FastifyReply } from 'fastify';
import type { Db } from '../db/database.ts';
import { readFileHead, streamFile } from './files.ts';
import { sniffBytes, sniffImageType } from './image-type.ts';

// RFC 8187 ext-value: UTF-8, percent-encoded, with the few characters encodeURIComponent keeps
// but the header grammar does not allow.
export function contentDisposition(kind: 'attachment' | 'inline', fileName: string): string {
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename*=UTF-8''${encoded}`;
}

export type ServedType = { contentType: string; disposition: 'inline' | 'attachment' };

const octetStream: ServedType = { contentType: 'application/octet-stream', disposition: 'attachment' };

// What a stored file is served as. A file is ours to serve under its own type only when that type
// cannot run in our origin: a PNG, JPEG, GIF or WebP image (shown inline) or a PDF, each proven by
// its first bytes, and plain text. Anything else (HTML, SVG, XML, JavaScript, a mail) is bytes to
// save: as text/javascript a file would run as a script of ours from <script src>, whatever
// Content-Disposition says.
export function servedType(storedType: string, head: Buffer): ServedType {
  if (storedType.startsWith('image/')) {
    const image = sniffImageType(head);
    return image ? { contentType: image, disposition: 'inline' } : octetStream;
  }
  if (storedType === 'application/pdf') {
    return head.subarray(0, 5).toString('latin1') === '%PDF-'
      ? { contentType: 'application/pdf', disposition: 'attachment' }
      : octetStream;
  }
  if (storedType === 'text/plain') return { contentType: 'text/plain; charset=utf-8', disposition: 'attachment' };
  return octetStream;
}

export type Download = {
  fileId: string | number;
  contentType: string;
  sizeBytes: number;
  fileName: string;
  cacheControl: string;
};

// Sends a stored file, streamed chunk by chunk, as servedType decides. The headers also stop the
// browser from guessing another type (nosniff), keep a response that is rendered anyway in a
// sandbox without script, styles or requests, and keep other sites from embedding it.
export async function sendStoredFile(reply: FastifyReply, db: Db, file: Download): Promise<FastifyReply> {
  const served = servedType(file.contentType, await readFileHead(db, file.fileId, sniffBytes));
  return reply
    .header('Content-Type', served.contentType)
    .header('Content-Length', String(file.sizeBytes))
    .header('Content-Disposition', contentDisposition(served.disposition, file.fileName))
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Security-Policy', "sandbox; default-src 'none'")
    .header('Cross-Origin-Resource-Policy', 'same-origin')
    .header('Cache-Control', file.cacheControl)
    .send(streamFile(db, file.fileId));
}
