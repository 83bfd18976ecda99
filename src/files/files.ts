import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Db } from '../db/database.ts';

// Rows of file_chunks hold this much; a download reads one row at a time, so this is also
// about the most a download keeps in memory.
export const fileChunkBytes = 256 * 1024;

export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`File larger than ${maxBytes} bytes`);
  }
}

export type StoredFile = { id: string; contentType: string; sizeBytes: number; sha256: string };

export type NewFile = {
  // A Buffer, a stream (an upload as it arrives) or any async source of bytes.
  content: Buffer | AsyncIterable<Uint8Array | string>;
  contentType: string;
  createdBy: number | null;
  maxBytes: number;
};

// A MIME type as given by a browser or a mail, reduced to "type/subtype" (no parameters),
// or application/octet-stream when it is not one. It becomes a Content-Type header on download.
export function normalizeContentType(value: string | null | undefined): string {
  const bare = (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(bare) ? bare : 'application/octet-stream';
}

// Writes the content into file_chunks as it arrives, in one transaction: a file that turns out
// too large, or a stream that fails half-way, leaves no row behind.
export async function storeFile(db: Db, input: NewFile): Promise<StoredFile> {
  if (Buffer.isBuffer(input.content)) return storeContent(db, { ...input, content: input.content });
  if (!db.isTransaction) return db.transaction().execute((trx) => storeFile(trx, input));
  const contentType = normalizeContentType(input.contentType);
  // size and sha256 are known only at the end; the row is updated then, before commit.
  const file = await db
    .insertInto('files')
    .values({ content_type: contentType, size_bytes: 0, sha256: '', created_by: input.createdBy })
    .returning('id')
    .executeTakeFirstOrThrow();
  const fileId = String(file.id);
  const hash = createHash('sha256');
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let sizeBytes = 0;
  let seq = 0;

  const take = (n: number): Buffer => {
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const head = pending[0] as Buffer;
      const count = Math.min(head.length, n - offset);
      head.copy(out, offset, 0, count);
      offset += count;
      if (count === head.length) pending.shift();
      else pending[0] = head.subarray(count);
    }
    pendingBytes -= n;
    return out;
  };
  const writeChunks = async (final: boolean) => {
    while (pendingBytes >= fileChunkBytes || (final && pendingBytes > 0)) {
      const data = take(Math.min(fileChunkBytes, pendingBytes));
      await db.insertInto('file_chunks').values({ file_id: fileId, seq, data }).execute();
      seq += 1;
    }
  };

  const source = Buffer.isBuffer(input.content) ? [input.content] : input.content;
  for await (const piece of source) {
    const data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    sizeBytes += data.length;
    // Leaving the loop destroys a stream source, so an upload stops being read at once.
    if (sizeBytes > input.maxBytes) throw new FileTooLargeError(input.maxBytes);
    hash.update(data);
    pending.push(data);
    pendingBytes += data.length;
    await writeChunks(false);
  }
  await writeChunks(true);
  const sha256 = hash.digest('hex');
  await db.updateTable('files').set({ size_bytes: sizeBytes, sha256 }).where('id', '=', fileId).execute();
  return { id: fileId, contentType, sizeBytes, sha256 };
}

const sha256Of = (content: Buffer) => createHash('sha256').update(content).digest('hex');

