import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { contentDisposition } from './download.ts';
import {
  FileTooLargeError,
  fileChunkBytes,
  humanFileSize,
  normalizeContentType,
  storeFile,
  streamFile,
} from './files.ts';
import { sniffImageType } from './image-type.ts';

const ctx = {} as { db: Db; drop: () => Promise<void> };
const test = suite('Storing files in chunks and streaming them back');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
});
test.after(async () => {
  await ctx.drop();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const count = async (table: 'files' | 'file_chunks') =>
  (
    await ctx.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;

async function readAll(stream: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

// A stream that hands its content over in uneven pieces, as a network upload does.
function unevenStream(data: Buffer): Readable {
  const sizes = [1, 1000, 70_000, 333_333, 5];
  let offset = 0;
  let i = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return this.push(null);
      const size = sizes[i++ % sizes.length] as number;
      this.push(data.subarray(offset, offset + size));
      offset += size;
    },
  });
}

test('a stream in uneven pieces is stored in 256 KB chunks with its size and sha256, and reads back the same', async () => {
  const data = randomBytes(fileChunkBytes * 3 + 12_345);
  const stored = await storeFile(ctx.db, {
    content: unevenStream(data),
    contentType: 'Application/PDF; name="x.pdf"',
    createdBy: null,
    maxBytes: 10 * 1024 * 1024,
  });
  assert.is(stored.sizeBytes, data.length);
  assert.is(stored.sha256, sha256(data));
  assert.is(stored.contentType, 'application/pdf');
  const chunks = await ctx.db
    .selectFrom('file_chunks')
    .select(['seq', (eb) => eb.fn<number>('length', ['data']).as('bytes')])
    .where('file_id', '=', stored.id)
    .orderBy('seq')
    .execute();
  assert.equal(
    chunks.map((c) => c.seq),
    [0, 1, 2, 3],
  );
  assert.equal(
    chunks.map((c) => c.bytes),
    [fileChunkBytes, fileChunkBytes, fileChunkBytes, 12_345],
  );
  const row = await ctx.db.selectFrom('files').selectAll().where('id', '=', stored.id).executeTakeFirstOrThrow();
  assert.is(row.size_bytes, data.length);
  assert.is(row.sha256, sha256(data));
  assert.ok((await readAll(streamFile(ctx.db, stored.id))).equals(data));
});

test('a Buffer and an empty file are stored too', async () => {
  const small = await storeFile(ctx.db, {
    content: Buffer.from('hej'),
    contentType: 'text/plain',
    createdBy: null,
    maxBytes: 10,
  });
  assert.is((await readAll(streamFile(ctx.db, small.id))).toString(), 'hej');
  const empty = await storeFile(ctx.db, { content: Buffer.alloc(0), contentType: '', createdBy: null, maxBytes: 10 });
  assert.is(empty.sizeBytes, 0);
  assert.is(empty.contentType, 'application/octet-stream');
  assert.is((await readAll(streamFile(ctx.db, empty.id))).length, 0);
});

test('a file over the limit is refused with FileTooLargeError and leaves no rows behind', async () => {
  const [files, chunks] = [await count('files'), await count('file_chunks')];
  let read = 0;
  const data = randomBytes(fileChunkBytes * 2);
  const source = Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += 64 * 1024) {
        read += 1;
        yield data.subarray(at, at + 64 * 1024);
      }
    })(),
  );
  try {
    await storeFile(ctx.db, { content: source, contentType: 'text/plain', createdBy: null, maxBytes: fileChunkBytes });
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, FileTooLargeError);
    assert.is((error as FileTooLargeError).maxBytes, fileChunkBytes);
  }
  assert.is(await count('files'), files);
  assert.is(await count('file_chunks'), chunks);
  assert.ok(read < 8, 'reading stopped at the limit instead of draining the source');
  assert.ok(source.destroyed);
});

test('a download reads one chunk per SELECT, only as fast as it is consumed', async () => {
  const data = randomBytes(fileChunkBytes * 4);
  const stored = await storeFile(ctx.db, { content: data, contentType: 'x/y', createdBy: null, maxBytes: data.length });
  let selects = 0;
  const countingDb = ctx.db.withPlugin({
    transformQuery: (args) => {
      selects += 1;
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  const stream = streamFile(countingDb, stored.id);
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.is((first.value as Buffer).length, fileChunkBytes);
  // The stream may read ahead up to its highWaterMark (16 KB), which one more chunk exceeds.
  assert.ok(selects <= 2, `read ${selects} chunks for the first one`);
  const rest: Buffer[] = [first.value as Buffer];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value as Buffer);
  assert.ok(Buffer.concat(rest).equals(data));
  assert.is(selects, 5, 'four chunks and the SELECT that finds no fifth');
});

test('image types are told by their first bytes, never by name', () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  assert.is(sniffImageType(png), 'image/png');
  assert.is(sniffImageType(Buffer.from('ffd8ffe000104a464946', 'hex')), 'image/jpeg');
  assert.is(sniffImageType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')), 'image/gif');
  assert.is(sniffImageType(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
  assert.is(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">')), null);
  assert.is(sniffImageType(Buffer.from('hello, this is text')), null);
  assert.is(sniffImageType(Buffer.alloc(0)), null);
});

test('content types, sizes and download names are written safely', () => {
  assert.is(normalizeContentType('TEXT/HTML; charset=utf-8'), 'text/html');
  assert.is(normalizeContentType('text/html\r\nSet-Cookie: x=1'), 'application/octet-stream');
  assert.is(normalizeContentType(undefined), 'application/octet-stream');
  assert.is(humanFileSize(512, 'en'), '512 B');
  assert.is(humanFileSize(1536, 'en'), '1.5 kB');
  assert.is(humanFileSize(1536, 'sv'), '1,5 kB');
  assert.is(humanFileSize(25 * 1024 * 1024, 'en'), '25 MB');
  assert.is(
    contentDisposition('attachment', "Offert (ny)'s räkning*.pdf"),
    "attachment; filename*=UTF-8''Offert%20%28ny%29%27s%20r%C3%A4kning%2A.pdf",
  );
  assert.is(contentDisposition('inline', 'a"b;c.png'), "inline; filename*=UTF-8''a%22b%3Bc.png");
});

test.run();
