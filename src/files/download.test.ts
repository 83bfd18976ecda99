import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import MailComposer from 'nodemailer/lib/mail-composer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { processInboundMessage } from '../mail/inbound/process.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { postMultipart } from '../test-support/multipart.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { addStaffReply } from '../threads/threads.ts';
import { servedType } from './download.ts';
import { storeFile } from './files.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  app: FastifyInstance;
  kalle: TestClient;
  boss: TestClient;
  kalleUser: User;
  caseNumber: string;
  caseId: number;
};

const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

type Served = { type: string; disposition: 'inline' | 'attachment' };
const bytes: Served = { type: 'application/octet-stream', disposition: 'attachment' };

// Files as a browser uploads them (the type it claims from the name) and what a browser must get back.
const samples: { fileName: string; contentType: string; data: Buffer; served: Served }[] = [
  { fileName: 'app.js', contentType: 'text/javascript', data: Buffer.from('alert(document.cookie)'), served: bytes },
  {
    fileName: 'sida.html',
    contentType: 'text/html',
    data: Buffer.from('<!doctype html><script>alert(1)</script>'),
    served: bytes,
  },
  {
    fileName: 'logo.svg',
    contentType: 'image/svg+xml',
    data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    served: bytes,
  },
  {
    fileName: 'data.xml',
    contentType: 'application/xml',
    data: Buffer.from('<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>'),
    served: bytes,
  },
  {
    fileName: 'anteckning.txt',
    contentType: 'text/plain',
    data: Buffer.from('<html><body><script>alert(1)</script></body></html>'),
    served: { type: 'text/plain; charset=utf-8', disposition: 'attachment' },
  },
  {
    fileName: 'offert.pdf',
    contentType: 'application/pdf',
    data: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n'),
    served: { type: 'application/pdf', disposition: 'attachment' },
  },
  {
    fileName: 'bild.png',
    contentType: 'image/png',
    data: tinyPng,
    served: { type: 'image/png', disposition: 'inline' },
  },
  // A name and a claimed type that the bytes do not bear out.
  { fileName: 'falsk.png', contentType: 'image/png', data: Buffer.from('<script>alert(1)</script>'), served: bytes },
  { fileName: 'falsk.pdf', contentType: 'application/pdf', data: Buffer.from('<html><script>alert(1)'), served: bytes },
];

