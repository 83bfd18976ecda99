import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// Pages, partials, CSS and JS are sent brotli- or gzip-compressed when the client accepts it.
// Built on node:zlib in one onSend hook rather than a plugin: the rules below are the whole policy.
// - Only text types: images, PDFs and archives are compressed already.
// - Nothing with a Content-Disposition: stored files (files/download.ts) go out byte for byte,
//   with their own safe type and headers, and a download keeps its Content-Length.
// - Not under minBytes: the header costs more than it saves (/healthz, 204s, small partials).
// - Brotli at quality 4 costs about as much CPU as gzip -6 and is smaller; higher qualities are
//   too slow for answers made per request.
const compressible = /^(text\/(html|css|javascript|plain)|application\/(javascript|json)|image\/svg\+xml)\b/;
export const minBytes = 1024;
const brotliOptions = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } };
const gzipOptions = { level: 6 };
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export function chooseEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | null {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    if (name) accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const weight = (name: string) => accepted.get(name) ?? (accepted.get('*') || 0);
  if (weight('br') > 0 && weight('br') >= weight('gzip')) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return null;
}

function compressedWorthy(reply: FastifyReply): boolean {
  if (reply.statusCode === 204 || reply.statusCode === 206 || reply.statusCode === 304) return false;
  if (reply.hasHeader('content-encoding') || reply.hasHeader('content-disposition')) return false;
  if (reply.hasHeader('content-range')) return false;
  return compressible.test(String(reply.getHeader('content-type') ?? ''));
}

export function registerCompression(app: FastifyInstance): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    // HEAD goes through here too: it must name the representation GET would send (encoding, Vary,
    // ETag, length); Fastify and Node drop the body of a HEAD answer themselves.
    if (!compressedWorthy(reply)) return payload;
    const vary = String(reply.getHeader('vary') ?? '');
    if (!/accept-encoding/i.test(vary)) reply.header('vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
    const encoding = chooseEncoding(request.headers['accept-encoding']);
    if (!encoding) return payload;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
      if (body.length < minBytes) return payload;
      const packed = encoding === 'br' ? await brotli(body, brotliOptions) : await gzip(body, gzipOptions);
      reply.header('content-encoding', encoding);
      reply.removeHeader('content-length');
      return packed;
    }
    if (payload instanceof Readable) {
      const length = Number(reply.getHeader('content-length'));
      if (Number.isFinite(length) && length < minBytes) return payload;
      reply.header('content-encoding', encoding);
      reply.removeHeader('content-length');
      // One ETag names one representation: the compressed one is a weak match of the file.
      const etag = reply.getHeader('etag');
      if (typeof etag === 'string' && !etag.startsWith('W/')) reply.header('etag', `W/${etag}`);
      const packer = encoding === 'br' ? zlib.createBrotliCompress(brotliOptions) : zlib.createGzip(gzipOptions);
      payload.on('error', (error) => packer.destroy(error));
      return payload.pipe(packer);
    }
    return payload;
  });
}
