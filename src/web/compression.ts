import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assetFile } from './assets.ts';

// Pages, partials, CSS and JS are sent brotli- or gzip-compressed when the client accepts it.
// Built on node:zlib in one onSend hook rather than a plugin: the rules below are the whole policy.
// - Only text types: images, PDFs and archives are compressed already.
// - Nothing with a Content-Disposition: stored files (files/download.ts) go out byte for byte,
//   with their own safe type and headers, and a download keeps its Content-Length.
// - Not under minBytes: the header costs more than it saves (/healthz, 204s, small partials).
// - Brotli at quality 4 costs about as much CPU as gzip -6 and is smaller; higher qualities are
//   too slow for answers made per request (pages, partials). Static files are made once (below).
const compressible = /^(text\/(html|css|javascript|plain)|application\/(javascript|json)|image\/svg\+xml)\b/;
export const minBytes = 1024;
const brotliOptions = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } };
const gzipOptions = { level: 6 };
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

// Static files (/static, /vendor; their URLs carry a content hash and are cached for a year) are
// the same bytes for every request, so each one's br and gzip forms are made once, at the best
// quality (brotli 11 is some 5–15 % smaller than quality 4, and smaller than gzip, which quality 4
// is not always), and kept in memory: the files are few and small. Keyed by the file's size and time, so
// a file edited while the app runs (development) is compressed again. Each form has its own strong
// ETag, of its own bytes, so a cache never takes one encoding's bytes for the other's.
const bestBrotli = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY } };
const bestGzip = { level: 9 };
const packedAssets = new Map<string, Promise<{ body: Buffer; etag: string }>>();

async function packedAsset(file: string, encoding: 'br' | 'gzip'): Promise<{ body: Buffer; etag: string }> {
  const { size, mtimeMs } = await stat(file);
  const key = `${encoding}:${size}:${mtimeMs}:${file}`;
  let packed = packedAssets.get(key);
  if (!packed) {
    packed = readFile(file)
      .then((content) => (encoding === 'br' ? brotli(content, bestBrotli) : gzip(content, bestGzip)))
      .then((body) => ({
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}-${encoding}"`,
      }));
    packedAssets.set(key, packed);
    packed.catch(() => packedAssets.delete(key));
  }
  return packed;
}

function noneMatch(header: string | undefined, etag: string): boolean {
  return (header ?? '').split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

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
    const file =
      payload instanceof Readable && reply.statusCode === 200
        ? assetFile(request.url.split('?', 1)[0] ?? '')
        : undefined;
    if (payload instanceof Readable && file) {
      // A static file is compressed once per content and encoding, at the best quality, and kept.
      payload.destroy();
      const packed = await packedAsset(file, encoding);
      reply.header('content-encoding', encoding);
      reply.header('content-length', packed.body.length);
      reply.header('etag', packed.etag);
      if (noneMatch(request.headers['if-none-match'], packed.etag)) {
        reply.code(304);
        reply.removeHeader('content-length');
        return null;
      }
      return packed.body;
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
