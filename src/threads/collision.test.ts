import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { addThreadEntry } from './entries.ts';

// The collision warning (issue 18, part 1): "Send now" is held back when, since the reply form
// was opened, the customer wrote or a colleague sent a reply. The agent sees what is new and
// chooses Send anyway (sent once) or Edit reply (the text kept). Internal notes, discussion
// posts and the agent's own replies do not count.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  kalleClient: TestClient;
  annaClient: TestClient;
  customerId: number;
  contactId: number;
};
const test = suite('The collision warning before a reply is sent');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'sv' });
  await seedUser(ctx.db, 'JOHN', 'agent', { language: 'en' });
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
  ctx.kalleClient = new TestClient(ctx.app);
  await ctx.kalleClient.login('KALLE');
  ctx.annaClient = new TestClient(ctx.app);
  await ctx.annaClient.login('ANNA');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const newCase = () => seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, ctx.contactId);

// The case page's reply form as the browser would send it: its one-time key and what it had seen.
async function openReplyForm(kase: Case, client = ctx.kalleClient) {
  const page = await client.get(`/cases/${kase.number}`);
  assert.is(page.statusCode, 200);
  const seen = /name="seen_entry_id" value="([^"]*)"/.exec(page.body)?.[1];
  assert.ok(seen, 'the reply form carries the newest entry it showed');
  return { form_key: formKeyIn(page.body), seen_entry_id: seen as string };
}

const reply = (text: string) => ({ body_html: `<div>${text}</div>`, delivery: 'to_send', to: 'per@acme.se' });

const send = (kase: Case, form: Record<string, string>, client = ctx.kalleClient) =>
  client.post(`/cases/${kase.number}/thread`, form);

// The hidden fields of the warning's form, as a browser sends them back with the button pressed.
function warningForm(html: string): Record<string, string> {
  const form = /<form[^>]*class="collision-choice"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1];
  assert.ok(form, 'the warning has its form');
  const fields: Record<string, string> = {};
  for (const [, name, value] of (form as string).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (name === '_csrf') continue;
    fields[name as string] = (value as string)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  }
  return fields;
}

const repliesBy = (kase: Case, user: User) =>
  ctx.db
    .selectFrom('thread_entries')
    .select(['id', 'body_html'])
    .where('case_id', '=', kase.id)
    .where('side', '=', 'staff')
    .where('user_id', '=', user.id)
    .orderBy('id')
    .execute();
const outboxOf = (kase: Case) =>
  ctx.db.selectFrom('outbox').select(['thread_entry_id', 'status']).where('case_id', '=', kase.id).execute();

const customerWrites = (kase: Case, text: string) =>
  addThreadEntry(ctx.db, {
    case_id: kase.id,
    side: 'customer',
    author_name: 'Per Persson',
    author_email: 'per@acme.se',
    body_html: `<div>${text}</div>`,
  });

async function annaReplies(kase: Case, text: string) {
  const form = await openReplyForm(kase, ctx.annaClient);
  const res = await send(kase, { ...form, ...reply(text) }, ctx.annaClient);
  assert.is(res.statusCode, 303, res.body);
}

test('a customer message that arrived since the form was opened holds the reply back and is shown', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await customerWrites(kase, 'Nu fastnar det i fack 3 också.');

  const res = await send(kase, { ...form, ...reply('Prova att starta om skrivaren.') });
  assert.is(res.statusCode, 409, res.body);
  assert.match(res.body, 'Ett nytt meddelande kom från kunden medan du skrev.');
  assert.match(res.body, 'Ditt svar har inte skickats.');
  const warning = /<section [^>]*class="reply-collision"[\s\S]*?<\/section>/.exec(res.body)?.[0] ?? '';
  assert.match(warning, 'Nu fastnar det i fack 3 också.');
  assert.match(warning, 'Prova att starta om skrivaren.', 'the reply as typed is shown with it');
  assert.match(warning, '>Skicka ändå</button>');
  assert.match(warning, '>Redigera svaret</button>');
  assert.not.match(res.body, 'class="reply-box"', 'the warning takes the reply box’s place');
  assert.equal(await repliesBy(kase, ctx.kalle), [], 'nothing was sent or saved');
  assert.equal(await outboxOf(kase), []);
});

test('a reply a colleague sent since holds the reply back, naming her and showing her reply', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await annaReplies(kase, 'Jag har skickat en tekniker.');

  const res = await send(kase, { ...form, ...reply('Prova att starta om skrivaren.') });
  assert.is(res.statusCode, 409, res.body);
  assert.match(res.body, 'Anna Testsson skickade ett svar medan du skrev.');
  assert.not.match(res.body, 'Ett nytt meddelande kom från kunden');
  const warning = /<section [^>]*class="reply-collision"[\s\S]*?<\/section>/.exec(res.body)?.[0] ?? '';
  assert.match(warning, 'Jag har skickat en tekniker.');
  assert.equal(await repliesBy(kase, ctx.kalle), []);
  assert.is((await outboxOf(kase)).length, 1, 'only Anna’s mail');
});