// A file whose whole content is at hand, as the first step of the caller's own statement: the
// files row (size and hash known up front) and its chunks are written by CTEs, and the statement
// built on the returned creator reads the new id from `stored_file`. One round trip and one
// commit for a file and the row that refers to it (Read mail keeps every raw message this way),
// all or nothing as one statement is.
export function withStoredContent(
  db: Db,
  input: { content: Buffer; contentType: string; createdBy: number | null; sha256?: string },
  // nothing is written (and stored_file is empty) unless this holds: the caller's "not stored yet"
  opts: { onlyIf?: Expression<SqlBool> } = {},
) {
  const { content } = input;
  const chunks: RawBuilder<unknown>[] = [];
  for (let seq = 0; seq * fileChunkBytes < content.length; seq += 1) {
    const data = content.subarray(seq * fileChunkBytes, (seq + 1) * fileChunkBytes);
    chunks.push(sql`(${seq}::int, ${data}::bytea)`);
  }
  const stored = db.with('stored_file', (qc) =>
    qc
      .insertInto('files')
      .columns(['content_type', 'size_bytes', 'sha256', 'created_by'])
      .expression(
        qc
          .selectNoFrom((eb) => [
            eb.val(normalizeContentType(input.contentType)).as('content_type'),
            eb.val(content.length).as('size_bytes'),
            eb.val(input.sha256 ?? sha256Of(content)).as('sha256'),
            eb.val(input.createdBy).as('created_by'),
          ])
          .where(opts.onlyIf ?? sql<boolean>`true`),
      )
      .returning('id'),
  );
  // an empty file has no chunks, as storeFile leaves it
  return stored.with('stored_chunks', () =>
    chunks.length
      ? sql<{ seq: number }>`(insert into file_chunks (file_id, seq, data)
          select stored_file.id, c.seq, c.data from stored_file, (values ${sql.join(chunks)}) as c (seq, data)
          returning seq)`
      : sql<{ seq: number }>`(select 0 as seq where false)`,
  );
}

// Content already in memory (a mail's attachment): one statement instead of a row, its chunks
// and an update.
async function storeContent(db: Db, input: NewFile & { content: Buffer }): Promise<StoredFile> {
  if (input.content.length > input.maxBytes) throw new FileTooLargeError(input.maxBytes);
  const sha256 = sha256Of(input.content);
  const row = await withStoredContent(db, { ...input, sha256 })
    .selectFrom('stored_file')
    .select('id')
    .executeTakeFirstOrThrow();
  return {
    id: String(row.id),
    contentType: normalizeContentType(input.contentType),
    sizeBytes: input.content.length,
    sha256,
  };
}

// The content of a file as a stream that fetches one chunk per read, so a download of any
// size holds at most a chunk or two in memory.
export function streamFile(db: Db, fileId: string | number): Readable {
  let seq = 0;
  return new Readable({
    // Node calls read() again only after a push, so two SELECTs never overlap.
    read() {
      db.selectFrom('file_chunks')
        .select('data')
        .where('file_id', '=', String(fileId))
        .where('seq', '=', seq)
        .executeTakeFirst()
        .then(
          (row) => {
            seq += 1;
            this.push(row ? row.data : null);
          },
          (error: Error) => this.destroy(error),
        );
    },
  });
}

// The first bytes of a file (fewer when it is shorter), to tell what it really is.
export async function readFileHead(db: Db, fileId: string | number, bytes: number): Promise<Buffer> {
  const row = await db
    .selectFrom('file_chunks')
    .select(sql<Buffer>`substring(data from 1 for ${bytes})`.as('head'))
    .where('file_id', '=', String(fileId))
    .where('seq', '=', 0)
    .executeTakeFirst();
  return row?.head ?? Buffer.alloc(0);
}

// The whole content at once, for files that go into an e-mail (limited by the upload limits).
export async function readFileContent(db: Db, fileId: string | number): Promise<Buffer> {
  const chunks = await db
    .selectFrom('file_chunks')
    .select('data')
    .where('file_id', '=', String(fileId))
    .orderBy('seq')
    .execute();
  return Buffer.concat(chunks.map((c) => c.data));
}

export async function findFile(db: Db, fileId: string | number) {
  return db
    .selectFrom('files')
    .select(['id', 'content_type', 'size_bytes', 'sha256'])
    .where('id', '=', String(fileId))
    .executeTakeFirst();
}

// "1.4 MB" / "1,4 MB", counted in 1024s like MAX_UPLOAD_MB, so a file at the limit reads as the limit.
export function humanFileSize(bytes: number, language: 'sv' | 'en'): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const number = new Intl.NumberFormat(language === 'sv' ? 'sv-SE' : 'en-GB', {
    maximumFractionDigits: unit === 0 || value >= 100 ? 0 : 1,
  }).format(value);
  return `${number} ${units[unit]}`;
}
