import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { up as backfillVersions } from '../../migrations/20261202_1547_mail_document_versions.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { processInboundMessage } from '../mail/inbound/process.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { sanitizeRichText } from '../rich-text/sanitize.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { type FormPart, postMultipart } from '../test-support/multipart.ts';
import { cleanFileName } from './documents.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  boss: User;
  folders: { general: number; emailIn: number };
};
const test = suite('Documents on a case');

// A 1×1 PNG, as a browser would paste it.
const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

async function seedCase(db: Db, number: string, title: string) {
  const status = await db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow();
  const type = await db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  return db
    .insertInto('cases')
    .values({ number, title, status_id: status.id, case_type_id: type.id })
    .returningAll()
    .executeTakeFirstOrThrow();
}

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  const folder = (key: string | null, name: string) =>
    ctx.db
      .selectFrom('document_folders')
      .select('id')
      .where((eb) => (key ? eb('system_key', '=', key) : eb('name', '=', name)))
      .executeTakeFirstOrThrow();
  ctx.folders = { general: (await folder(null, 'Allmänt')).id, emailIn: (await folder('email_in', '')).id };
  await seedCase(ctx.db, 'D-1', 'Skrivaren fastnar');
  await seedCase(ctx.db, 'D-2', 'Annat ärende');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const countRows = async (table: 'files' | 'file_chunks' | 'documents') =>
  (
    await ctx.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;

async function loggedIn(login: string, app = ctx.app): Promise<TestClient> {
  const client = new TestClient(app);
  await client.login(login);
  return client;
}

// Uploads through the Documents tab's form, the way a browser without JavaScript sends it.
async function upload(client: TestClient, caseNumber: string, files: FormPart[], folderId = ctx.folders.general) {
  await client.get(`/cases/${caseNumber}/documents`);
  return postMultipart(client, `/cases/${caseNumber}/documents`, [
    { name: 'folder_id', value: String(folderId) },
    ...files,
  ]);
}

async function documentId(fileName: string): Promise<number> {
  const row = await ctx.db
    .selectFrom('documents')
    .select('id')
    .where('file_name', '=', fileName)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

test('two files in one upload are both kept and listed with size, type, folder and who added them', async () => {
  const kalle = await loggedIn('kalle');
  const res = await upload(kalle, 'D-1', [
    { name: 'files', fileName: 'felrapport.txt', contentType: 'text/plain', data: 'Pappret fastnar.\n' },
    {
      name: 'files',
      fileName: 'C:\\Users\\kalle\\Skärmbild.pdf',
      contentType: 'application/pdf',
      data: randomBytes(3000),
    },
  ]);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/cases/D-1/documents');
  const rows = await ctx.db
    .selectFrom('documents')
    .selectAll()
    .where(
      'case_id',
      '=',
      (await ctx.db.selectFrom('cases').select('id').where('number', '=', 'D-1').executeTakeFirstOrThrow()).id,
    )
    .orderBy('id')
    .execute();
  assert.equal(
    rows.map((r) => [r.file_name, r.folder_id, r.created_by]),
    [
      ['felrapport.txt', ctx.folders.general, ctx.kalle.id],
      ['Skärmbild.pdf', ctx.folders.general, ctx.kalle.id],
    ],
  );
  const events = await ctx.db
    .selectFrom('case_events')
    .select(['kind', 'new_value', 'user_id'])
    .where('kind', '=', 'document_added')
    .orderBy('id')
    .execute();
  assert.equal(events, [
    { kind: 'document_added', new_value: 'felrapport.txt', user_id: ctx.kalle.id },
    { kind: 'document_added', new_value: 'Skärmbild.pdf', user_id: ctx.kalle.id },
  ]);

  const page = await kalle.get('/cases/D-1/documents');
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Tillagda filer: 2.', 'the flash after the redirect');
  assert.match(page.body, `href="/documents/${rows[0]?.id}">felrapport.txt</a>`, 'the name leads to its page');
  assert.match(page.body, `href="/cases/D-1/documents/${rows[0]?.id}" aria-label="Ladda ner felrapport.txt"`);
  assert.match(page.body, 'Skärmbild.pdf');
  assert.match(page.body, '2,9 kB');
  assert.match(page.body, '17 B');
  assert.match(page.body, 'application/pdf');
  assert.match(page.body, 'Kalle Testsson');
  assert.match(page.body, 'Mapp: Allmänt');
  assert.match(page.body, 'Mapp: E-mail IN', 'the mail folders show even when empty');
  assert.match(page.body, 'Mapp: E-mail OUT');
  const history = await kalle.get('/cases/D-1/history');
  assert.match(history.body, 'Dokument tillagt');
});

test('an htmx upload with the token in the header gets the tab fragment back with a note', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/cases/D-2/documents');
  const res = await postMultipart(
    kalle,
    '/cases/D-2/documents',
    [
      { name: 'folder_id', value: String(ctx.folders.general) },
      { name: 'files', fileName: 'logg.txt', contentType: 'text/plain', data: 'rad 1\n' },
    ],
    { csrf: 'header', htmx: true },
  );
  assert.is(res.statusCode, 200);
  assert.not.match(res.body, '<html');
  assert.match(res.body, 'Tillagda filer: 1.');
  assert.match(res.body, 'logg.txt');
  assert.match(String(res.headers.vary), /\bHX-Request\b/);
});

test('the same upload form sent twice, in a row or at once, keeps its files once', async () => {
  const kalle = await loggedIn('kalle');
  const named = async (fileName: string) =>
    (await ctx.db.selectFrom('documents').select('id').where('file_name', '=', fileName).execute()).length;
  const keyOf = async (url: string) => formKeyIn((await kalle.get(url)).body);
  const parts = (formKey: string, fileName: string): FormPart[] => [
    { name: 'form_key', value: formKey },
    { name: 'folder_id', value: String(ctx.folders.general) },
    { name: 'files', fileName, contentType: 'text/plain', data: `${fileName}\n` },
  ];

  const plain = parts(await keyOf('/cases/D-2/documents'), 'två-klick.txt');
  const inARow = [
    await postMultipart(kalle, '/cases/D-2/documents', plain),
    await postMultipart(kalle, '/cases/D-2/documents', plain),
  ];
  assert.equal(
    inARow.map((a) => [a.statusCode, a.headers.location]),
    [
      [303, '/cases/D-2/documents'],
      [303, '/cases/D-2/documents'],
    ],
  );
  assert.is(await named('två-klick.txt'), 1);

  const dropped = parts(await keyOf('/cases/D-2/documents'), 'samtidigt.txt');
  const opts = { csrf: 'header', htmx: true } as const;
  const racing = await Promise.all([
    postMultipart(kalle, '/cases/D-2/documents', dropped, opts),
    postMultipart(kalle, '/cases/D-2/documents', dropped, opts),
  ]);
  assert.equal(
    racing.map((a) => a.statusCode),
    [200, 200],
  );
  for (const answer of racing) assert.match(answer.body, 'Tillagda filer: 1.');
  assert.is(await named('samtidigt.txt'), 1);

  // The panel's generic form, which names its owner in fields.
  const d2 = await ctx.db.selectFrom('cases').select('id').where('number', '=', 'D-2').executeTakeFirstOrThrow();
  const generic = [
    { name: 'owner_kind', value: 'case' },
    { name: 'owner_id', value: String(d2.id) },
    ...parts(await keyOf('/cases/D-2/documents'), 'via-panelen.txt'),
  ];
  const viaPanel = await Promise.all([
    postMultipart(kalle, '/documents', generic),
    postMultipart(kalle, '/documents', generic),
  ]);
  assert.equal(
    viaPanel.map((a) => a.statusCode),
    [303, 303],
  );
  assert.is(await named('via-panelen.txt'), 1);

  // A new version of a document, from its page.
  const id = await documentId('via-panelen.txt');
  const versionForm: FormPart[] = [
    { name: 'form_key', value: await keyOf(`/documents/${id}`) },
    { name: 'file', fileName: 'via-panelen-2.txt', contentType: 'text/plain', data: 'andra versionen\n' },
  ];
  const versions = await Promise.all([
    postMultipart(kalle, `/documents/${id}/versions`, versionForm),
    postMultipart(kalle, `/documents/${id}/versions`, versionForm),
  ]);
  assert.equal(
    versions.map((a) => [a.statusCode, a.headers.location]),
    [
      [303, `/documents/${id}`],
      [303, `/documents/${id}`],
    ],
  );
  const stored = await ctx.db
    .selectFrom('document_versions')
    .select('version')
    .where('document_id', '=', String(id))
    .orderBy('version')
    .execute();
  assert.equal(
    stored.map((v) => v.version),
    [1, 2],
  );
});

test('a form key after the files is refused, and nothing is kept', async () => {
  const kalle = await loggedIn('kalle');
  const formKey = formKeyIn((await kalle.get('/cases/D-2/documents')).body);
  const res = await postMultipart(kalle, '/cases/D-2/documents', [
    { name: 'folder_id', value: String(ctx.folders.general) },
    { name: 'files', fileName: 'för-tidig.txt', contentType: 'text/plain', data: 'x' },
    { name: 'form_key', value: formKey },
  ]);
  assert.is(res.statusCode, 422);
  const kept = await ctx.db.selectFrom('documents').select('id').where('file_name', '=', 'för-tidig.txt').execute();
  assert.equal(kept, []);
});

test('a download streams the exact bytes as an attachment that the browser may not sniff', async () => {
  const kalle = await loggedIn('kalle');
  const id = await documentId('felrapport.txt');
  const res = await kalle.get(`/cases/D-1/documents/${id}`);
  assert.is(res.statusCode, 200);
  assert.is(res.body, 'Pappret fastnar.\n');
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.is(res.headers['content-disposition'], "attachment; filename*=UTF-8''felrapport.txt");
  assert.is(res.headers['x-content-type-options'], 'nosniff');
  assert.is(res.headers['content-security-policy'], "sandbox; default-src 'none'");
  assert.is(res.headers['content-length'], '17');
  assert.match(String(res.headers['cache-control']), 'private');

  const pdf = await kalle.get(`/cases/D-1/documents/${await documentId('Skärmbild.pdf')}`);
  assert.is(pdf.headers['content-disposition'], "attachment; filename*=UTF-8''Sk%C3%A4rmbild.pdf");
  assert.is(pdf.rawPayload.length, 3000);
  assert.is((await kalle.get(`/cases/D-2/documents/${id}`)).statusCode, 404, 'not through another case');
  assert.is((await kalle.get('/cases/D-1/documents/abc')).statusCode, 404);
});

test('HTML and SVG are served as bytes to save, never inline; a PNG is shown inline', async () => {
  const kalle = await loggedIn('kalle');
  const res = await upload(kalle, 'D-1', [
    { name: 'files', fileName: 'sida.html', contentType: 'text/html', data: '<script>alert(1)</script>' },
    { name: 'files', fileName: 'logo.svg', contentType: 'image/svg+xml', data: '<svg onload="alert(1)"/>' },
    { name: 'files', fileName: 'bild.png', contentType: 'image/png', data: tinyPng },
  ]);
  assert.is(res.statusCode, 303);
  const html = await kalle.get(`/cases/D-1/documents/${await documentId('sida.html')}`);
  assert.is(html.headers['content-type'], 'application/octet-stream', 'never text/html from our origin');
  assert.match(String(html.headers['content-disposition']), /^attachment;/);
  assert.is(html.headers['x-content-type-options'], 'nosniff');
  assert.is(html.headers['content-security-policy'], "sandbox; default-src 'none'");
  const svg = await kalle.get(`/cases/D-1/documents/${await documentId('logo.svg')}`);
  assert.match(String(svg.headers['content-disposition']), /^attachment;/);
  const png = await kalle.get(`/cases/D-1/documents/${await documentId('bild.png')}`);
  assert.is(png.headers['content-type'], 'image/png');
  assert.is(png.headers['content-disposition'], "inline; filename*=UTF-8''bild.png");
  assert.ok(png.rawPayload.equals(tinyPng));
});

test('an upload over MAX_UPLOAD_MB is refused with 413 and a message naming the limit, and nothing is kept', async () => {
  const small = await buildTestApp(ctx.db, { MAX_UPLOAD_MB: '1' });
  try {
    const before = { files: await countRows('files'), chunks: await countRows('file_chunks') };
    const documents = await countRows('documents');
    const kalle = await loggedIn('kalle', small);
    const files: FormPart[] = [
      { name: 'files', fileName: 'liten.txt', contentType: 'text/plain', data: 'ok' },
      { name: 'files', fileName: 'stor.bin', data: randomBytes(1024 * 1024 + 1) },
    ];
    const res = await upload(kalle, 'D-1', files);
    assert.is(res.statusCode, 413);
    assert.match(res.body, 'En fil är större än 1 MB, som är gränsen. Inget sparades.');
    assert.match(res.body, 'name="files"', 'the form is there to try again');
    assert.is(await countRows('files'), before.files, 'not even the small file that came first');
    assert.is(await countRows('file_chunks'), before.chunks);
    assert.is(await countRows('documents'), documents);

    await kalle.get('/cases/D-1/documents');
    const htmx = await postMultipart(kalle, '/cases/D-1/documents', files, { csrf: 'header', htmx: true });
    assert.is(htmx.statusCode, 413);
    assert.is(htmx.body, 'En fil är större än 1 MB, som är gränsen. Inget sparades.');
    assert.is(await countRows('files'), before.files);

    const exactly = await upload(kalle, 'D-2', [
      { name: 'files', fileName: 'precis.bin', data: randomBytes(1024 * 1024) },
    ]);
    assert.is(exactly.statusCode, 303, 'a file of exactly the limit is fine');
  } finally {
    await small.close();
  }
});

test('an upload without files, or into a mail folder, is refused and keeps nothing', async () => {
  const kalle = await loggedIn('kalle');
  const documents = await countRows('documents');
  const none = await upload(kalle, 'D-1', [{ name: 'files', fileName: '', data: '' }]);
  assert.is(none.statusCode, 422);
  assert.match(none.body, 'Välj minst en fil.');
  const mail = await upload(kalle, 'D-1', [{ name: 'files', fileName: 'x.txt', data: 'x' }], ctx.folders.emailIn);
  assert.is(mail.statusCode, 422);
  assert.is(await countRows('documents'), documents);
});

test('a multipart POST without a CSRF token, or with it anywhere but first, is refused with 403', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/cases/D-1/documents');
  const files = await countRows('files');
  const part: FormPart = { name: 'files', fileName: 'smygande.txt', data: 'x' };
  const none = await postMultipart(kalle, '/cases/D-1/documents', [part], { csrf: 'none' });
  assert.is(none.statusCode, 403);
  const late = await postMultipart(kalle, '/cases/D-1/documents', [part, { name: '_csrf', value: kalle.csrf }], {
    csrf: 'none',
  });
  assert.is(late.statusCode, 403);
  const wrong = await postMultipart(kalle, '/cases/D-1/documents', [{ name: '_csrf', value: 'nope' }, part], {
    csrf: 'none',
  });
  assert.is(wrong.statusCode, 403);
  const image = await postMultipart(
    kalle,
    '/uploads/images',
    [{ name: 'file', fileName: 'x.png', contentType: 'image/png', data: tinyPng }],
    { csrf: 'none' },
  );
  assert.is(image.statusCode, 403);
  assert.is(await countRows('files'), files);
  const stranger = new TestClient(ctx.app);
  const anonymous = await postMultipart(stranger, '/cases/D-1/documents', [part], { csrf: 'none' });
  assert.is(anonymous.statusCode, 401);
});

