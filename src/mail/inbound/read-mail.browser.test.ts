import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { seedUser } from '../../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../../test-support/browser.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { addTestMailbox, startTestImapServer, type TestImapServer, testMessage } from '../../test-support/imap.ts';
import { needs } from '../../test-support/system-packages.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  imap: TestImapServer;
  silent: net.Server;
  sockets: Set<net.Socket>;
};
const test = needs(
  'chromium',
  needs('dovecot', suite('Read mail from the overview in a real browser: progress, then what came in')),
);

async function addMailbox(name: string, port: number, user: string, password: string) {
  await addTestMailbox(ctx.db, { host: '127.0.0.1', port, user, password }, name);
}

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'KALLE', 'agent', { language: 'sv' });
  ctx.imap = await startTestImapServer();
  await ctx.imap.appendMessage(testMessage({ subject: 'Skrivaren på plan 3 fastnar' }));
  // Read first (by name): a server that takes the connection and never answers, so the page has
  // a read under way to show for as long as the IMAP timeout (IMAP_TIMEOUT_SECONDS, 6 s here).
  ctx.sockets = new Set();
  ctx.silent = net.createServer((socket) => {
    ctx.sockets.add(socket);
    socket.on('close', () => ctx.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => ctx.silent.listen(0, '127.0.0.1', resolve));
  await addMailbox('Arkiv', (ctx.silent.address() as net.AddressInfo).port, 'arkiv', 'x');
  await addMailbox('Support', ctx.imap.port, ctx.imap.user, ctx.imap.password);
  ctx.server = await startTestServer(t.db, { IMAP_TIMEOUT_SECONDS: '6' });
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  for (const socket of ctx.sockets ?? []) socket.destroy();
  await new Promise((resolve) => ctx.silent?.close(resolve));
  await ctx.imap?.close();
  await ctx.drop?.();
});

test('KALLE clicks Hantera → Läs mail, sees the read under way, and then what each mailbox gave', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  await logInThroughForm(page, base, 'kalle');
  await page.waitForURL(`${base}/cases`);

  await page.getByText('Hantera', { exact: true }).click();
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Läs mail', exact: true }).click();
  await page.waitForURL(/\/mail\/read\/runs\/\d+$/);
  await page.getByText('Läser post …').waitFor();
  assert.ok(Date.now() - t0 < 5000, 'the page came at once, not after the hung mailbox');
  const table = page.getByRole('table', { name: 'Vad Läs mail gjorde, per brevlåda' });
  // waiting, then reading: the hung mailbox shows that it is being read (a busy machine may show
  // the page before that mailbox's read has begun)
  await table.getByRole('row', { name: /Arkiv/ }).filter({ hasText: 'Läser …' }).waitFor({ timeout: 10_000 });

  // htmx asks again every second; the read ends when the hung mailbox's timeout has passed
  await page.getByText('Klart, men 1 brevlåda kunde inte läsas.', { exact: true }).waitFor({ timeout: 40_000 });
  const arkiv = (await table.getByRole('row', { name: /Arkiv/ }).textContent()) ?? '';
  assert.match(arkiv, 'Kunde inte läsa brevlådan:');
  assert.match(arkiv, 'Misslyckades', 'a mailbox that could not be read does not say it is done');
  const supportRow = table.getByRole('row', { name: /Support/ });
  const support = [
    await supportRow.getByRole('rowheader').textContent(),
    ...(await supportRow.getByRole('cell').allTextContents()),
  ];
  // Support, Klar, 1 read, 1 new case, 0 replies, 0 ignored, 0 failed, 0 already read
  assert.equal(support, ['Support', 'Klar', '1', '1', '0', '0', '0', '0']);
  await page.getByRole('button', { name: 'Läs mail nu' }).waitFor();
  const kase = await ctx.db
    .selectFrom('cases')
    .select('number')
    .where('title', '=', 'Skrivaren på plan 3 fastnar')
    .executeTakeFirst();
  assert.ok(kase, 'the mail became a case');
  assert.equal(problems, []);
});

test.run();
