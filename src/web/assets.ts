import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

// Static files are named in pages by their content hash (/static/app.css?v=…), computed once at
// start: such a URL never changes its content, so browsers keep it for a year without asking
// again, and a changed file gets a new URL. The plain URL still works, with the short cache the
// static routes set (app.ts).
export const immutable = 'public, max-age=31536000, immutable';

// URL path → hash of the file behind it, for every file in each prefix's folders (the first folder
// holding a name wins, as @fastify/static serves it); `only` limits a prefix to some file names.
export function assetHashes(
  folders: Record<string, string | string[]>,
  only: Record<string, string[]> = {},
): Map<string, string> {
  return new Map([...assetFiles(folders, only)].map(([url, { hash }]) => [url, hash]));
}

// URL path → the file behind it and its hash.
function assetFiles(
  folders: Record<string, string | string[]>,
  only: Record<string, string[]> = {},
): Map<string, { file: string; hash: string }> {
  const files = new Map<string, { file: string; hash: string }>();
  for (const [prefix, dirs] of Object.entries(folders)) {
    for (const dir of [dirs].flat()) {
      for (const name of only[prefix] ?? readdirSync(dir)) {
        const file = path.join(dir, name);
        const url = prefix + name;
        if (files.has(url) || !statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
        files.set(url, { file, hash: createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12) });
      }
    }
  }
  return files;
}

let current = new Map<string, string>();
let currentFiles = new Map<string, { file: string; hash: string }>();

// The file a static URL path is served from, for compression.ts to compress it once.
export function assetFile(pathname: string): string | undefined {
  return currentFiles.get(pathname)?.file;
}

// The one way a template names a static file: its URL with the content hash, or as it is when
// the file is unknown.
export function assetUrl(url: string): string {
  const hash = current.get(url);
  return hash ? `${url}?v=${hash}` : url;
}

export function registerAssetCaching(
  app: FastifyInstance,
  folders: Record<string, string | string[]>,
  only: Record<string, string[]> = {},
): void {
  currentFiles = assetFiles(folders, only);
  current = new Map([...currentFiles].map(([url, { hash }]) => [url, hash]));
  const hashes = current;
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 200 && reply.statusCode !== 304) return payload;
    const [pathname, query] = request.url.split('?', 2);
    const hash = pathname ? hashes.get(pathname) : undefined;
    if (hash && query && new URLSearchParams(query).get('v') === hash) reply.header('cache-control', immutable);
    return payload;
  });
}