test('another agent cannot delete KALLE’s document, an admin can, and KALLE can delete his own', async () => {
  const kalleId = await documentId('felrapport.txt');
  const anna = await loggedIn('anna');
  const page = await anna.get('/cases/D-1/documents');
  assert.not.match(page.body, `/documents/${kalleId}/deletion`, 'ANNA is offered no delete button');
  const refused = await anna.post(`/cases/D-1/documents/${kalleId}/deletion`);
  assert.is(refused.statusCode, 403);
  const still = await ctx.db
    .selectFrom('documents')
    .select('deleted_at')
    .where('id', '=', String(kalleId))
    .executeTakeFirstOrThrow();
  assert.is(still.deleted_at, null);

  const boss = await loggedIn('boss');
  const bossPage = await boss.get('/cases/D-1/documents');
  assert.match(bossPage.body, `/documents/${kalleId}/deletion`);
  const deleted = await boss.post(`/cases/D-1/documents/${kalleId}/deletion`);
  assert.is(deleted.statusCode, 303);
  assert.is(deleted.headers.location, '/cases/D-1/documents');
  const after = await boss.get('/cases/D-1/documents');
  assert.match(after.body, 'felrapport.txt har tagits bort.');
  assert.not.match(after.body, '>felrapport.txt</a>');
  assert.is((await boss.get(`/cases/D-1/documents/${kalleId}`)).statusCode, 404, 'a deleted document is not served');
  assert.is((await boss.post(`/cases/D-1/documents/${kalleId}/deletion`)).statusCode, 404);
  const event = await ctx.db
    .selectFrom('case_events')
    .select(['user_id', 'old_value'])
    .where('kind', '=', 'document_deleted')
    .executeTakeFirstOrThrow();
  assert.equal(event, { user_id: ctx.boss.id, old_value: 'felrapport.txt' });

  const kalle = await loggedIn('kalle');
  await kalle.get('/cases/D-1/documents');
  const own = await kalle.post(`/cases/D-1/documents/${await documentId('sida.html')}/deletion`, {}, { htmx: true });
  assert.is(own.statusCode, 200);
  assert.match(own.body, 'sida.html har tagits bort.');
  assert.not.match(own.body, '<html');
});

