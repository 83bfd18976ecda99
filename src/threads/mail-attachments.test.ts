import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { processInboundMessage } from '../mail/inbound/process.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme } from '../test-support/seeds.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; config: Config; kalle: TestClient };
const test = suite("A received mail's attachments on its thread entry");

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
  await seedAcme(t.db);
  await seedUser(t.db, 'KALLE');
  ctx.app = await buildTestApp(t.db);
  ctx.kalle = new TestClient(ctx.app);
  await ctx.kalle.login('kalle');
});
test.after(async () => {
  await ctx.app?.close();
  await ctx.drop?.();
});

const mail = (messageId: string, subject: string, parts: string[]) =>
  Buffer.from(
    [
      'From: Per Persson <per@acme.se>',
      'To: support@casedesk.example',
      `Subject: ${subject}`,
      `Message-ID: <${messageId}>`,
      'Date: Thu, 03 Dec 2026 09:12:00 +0100',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="mix"',
      '',
      ...parts,
      '--mix--',
      '',
    ].join('\r\n'),
  );

test('the files a mail brought are listed, as links, on its entry in the thread; its .eml is not', async () => {
  const raw = mail('offert-1@acme.se', 'Offert och ritning', [
    '--mix',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hej! Offerten och ritningen bifogade.',
    '--mix',
    'Content-Type: application/pdf; name="offert åäö.pdf"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="offert åäö.pdf"',
    '',
    Buffer.from('%PDF-1.4 offert').toString('base64'),
    '--mix',
    'Content-Type: image/png; name="ritning.png"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="ritning.png"',
    '',
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64'),
  ]);
  const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
  assert.is(result.outcome, 'created');

  const page = await ctx.kalle.get(`/cases/${result.caseNumber}`);
  assert.is(page.statusCode, 200);
  const entry = /<li class="entry customer">[\s\S]*?<\/li>\s*<\/ol>/.exec(page.body)?.[0] ?? '';
  assert.match(entry, 'Offerten och ritningen bifogade.');
  const links = [...entry.matchAll(/<a href="(\/documents\/\d+\/download)">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
  assert.equal(
    links.map(([, name]) => name),
    ['offert åäö.pdf', 'ritning.png'],
  );
  assert.not.match(entry, '.eml<');

  // the case's history says where it came from in words, not as a code
  const history = await ctx.kalle.get(`/cases/${result.caseNumber}/history`);
  assert.match(history.body, '<td>Från e-post</td>');
  assert.not.match(history.body, '<td>email</td>');

  const download = await ctx.kalle.get(links[0]?.[0] as string);
  assert.is(download.statusCode, 200);
  assert.is(download.body, '%PDF-1.4 offert');
});

test.run();
