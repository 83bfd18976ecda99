import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { addTestMailbox, startTestImapServer, type TestImapServer, testMessage } from '../../test-support/imap.ts';
import { needs } from '../../test-support/system-packages.ts';

// Issue 15, item 11: "Read mail" on demand starts the read and answers at once; a page shows its
// progress and, once done, what each mailbox gave, also for a mailbox that cannot be read.

type Ctx = { db: Db; app: FastifyInstance; drop: () => Promise<void> };

async function addMailbox(db: Db, name: string, host: string, port: number, user = 'support', password = 'x') {
  return addTestMailbox(db, { host, port, user, password }, name);
}

// Asks for the progress fragment as htmx's polling does, until it stops asking (the read is done).
async function waitUntilDone(client: TestClient, url: string, timeoutMs = 40_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(url, { htmx: true });
    assert.is(res.statusCode, 200);
    if (!res.body.includes('hx-trigger=')) return res.body;
    if (Date.now() > deadline) throw new Error(`the read did not end within ${timeoutMs} ms:\n${res.body}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// The text of a table row, tags stripped.
function rowOf(html: string, name: string): string {
  const row = new RegExp(`<tr>\\s*<th scope="row">${name}</th>([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
  return row
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const broken = {} as Ctx & { silent: net.Server; sockets: Set<net.Socket>; closedPort: number };
const test = suite('Read mail runs in the background: a broken mailbox no longer holds up the request');

test.before(async () => {
  const t = await createTestDatabase();
  // The hung mailbox holds the read for IMAP_TIMEOUT_SECONDS: long enough for the clicks below.
  const app = await buildTestApp(t.db, { IMAP_TIMEOUT_SECONDS: '6' });
  Object.assign(broken, { db: t.db, drop: t.drop, app, sockets: new Set() });
  await seedUser(broken.db, 'KALLE', 'agent', { language: 'en' });
  await seedUser(broken.db, 'ANNA', 'agent', { language: 'sv' });
  // A server that takes the connection and never says a word, as a hung mail server does.
  broken.silent = net.createServer((socket) => {
    broken.sockets.add(socket);
    socket.on('close', () => broken.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => broken.silent.listen(0, '127.0.0.1', resolve));
  // A port nobody listens on: taken and given back at once.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  broken.closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await addMailbox(broken.db, 'Hung', '127.0.0.1', (broken.silent.address() as net.AddressInfo).port);
  await addMailbox(broken.db, 'Refused', '127.0.0.1', broken.closedPort);
});
test.after(async () => {
  await broken.app.close();
  for (const socket of broken.sockets) socket.destroy();
  await new Promise((resolve) => broken.silent.close(resolve));
  await broken.drop();
});

test('the POST answers at once; the page shows the read under way, a second click joins it, and the failures come when done', async () => {
  const kalle = new TestClient(broken.app);
  await kalle.login('kalle');
  await kalle.get('/mail/read');
  const t0 = Date.now();
  const posted = await kalle.post('/mail/read');
  const answeredIn = Date.now() - t0;
  assert.is(posted.statusCode, 303);
  assert.ok(answeredIn < 1000, `the POST answered in ${answeredIn} ms`);
  const url = String(posted.headers.location);
  assert.match(url, /^\/mail\/read\/runs\/\d+$/);

  const page = await kalle.get(url);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Reading mail…');
  // the first mailbox is being read (or about to be: the run began a moment ago)
  assert.match(rowOf(page.body, 'Hung'), /^(Reading…|Waiting)$/);
  assert.match(rowOf(page.body, 'Refused'), 'Waiting');
  // htmx asks again while it runs; without JavaScript the page refreshes itself
  assert.match(page.body, `hx-get="${url}" hx-trigger="load delay:1s"`);
  assert.match(page.body, '<noscript><meta http-equiv="refresh" content="2"></noscript>');

  // ANNA presses Read mail meanwhile: she joins the running read, no second one starts
  const anna = new TestClient(broken.app);
  await anna.login('anna');
  await anna.get('/mail/read');
  const again = await anna.post('/mail/read');
  assert.is(again.statusCode, 303);
  assert.is(again.headers.location, url);
  const joined = await anna.get(url);
  assert.match(joined.body, 'Posten läses redan');
  assert.match(joined.body, 'Läser post …');
  const reads = await broken.db.selectFrom('mail_reads').select('id').execute();
  assert.is(reads.length, 1);
  // the overview's Read mail page links to the read under way
  assert.match((await anna.get('/mail/read')).body, `href="${url}"`);

  const done = await waitUntilDone(kalle, url);
  assert.match(done, 'Done, but 2 mailboxes could not be read.');
  assert.not.match(done, '<html', 'htmx gets the fragment only');
  assert.match(rowOf(done, 'Hung'), /^Failed Could not read the mailbox: \S/);
  assert.match(rowOf(done, 'Refused'), /^Failed Could not read the mailbox: .*ECONNREFUSED/);
  const finished = await kalle.get(url);
  assert.not.match(finished.body, 'hx-trigger=');
  assert.not.match(finished.body, 'http-equiv="refresh"');
  assert.match(finished.body, '>Read mail now</button>');
});

test.run();

const working = {} as Ctx & { imap: TestImapServer };
const dovecot = needs('dovecot', suite('Read mail in the background reads a working mailbox to the end'));

dovecot.before(async () => {
  const t = await createTestDatabase();
  Object.assign(working, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  working.imap = await startTestImapServer();
  await seedUser(working.db, 'KALLE', 'agent', { language: 'sv' });
  await addMailbox(
    working.db,
    'Support',
    working.imap.host,
    working.imap.port,
    working.imap.user,
    working.imap.password,
  );
});
dovecot.after(async () => {
  await working.app.close();
  await working.imap.close();
  await working.drop();
});

dovecot('the progress ends with the mail read and the case made', async () => {
  await working.imap.appendMessage(testMessage({ subject: 'Skrivaren på plan 3 fastnar' }));
  await working.imap.appendMessage(testMessage({ subject: 'Redan läst' }), { flags: ['\\Seen'] });
  const kalle = new TestClient(working.app);
  await kalle.login('kalle');
  await kalle.get('/mail/read');
  const posted = await kalle.post('/mail/read');
  assert.is(posted.statusCode, 303);
  const url = String(posted.headers.location);
  const done = await waitUntilDone(kalle, url);
  assert.match(done, 'Klart.');
  // Läge, Lästa, Nya ärenden, Svar, Ignorerade, Misslyckade, Redan lästa
  assert.is(rowOf(done, 'Support'), 'Klar 1 1 0 0 0 0');
  const page = await kalle.get(url);
  assert.match(page.body, '<caption>');
  const kase = await working.db
    .selectFrom('cases')
    .select('title')
    .where('title', '=', 'Skrivaren på plan 3 fastnar')
    .executeTakeFirst();
  assert.ok(kase, 'the mail became a case');
  const flags = await working.imap.listFlags();
  assert.ok(
    [...flags.values()].every((f) => f.includes('\\Seen')),
    'the server heard that it was read',
  );
});

dovecot.run();