test('a file over 1 MB streams back identical', async () => {
  const kalle = await loggedIn('kalle');
  const data = randomBytes(1024 * 1024 + 300_001);
  const res = await upload(kalle, 'D-2', [
    { name: 'files', fileName: 'stor.zip', contentType: 'application/zip', data },
  ]);
  assert.is(res.statusCode, 303);
  const id = await documentId('stor.zip');
  const download = await kalle.get(`/cases/D-2/documents/${id}`);
  assert.is(download.statusCode, 200);
  assert.is(download.rawPayload.length, data.length);
  assert.is(sha256(download.rawPayload), sha256(data));
  const file = await ctx.db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .select(['files.sha256', 'files.size_bytes'])
    .where('documents.id', '=', String(id))
    .executeTakeFirstOrThrow();
  assert.equal(file, { sha256: sha256(data), size_bytes: data.length });
});

test('a pasted image is checked by its bytes, stored under a random token and served back privately', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/cases/D-1');
  const files = await countRows('files');
  const fake = await postMultipart(
    kalle,
    '/uploads/images',
    [{ name: 'file', fileName: 'bild.png', contentType: 'image/png', data: 'just text, renamed .png' }],
    { csrf: 'header' },
  );
  assert.is(fake.statusCode, 415);
  assert.match(fake.json().error, 'PNG, JPEG, GIF');
  assert.is(await countRows('files'), files);

  const res = await postMultipart(
    kalle,
    '/uploads/images',
    [{ name: 'file', fileName: 'x', contentType: 'application/octet-stream', data: tinyPng }],
    { csrf: 'header' },
  );
  assert.is(res.statusCode, 201);
  const { url } = res.json() as { url: string };
  assert.match(url, /^\/uploads\/images\/[A-Za-z0-9_-]{43}$/);
  const image = await kalle.get(url);
  assert.is(image.statusCode, 200);
  assert.is(image.headers['content-type'], 'image/png', 'the sniffed type, not the one the client sent');
  assert.ok(image.rawPayload.equals(tinyPng));
  assert.match(String(image.headers['cache-control']), /^private/);
  assert.is(image.headers['x-content-type-options'], 'nosniff');
  assert.match(String(image.headers['content-disposition']), /^inline;/);

  assert.is((await kalle.get('/uploads/images/nope')).statusCode, 404);
  assert.is((await kalle.get(`/uploads/images/${'A'.repeat(43)}`)).statusCode, 404);
  const stranger = await new TestClient(ctx.app).get(url);
  assert.is(stranger.statusCode, 303, 'login required');
  assert.match(String(stranger.headers.location), '/login');
});