function assertServed(response: LightMyRequestResponse, served: Served, fileName: string, data?: Buffer) {
  const what = fileName;
  assert.is(response.statusCode, 200, what);
  assert.is(response.headers['content-type'], served.type, what);
  assert.is(
    response.headers['content-disposition'],
    `${served.disposition}; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    what,
  );
  assert.is(response.headers['x-content-type-options'], 'nosniff', what);
  assert.is(response.headers['content-security-policy'], "sandbox; default-src 'none'", what);
  assert.is(response.headers['cross-origin-resource-policy'], 'same-origin', what);
  if (data) assert.ok(response.rawPayload.equals(data), `${what}: the very bytes`);
}

const test = suite('Every download route serves a stored file under an allowed type only');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalleUser = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  await seedUser(ctx.db, 'BOSS', 'admin', { language: 'sv' });
  const { customer, contact } = await seedAcme(ctx.db);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalleUser, customer.id, contact.id);
  Object.assign(ctx, { caseNumber: kase.number, caseId: kase.id });
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Support', from_address: 'support@casedesk.test' })
    .execute();
  ctx.app = await buildTestApp(ctx.db, { SMTP_URL: ctx.smtp.url });
  ctx.kalle = new TestClient(ctx.app);
  await ctx.kalle.login('KALLE');
  ctx.boss = new TestClient(ctx.app);
  await ctx.boss.login('BOSS');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

const documentsOf = (caseId: number, systemKey: string | null) =>
  ctx.db
    .selectFrom('documents')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .select(['documents.id', 'documents.file_name'])
    .where('documents.case_id', '=', caseId)
    .where('document_folders.system_key', systemKey === null ? 'is' : '=', systemKey)
    .orderBy('documents.id')
    .execute();

test('the decision: images and PDFs by their bytes, plain text as text, the rest as bytes to save', () => {
  for (const s of samples) {
    const served = servedType(s.contentType, s.data.subarray(0, 12));
    assert.equal(served, { contentType: s.served.type, disposition: s.served.disposition }, s.fileName);
  }
  for (const type of ['text/javascript', 'application/javascript', 'text/html', 'application/xhtml+xml', 'text/xml']) {
    assert.equal(servedType(type, Buffer.from('hello')), {
      contentType: 'application/octet-stream',
      disposition: 'attachment',
    });
  }
  // PNG bytes stored as SVG or as text are still not served as anything but what was stored allows.
  assert.equal(servedType('image/svg+xml', tinyPng), { contentType: 'image/png', disposition: 'inline' });
  assert.equal(servedType('message/rfc822', Buffer.from('From: x')).contentType, 'application/octet-stream');
});

test('case documents, document downloads and every version', async () => {
  await ctx.kalle.get(`/cases/${ctx.caseNumber}/documents`);
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('name', '=', 'Allmänt')
    .executeTakeFirstOrThrow();
  const uploaded = await postMultipart(ctx.kalle, `/cases/${ctx.caseNumber}/documents`, [
    { name: 'folder_id', value: String(folder.id) },
    ...samples.map((s) => ({ name: 'files', fileName: s.fileName, contentType: s.contentType, data: s.data })),
  ]);
  assert.is(uploaded.statusCode, 303);
  const documents = await documentsOf(ctx.caseId, null);
  assert.equal(
    documents.map((d) => d.file_name),
    samples.map((s) => s.fileName),
  );
  for (const [i, s] of samples.entries()) {
    const id = documents[i]?.id;
    assertServed(await ctx.kalle.get(`/cases/${ctx.caseNumber}/documents/${id}`), s.served, s.fileName, s.data);
    assertServed(await ctx.kalle.get(`/documents/${id}/download`), s.served, s.fileName, s.data);
    assertServed(await ctx.kalle.get(`/documents/${id}/versions/1`), s.served, s.fileName, s.data);
    // Replaced by a second version, the first is served from the stored versions, the same way.
    await ctx.kalle.get(`/documents/${id}`);
    const replaced = await postMultipart(ctx.kalle, `/documents/${id}/versions`, [
      { name: 'file', fileName: 'ny.txt', contentType: 'text/plain', data: 'version 2' },
    ]);
    assert.is(replaced.statusCode, 303, s.fileName);
    assertServed(await ctx.kalle.get(`/documents/${id}/versions/1`), s.served, s.fileName, s.data);
    assertServed(
      await ctx.kalle.get(`/documents/${id}/versions/2`),
      { type: 'text/plain; charset=utf-8', disposition: 'attachment' },
      'ny.txt',
    );
  }
});

test('inline images: whatever type a stored image row carries, only a real PNG, JPEG, GIF or WebP is an image', async () => {
  for (const s of samples) {
    const file = await storeFile(ctx.db, {
      content: s.data,
      contentType: s.contentType,
      createdBy: null,
      maxBytes: 1_000_000,
    });
    const token = `${s.fileName.replace(/\W/g, '_')}${'x'.repeat(43)}`.slice(0, 43);
    await ctx.db.insertInto('inline_images').values({ token, file_id: file.id, case_id: ctx.caseId }).execute();
    const response = await ctx.kalle.get(`/uploads/images/${token}`);
    assertServed(response, s.served, `image.${s.contentType.split('/')[1]}`, s.data);
  }
});

test('attachments of an inbound mail and its .eml (E-mail IN), and a failed message’s raw .eml', async () => {
  const raw = await new MailComposer({
    from: 'Per Persson <per@acme.se>',
    to: 'support@casedesk.test',
    subject: 'Filer',
    text: 'Här är filerna.',
    messageId: '<filer-1@acme.se>',
    attachments: samples.map((s) => ({ filename: s.fileName, contentType: s.contentType, content: s.data })),
  })
    .compile()
    .build();
  const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
  assert.is(result.outcome, 'created');
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['id', 'number'])
    .where('number', '=', result.caseNumber as string)
    .executeTakeFirstOrThrow();
  const documents = await documentsOf(kase.id, 'email_in');
  const [eml, ...attachments] = documents;
  assert.match(eml?.file_name ?? '', /Filer\.eml$/);
  assertServed(await ctx.kalle.get(`/cases/${kase.number}/documents/${eml?.id}`), bytes, eml?.file_name ?? '', raw);
  assert.equal(
    attachments.map((d) => d.file_name),
    samples.map((s) => s.fileName),
  );
  for (const [i, s] of samples.entries()) {
    const id = attachments[i]?.id;
    assertServed(await ctx.kalle.get(`/cases/${kase.number}/documents/${id}`), s.served, s.fileName, s.data);
    assertServed(await ctx.kalle.get(`/documents/${id}/download`), s.served, s.fileName, s.data);
  }

  const broken = await storeInboundRaw(ctx.db, Buffer.from('<html><script>alert(1)</script>'), { source: 'import' });
  await ctx.db.updateTable('inbound_messages').set({ status: 'failed' }).where('id', '=', broken.id).execute();
  assertServed(
    await ctx.boss.get(`/admin/inbound/${broken.id}/raw`),
    bytes,
    `inbound-${broken.id}.eml`,
    Buffer.from('<html><script>alert(1)</script>'),
  );
});

test('the copy of a sent reply (E-mail OUT)', async () => {
  await addStaffReply(
    ctx.db,
    ctx.caseId,
    { body_html: '<div>Svar</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalleUser,
    { config: ctx.config },
  );
  const sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
  const [mail] = await ctx.smtp.waitFor(1);
  const [copy] = await documentsOf(ctx.caseId, 'email_out');
  assert.ok(copy && mail);
  assertServed(await ctx.kalle.get(`/cases/${ctx.caseNumber}/documents/${copy.id}`), bytes, copy.file_name, mail.raw);
  assertServed(await ctx.kalle.get(`/documents/${copy.id}/download`), bytes, copy.file_name, mail.raw);
});

test.run();
