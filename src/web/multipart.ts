import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { FileTooLargeError } from '../files/files.ts';
import type { UploadPart } from '../files/upload-part.ts';

export type { UploadPart } from '../files/upload-part.ts';

// The parts iterator of a request whose first part the CSRF check already read.
const begun = new WeakMap<FastifyRequest, AsyncIterableIterator<Multipart>>();

const csrfHeaders = ['x-csrf-token', 'csrf-token', 'xsrf-token', 'x-xsrf-token'];

function openParts(request: FastifyRequest): AsyncIterableIterator<Multipart> {
  const parts = request.parts(request.routeOptions.config.multipartOptions);
  begun.set(request, parts);
  return parts;
}

// CSRF on multipart bodies. The app's CSRF check runs before any handler and looks for the
// token in request.body._csrf or an x-csrf-token header, but @fastify/multipart leaves the body
// unparsed until a handler streams it. So, for every multipart request: htmx and fetch send
// the header (from hx-headers on <body>) and nothing needs reading; a plain form posted without
// JavaScript carries the token as its FIRST field, a hidden _csrf input placed before all other
// inputs (browsers send fields in document order). Only that first part is read here, and
// only if it is a field named _csrf; then the usual check runs. A request with neither is
// refused before its files are read. The handler continues with the same parts (uploadParts).
export async function readMultipartCsrfField(request: FastifyRequest): Promise<void> {
  if (csrfHeaders.some((name) => request.headers[name])) return;
  const first = await openParts(request).next();
  if (!first.done && first.value.type === 'field' && first.value.fieldname === '_csrf') {
    request.body = { _csrf: String(first.value.value) };
  }
}

// The parts of the request's multipart body. A file over maxFileBytes fails with
// FileTooLargeError while it is being read (the parser stops at its fileSize limit, which must be
// the same number), and a file its consumer did not read is skipped.
export async function* uploadParts(request: FastifyRequest, maxFileBytes: number): AsyncGenerator<UploadPart> {
  const parts = begun.get(request) ?? openParts(request);
  for await (const part of parts) {
    if (part.type === 'field') {
      yield { kind: 'field', name: part.fieldname, value: String(part.value) };
      continue;
    }
    const stream = part.file;
    stream.once('limit', () => stream.destroy(new FileTooLargeError(maxFileBytes)));
    yield { kind: 'file', name: part.fieldname, fileName: part.filename, contentType: part.mimetype, stream };
    if (!stream.readableEnded && !stream.destroyed) stream.resume();
  }
}

// After refusing an upload half-way, read and drop the rest of the body: a browser that is
// still sending otherwise sees a reset connection instead of our answer.
export function discardRestOfBody(request: FastifyRequest): void {
  request.raw.resume();
}