test('a Trix image attachment keeps its /uploads/images picture through the sanitiser', () => {
  const trix =
    '<div>Se bilden:</div><figure data-trix-attachment="{&quot;contentType&quot;:&quot;image/png&quot;,&quot;url&quot;:&quot;/uploads/images/abc_DEF-123&quot;}" data-trix-content-type="image/png" data-trix-attributes="{&quot;presentation&quot;:&quot;gallery&quot;}" class="attachment attachment--preview attachment--png"><a href="/uploads/images/abc_DEF-123"><img src="/uploads/images/abc_DEF-123" width="1" height="1"><figcaption class="attachment__caption"><span class="attachment__name">x.png</span> <span class="attachment__size">68 Bytes</span></figcaption></a></figure>';
  const clean = sanitizeRichText(trix);
  assert.match(clean, '<img src="/uploads/images/abc_DEF-123" width="1" height="1" />');
  assert.match(clean, '<figure>');
  assert.match(clean, 'href="/uploads/images/abc_DEF-123"');
  assert.not.match(clean, 'data-trix');
});

// A customer's mail with text attachments, read in as the mail reader does; its case number.
async function receiveMail(messageId: string, attachments: Record<string, string>): Promise<string> {
  const parts = Object.entries(attachments).flatMap(([name, text]) => [
    '--mix',
    `Content-Type: text/plain; name="${name}"`,
    `Content-Disposition: attachment; filename="${name}"`,
    '',
    text,
  ]);
  const raw = Buffer.from(
    [
      `Message-ID: <${messageId}@kund.example>`,
      'Date: Tue, 24 Nov 2026 09:15:00 +0100',
      'From: Per Persson <per@kund.example>',
      'To: support@casedesk.test',
      'Subject: Offert',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="mix"',
      '',
      '--mix',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Offerten bifogad.',
      ...parts,
      '--mix--',
      '',
    ].join('\r\n'),
  );
  const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  const result = await processInboundMessage(ctx.db, testConfig(), stored.id);
  assert.is(result.outcome, 'created');
  return result.caseNumber as string;
}

