import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { storeFile } from '../files/files.ts';
import { sniffBytes, sniffImageType } from '../files/image-type.ts';

export class NotAnImageError extends Error {}

// The first n bytes of a byte source, and the whole source again (those bytes included) to read on.
async function peek(
  source: AsyncIterable<Uint8Array | string>,
  n: number,
): Promise<{ head: Buffer; content: AsyncIterable<Buffer>; close: () => Promise<unknown> }> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) break;
    const data = Buffer.from(next.value);
    seen.push(data);
    length += data.length;
  }
  async function* content() {
    try {
      yield* seen;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield Buffer.from(next.value);
    } finally {
      // Stops reading an upload when the consumer gives up on it (a file over the limit).
      await iterator.return?.();
    }
  }
  return {
    head: Buffer.concat(seen).subarray(0, n),
    content: content(),
    close: async () => iterator.return?.(),
  };
}

// An image pasted into rich text. Its type comes from its first bytes, never from the client,
// and only types a browser shows without running anything are kept. The returned token is the
// image's address; 32 random bytes, so addresses cannot be guessed from one another.
export async function storeInlineImage(
  db: Db,
  input: { content: AsyncIterable<Uint8Array | string>; user: User; maxBytes: number; caseId?: number | null },
): Promise<{ token: string; contentType: string }> {
  const { head, content, close } = await peek(input.content, sniffBytes);
  const contentType = sniffImageType(head);
  if (!contentType) {
    await close();
    throw new NotAnImageError('Not a PNG, JPEG, GIF or WebP image');
  }
  return db.transaction().execute(async (trx) => {
    const file = await storeFile(trx, { content, contentType, createdBy: input.user.id, maxBytes: input.maxBytes });
    const token = await insertInlineImage(trx, {
      fileId: file.id,
      caseId: input.caseId ?? null,
      createdBy: input.user.id,
    });
    return { token, contentType };
  });
}

// An image a received mail shows in its HTML (by cid:), kept for the case's thread. Null when its
// bytes are not an image a browser shows without running anything; the caller leaves it an
// attachment then.
export async function storeMailImage(db: Db, input: { content: Buffer; caseId: number }): Promise<string | null> {
  const contentType = mailImageType(input.content);
  if (!contentType) return null;
  if (!db.isTransaction) return db.transaction().execute((trx) => storeMailImage(trx, input));
  const file = await storeFile(db, {
    content: input.content,
    contentType,
    createdBy: null,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  return inlineImageUrl(await insertInlineImage(db, { fileId: file.id, caseId: input.caseId, createdBy: null }));
}

export const mailImageType = (content: Buffer) => sniffImageType(content.subarray(0, sniffBytes));

export const inlineImageUrl = (token: string) => `/uploads/images/${token}`;

async function insertInlineImage(
  db: Db,
  input: { fileId: string; caseId: number | null; createdBy: number | null },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('inline_images')
    .values({ token, file_id: input.fileId, case_id: input.caseId, created_by: input.createdBy })
    .execute();
  return token;
}

export async function findInlineImage(db: Db, token: string) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  return db
    .selectFrom('inline_images')
    .innerJoin('files', 'files.id', 'inline_images.file_id')
    .select(['inline_images.file_id', 'files.content_type', 'files.size_bytes'])
    .where('inline_images.token', '=', token)
    .executeTakeFirst();
}