test('a reply a colleague sent through another app instance holds the reply back all the same', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  const other = await buildTestApp(ctx.db);
  try {
    const annaThere = new TestClient(other);
    await annaThere.login('ANNA');
    const annaForm = await openReplyForm(kase, annaThere);
    assert.is((await send(kase, { ...annaForm, ...reply('Från den andra servern.') }, annaThere)).statusCode, 303);
  } finally {
    await other.close();
  }
  const res = await send(kase, { ...form, ...reply('Mitt svar.') });
  assert.is(res.statusCode, 409, res.body);
  assert.match(res.body, 'Anna Testsson skickade ett svar medan du skrev.');
  assert.match(res.body, 'Från den andra servern.');
});

test('the warning is in English for an English-speaking user', async () => {
  const kase = await newCase();
  const john = new TestClient(ctx.app);
  await john.login('JOHN');
  const form = await openReplyForm(kase, john);
  await customerWrites(kase, 'Still jammed.');
  await annaReplies(kase, 'A technician is on the way.');
  const res = await send(kase, { ...form, ...reply('Try turning it off and on.') }, john);
  assert.is(res.statusCode, 409, res.body);
  assert.match(res.body, 'A new message arrived from the customer while you were writing.');
  assert.match(res.body, 'Anna Testsson sent a reply while you were writing.');
  assert.match(res.body, '>Send anyway</button>');
  assert.match(res.body, '>Edit reply</button>');
});

test('the user’s own earlier reply, an internal note, a discussion post or a saved-only reply hold nothing back', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  // the same user sent a reply from another window
  const other = await openReplyForm(kase);
  assert.is((await send(kase, { ...other, ...reply('Första svaret.') })).statusCode, 303);
  // Anna writes an internal note, a discussion post and a reply she only saves
  const internal = await ctx.annaClient.get(`/cases/${kase.number}/internal`);
  const version = /name="internal_note_version" value="(\d+)"/.exec(internal.body)?.[1] ?? '0';
  const note = await ctx.annaClient.post(`/cases/${kase.number}/internal`, {
    internal_note: 'Kunden är viktig.',
    internal_note_version: version,
  });
  assert.is(note.statusCode, 303, note.body);
  const post = await ctx.annaClient.post(`/cases/${kase.number}/discussion`, {
    body_html: '<div>Kalle, ta du den?</div>',
  });
  assert.ok(post.statusCode < 400, post.body);
  const annaForm = await openReplyForm(kase, ctx.annaClient);
  const saved = await send(kase, { ...annaForm, ...reply('Utkast.'), delivery: 'saved' }, ctx.annaClient);
  assert.is(saved.statusCode, 303, saved.body);

  const res = await send(kase, { ...form, ...reply('Andra svaret.') });
  assert.is(res.statusCode, 303, res.body);
  assert.equal(
    (await repliesBy(kase, ctx.kalle)).map((r) => r.body_html),
    ['<div>Första svaret.</div>', '<div>Andra svaret.</div>'],
  );
});

test('"Save only" is not held back: nothing reaches the customer', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await customerWrites(kase, 'Hallå?');
  const res = await send(kase, { ...form, ...reply('Sparat svar.'), delivery: 'saved' });
  assert.is(res.statusCode, 303, res.body);
  assert.is((await repliesBy(kase, ctx.kalle)).length, 1);
});

test('Send anyway sends the reply as typed, once, however often it is pressed', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await annaReplies(kase, 'Jag har skickat en tekniker.');
  const warned = await send(kase, {
    ...form,
    ...reply('Tack för <strong>ditt</strong> tålamod.'),
    cc: 'chef@acme.se',
    set_waiting: 'on',
  });
  assert.is(warned.statusCode, 409);
  const fields = warningForm(warned.body);
  assert.is.not(fields.form_key, form.form_key, 'the warning’s form has a key of its own');
  assert.is(fields.body_html, '<div>Tack för <strong>ditt</strong> tålamod.</div>');
  assert.is(fields.to, 'per@acme.se');
  assert.is(fields.cc, 'chef@acme.se');
  assert.is(fields.set_waiting, 'on');

  const first = await send(kase, { ...fields, collision: 'send' });
  assert.is(first.statusCode, 303, first.body);
  const second = await send(kase, { ...fields, collision: 'send' });
  assert.is(second.statusCode, 303, second.body);
  const mine = await repliesBy(kase, ctx.kalle);
  assert.equal(
    mine.map((r) => r.body_html),
    ['<div>Tack för <strong>ditt</strong> tålamod.</div>'],
  );
  const mails = (await outboxOf(kase)).filter((m) => m.thread_entry_id === mine[0]?.id);
  assert.is(mails.length, 1, 'one mail to the customer');
});