async function mailDocumentId(caseNumber: string, fileName: string): Promise<string> {
  const doc = await ctx.db
    .selectFrom('documents')
    .innerJoin('cases', 'cases.id', 'documents.case_id')
    .select('documents.id')
    .where('cases.number', '=', caseNumber)
    .where('documents.file_name', '=', fileName)
    .executeTakeFirstOrThrow();
  return String(doc.id);
}

async function uploadVersion(client: TestClient, documentId: string, fileName: string, data: string) {
  const res = await postMultipart(client, `/documents/${documentId}/versions`, [
    { name: 'file', fileName, contentType: 'text/plain', data },
  ]);
  assert.is(res.statusCode, 303);
}

test('a mail attachment keeps its first version listed and downloadable after a new version', async () => {
  const id = await mailDocumentId(await receiveMail('bilaga-version', { 'offert.txt': 'Hylla: 100 kr' }), 'offert.txt');
  const kalle = await loggedIn('kalle');
  await uploadVersion(kalle, id, 'offert-2.txt', 'Hylla: 120 kr\n');
  const page = await kalle.get(`/documents/${id}`);
  assert.match(page.body, `href="/documents/${id}/versions/1"`, 'version 1 is still listed');
  assert.match(page.body, `href="/documents/${id}/versions/2"`);
  const first = await kalle.get(`/documents/${id}/versions/1`);
  assert.is(first.statusCode, 200);
  assert.is(first.body, 'Hylla: 100 kr');
  assert.is((await kalle.get(`/documents/${id}/versions/2`)).body, 'Hylla: 120 kr\n');
});

test('mail documents filed before the fix get their version 1 back from the migration', async () => {
  const number = await receiveMail('bilaga-backfill', { 'a.txt': 'A ett', 'b.txt': 'B ett', 'c.txt': 'C ett' });
  const [eml, a, b, c] = await ctx.db
    .selectFrom('documents')
    .innerJoin('cases', 'cases.id', 'documents.case_id')
    .select('documents.id')
    .where('cases.number', '=', number)
    .orderBy('documents.id')
    .execute();
  const ids = [eml, a, b, c].map((d) => String(d?.id));
  // As the old ingest left them: no version rows; then new versions of b and c from the page.
  await ctx.db.deleteFrom('document_versions').where('document_id', 'in', ids).execute();
  const kalle = await loggedIn('kalle');
  await uploadVersion(kalle, ids[2] as string, 'b-2.txt', 'B två');
  await uploadVersion(kalle, ids[3] as string, 'c-2.txt', 'C två');
  await uploadVersion(kalle, ids[3] as string, 'c-3.txt', 'C tre');
  assert.is((await kalle.get(`/documents/${ids[2]}/versions/1`)).statusCode, 404, 'the old data shows the bug');

  await backfillVersions(ctx.db as unknown as Kysely<unknown>);
  const versions = await ctx.db
    .selectFrom('document_versions')
    .select(['document_id', 'version', 'file_name'])
    .where('document_id', 'in', ids)
    .orderBy('document_id')
    .orderBy('version')
    .execute();
  assert.equal(
    versions.map((v) => [ids.indexOf(String(v.document_id)), v.version, v.file_name]),
    [
      [0, 1, '2026-11-24 09.15 Offert.eml'],
      [1, 1, 'a.txt'],
      [2, 1, 'b.txt'],
      [2, 2, 'b-2.txt'],
      [3, 1, 'c.txt'],
      [3, 2, 'c-2.txt'],
      [3, 3, 'c-3.txt'],
    ],
  );
  assert.is((await kalle.get(`/documents/${ids[1]}/versions/1`)).body, 'A ett');
  assert.is((await kalle.get(`/documents/${ids[2]}/versions/1`)).body, 'B ett');
  assert.is((await kalle.get(`/documents/${ids[3]}/versions/1`)).body, 'C ett');
  await backfillVersions(ctx.db as unknown as Kysely<unknown>);
  const again = await ctx.db
    .selectFrom('document_versions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('document_id', 'in', ids)
    .executeTakeFirstOrThrow();
  assert.is(Number(again.n), 7, 'a second run adds nothing');
});

test('file names keep the user’s name without folders or control characters', () => {
  assert.is(cleanFileName('../../etc/passwd'), 'passwd');
  assert.is(cleanFileName('C:\\Users\\kalle\\Offert 2026.pdf'), 'Offert 2026.pdf');
  assert.is(cleanFileName('rapport\u0000\u0007\r\n.txt'), 'rapport.txt');
  assert.is(cleanFileName('bild\u202Egpj.exe'), 'bildgpj.exe');
  assert.is(cleanFileName('..'), 'file');
  assert.is(cleanFileName('   '), 'file');
  assert.is(cleanFileName('Årsredovisning – 2026.xlsx'), 'Årsredovisning – 2026.xlsx');
  assert.is(cleanFileName(`${'rapport_'.repeat(75)}.pdf`), `${'rapport_'.repeat(75).slice(0, 251)}.pdf`);
});

test.run();