test('Send anyway warns again when yet another message arrived after the warning', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await customerWrites(kase, 'Första.');
  const warned = await send(kase, { ...form, ...reply('Svar.') });
  assert.is(warned.statusCode, 409);
  await customerWrites(kase, 'Andra meddelandet, efter varningen.');
  const again = await send(kase, { ...warningForm(warned.body), collision: 'send' });
  assert.is(again.statusCode, 409);
  const warning = /<section [^>]*class="reply-collision"[\s\S]*?<\/section>/.exec(again.body)?.[0] ?? '';
  assert.match(warning, 'Andra meddelandet, efter varningen.');
  assert.not.match(warning, 'Första.', 'what the user saw at the first warning counts as seen');
  assert.equal(await repliesBy(kase, ctx.kalle), []);
});

test('Edit reply goes back to the reply box with the text kept, and the new entries count as seen', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await customerWrites(kase, 'Det blinkar rött.');
  const warned = await send(kase, { ...form, ...reply('Byt toner.'), cc: 'chef@acme.se' });
  assert.is(warned.statusCode, 409);
  const fields = warningForm(warned.body);

  const edit = await send(kase, { ...fields, collision: 'edit' });
  assert.is(edit.statusCode, 200, edit.body);
  assert.match(edit.body, 'class="reply-box"');
  assert.match(edit.body, /id="reply-body" type="hidden" name="body_html" value="&lt;div&gt;Byt toner.&lt;\/div&gt;"/);
  assert.match(edit.body, /id="reply-cc"[^>]*value="chef@acme.se"/);
  assert.match(edit.body, `name="seen_entry_id" value="${fields.seen_entry_id}"`);
  assert.match(edit.body, 'Det blinkar rött.', 'the thread shows the new message');
  assert.equal(await repliesBy(kase, ctx.kalle), [], 'Edit sends nothing');

  const sent = await send(kase, {
    form_key: formKeyIn(edit.body),
    seen_entry_id: fields.seen_entry_id as string,
    ...reply('Byt toner, och starta om.'),
  });
  assert.is(sent.statusCode, 303, sent.body);
  assert.equal(
    (await repliesBy(kase, ctx.kalle)).map((r) => r.body_html),
    ['<div>Byt toner, och starta om.</div>'],
  );
});

test('a second click on Send, after the first went out and a colleague replied, gets the first reply, not a warning', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  const fields = { ...form, ...reply('Ett svar.') };
  assert.is((await send(kase, fields)).statusCode, 303);
  await annaReplies(kase, 'Jag svarade också.');
  const again = await send(kase, fields);
  assert.is(again.statusCode, 303, again.body);
  assert.is((await repliesBy(kase, ctx.kalle)).length, 1);
});

test('a form without the seen field (an older page) sends as before', async () => {
  const kase = await newCase();
  const { form_key } = await openReplyForm(kase);
  await customerWrites(kase, 'Hallå?');
  const res = await send(kase, { form_key, ...reply('Svar.') });
  assert.is(res.statusCode, 303, res.body);
  assert.is((await repliesBy(kase, ctx.kalle)).length, 1);
});

test('hostile or broken fields are refused with a 4xx and nothing is sent', async () => {
  const kase = await newCase();
  const form = await openReplyForm(kase);
  await customerWrites(kase, 'Hallå?');
  const url = `/cases/${kase.number}/thread`;
  const cases: [string, string][] = [
    ['seen_entry_id=1&seen_entry_id=2', 'repeated seen'],
    ['seen_entry_id=abc', 'not a number'],
    ['seen_entry_id=-1', 'negative'],
    ['seen_entry_id=1%00', 'NUL byte'],
    ['seen_entry_id=99999999999999999999', 'past bigint'],
    ['collision=maybe', 'unknown choice'],
    ['collision=send&collision=edit', 'both buttons'],
  ];
  for (const [extra, why] of cases) {
    const body = `${new URLSearchParams({ _csrf: ctx.kalleClient.csrf, form_key: form.form_key, ...reply('Svar.') })}&${extra}`;
    const res = await ctx.kalleClient.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${why}: ${res.statusCode}`);
    assert.not.match(res.body, /name="seen_entry_id" value="(abc|-1)"/, `${why}: not shown again`);
  }
  assert.equal(await repliesBy(kase, ctx.kalle), []);
  assert.equal(await outboxOf(kase), []);
  // a seen id past the newest entry (made up) only claims to have seen everything
  const res = await send(kase, { ...form, seen_entry_id: '9223372036854775807', ...reply('Svar.') });
  assert.is(res.statusCode, 303);
});

test.run();
