import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { addDiscussionPost } from './discussions.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  boss: User;
  olle: User;
  kase: Case;
};
const test = suite('Discussing a case among colleagues');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  ctx.olle = await seedUser(ctx.db, 'OLLE', 'agent');
  await ctx.db.updateTable('users').set({ active: false }).where('id', '=', ctx.olle.id).execute();
  const customer = await createCustomer(ctx.db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  const pick = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await ctx.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  // KALLE is responsible himself, so the bell starts at zero for everyone.
  ctx.kase = await createCase(
    ctx.db,
    {
      title: 'Skrivaren fastnar',
      responsible_id: ctx.kalle.id,
      customer_id: customer.id,
      status_id: await pick('case_statuses', 'Öppen'),
      case_type_id: await pick('case_types', 'Support'),
      priority_id: null,
      due_date: null,
      contact_id: null,
      contact_name: 'Per Persson',
      contact_email: 'per@acme.se',
      contact_phone: null,
      body_html: '<div>Pappret fastnar.</div>',
    },
    ctx.kalle,
  );
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const url = () => `/cases/${ctx.kase.number}/discussion`;

async function loggedIn(login: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

async function postIdWith(text: string): Promise<string> {
  const row = await ctx.db
    .selectFrom('discussion_posts')
    .select('id')
    .where('body_html', 'like', `%${text}%`)
    .executeTakeFirstOrThrow();
  return row.id;
}

const notificationsOf = (user: User) =>
  ctx.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).orderBy('id').execute();

test('the Discussion tab has a post box, and htmx gets only the fragment', async () => {
  const kalle = await loggedIn('kalle');
  const page = await kalle.get(url());
  assert.is(page.statusCode, 200);
  assert.match(page.body, '<html');
  assert.match(page.body, 'aria-label="Nytt inlägg"');
  assert.match(page.body, '>Publicera</button>');
  assert.match(page.body, 'data-mentions');
  assert.match(page.body, 'Inga inlägg ännu.');
  const fragment = await kalle.get(url(), { htmx: true });
  assert.is(fragment.statusCode, 200);
  assert.not.match(fragment.body, '<html');
  assert.match(fragment.body, `action="${url()}"`);
  assert.match(String(fragment.headers.vary), /\bHX-Request\b/);
});

test('a post mentioning @ANNA shows in the feed and rings her bell', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(url());
  const res = await kalle.post(url(), { body_html: '<div>Kan du titta på detta @ANNA?</div>' });
  assert.is(res.statusCode, 303);
  const id = await postIdWith('Kan du titta');
  assert.is(res.headers.location, `${url()}#post-${id}`);
  const page = await kalle.get(url());
  assert.match(page.body, `id="post-${id}"`);
  assert.match(page.body, 'Kalle Testsson');
  assert.match(page.body, '<mark class="mention">@ANNA</mark>?', 'the mention is highlighted');
  assert.match(page.body, '>Ta bort</button>', 'KALLE may delete his own post');

  const anna = await loggedIn('anna');
  const cases = await anna.get('/cases');
  assert.match(cases.body, '<span class="badge">1</span>');
  const list = await anna.get('/notifications');
  assert.match(list.body, new RegExp(`KALLE nämnde dig: ${ctx.kase.number} Skrivaren fastnar`));
  const [notification] = await notificationsOf(ctx.anna);
  assert.ok(notification);
  assert.is(notification.kind, 'mentioned');
  assert.is(notification.actor_id, ctx.kalle.id);
  assert.is(notification.case_id, ctx.kase.id);
  assert.is(notification.link, `${url()}#post-${id}`);

  const events = await ctx.db
    .selectFrom('case_events')
    .select('kind')
    .where('case_id', '=', ctx.kase.id)
    .where('kind', '=', 'discussion_post')
    .execute();
  assert.is(events.length, 1, 'the post is an event on the case');
  const history = await kalle.get(`/cases/${ctx.kase.number}/history`, { htmx: true });
  assert.match(history.body, 'Inlägg i diskussionen');
});

test('opening the notification marks it read and goes to the post', async () => {
  const anna = await loggedIn('anna');
  await anna.get('/notifications');
  const [notification] = await notificationsOf(ctx.anna);
  assert.ok(notification);
  const res = await anna.post(`/notifications/${notification.id}/read`);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, notification.link);
  assert.match(notification.link, /^\/cases\/[^/]+\/discussion#post-\d+$/);
  const cases = await anna.get('/cases');
  assert.not.match(cases.body, 'class="badge"', 'the bell is quiet again');
  const list = await anna.get('/notifications');
  assert.match(list.body, 'class="read"');
  const target = await anna.get(notification.link.split('#')[0] as string);
  assert.is(target.statusCode, 200);
  assert.match(target.body, `id="${notification.link.split('#')[1]}"`);
  // Someone else's notification cannot be opened.
  const kalle = await loggedIn('kalle');
  assert.is((await kalle.post(`/notifications/${notification.id}/read`)).statusCode, 404);
});

test('who is notified: active users named, once each, never the writer, never an e-mail address', async () => {
  const before = {
    anna: (await notificationsOf(ctx.anna)).length,
    kalle: (await notificationsOf(ctx.kalle)).length,
    olle: (await notificationsOf(ctx.olle)).length,
    boss: (await notificationsOf(ctx.boss)).length,
  };
  const { mentionedUserIds } = await addDiscussionPost(
    ctx.db,
    ctx.kase.id,
    '<div>@anna och @ANNA, @kalle, @olle, @nobody, mejla boss@boss.se <a href="mailto:x@boss.se">här</a></div>',
    ctx.kalle,
  );
  assert.equal(mentionedUserIds, [ctx.anna.id]);
  assert.is((await notificationsOf(ctx.anna)).length, before.anna + 1, 'ANNA once though named twice');
  assert.is((await notificationsOf(ctx.kalle)).length, before.kalle, 'not the writer himself');
  assert.is((await notificationsOf(ctx.olle)).length, before.olle, 'not an inactive user');
  assert.is((await notificationsOf(ctx.boss)).length, before.boss, 'not an e-mail address or a link');
});

test('the same post form sent twice, in a row or at once, publishes one post and rings the bell once', async () => {
  const kalle = await loggedIn('kalle');
  const countPosts = async (text: string) =>
    (await ctx.db.selectFrom('discussion_posts').select('id').where('body_html', 'like', `%${text}%`).execute()).length;
  const bellsBefore = (await notificationsOf(ctx.anna)).length;

  const key = formKeyIn((await kalle.get(url())).body);
  const form = { form_key: key, body_html: '<div>Dubbelklick @ANNA</div>' };
  const first = await kalle.post(url(), form);
  const second = await kalle.post(url(), form);
  assert.is(first.statusCode, 303);
  assert.is(second.headers.location, first.headers.location, 'the same post is shown');
  assert.is(await countPosts('Dubbelklick'), 1);

  const atOnce = { form_key: formKeyIn((await kalle.get(url())).body), body_html: '<div>Samtidigt @ANNA</div>' };
  const answers = await Promise.all([kalle.post(url(), atOnce), kalle.post(url(), atOnce)]);
  assert.equal(
    answers.map((a) => a.statusCode),
    [303, 303],
  );
  assert.is(answers[0]?.headers.location, answers[1]?.headers.location);
  assert.is(await countPosts('Samtidigt'), 1);
  assert.is((await notificationsOf(ctx.anna)).length, bellsBefore + 2, 'one mention each');
});

test('a blank post is refused with the message and nothing is stored', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(url());
  const count = async () => (await ctx.db.selectFrom('discussion_posts').select('id').execute()).length;
  const before = await count();
  const res = await kalle.post(url(), { body_html: '<div>&nbsp;<br></div>' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Måste fyllas i.');
  assert.match(res.body, 'aria-invalid="true"');
  assert.match(res.body, 'value="&lt;div&gt;&amp;nbsp;&lt;br&gt;&lt;/div&gt;"', 'what was typed is kept');
  assert.is(await count(), before);
  const htmx = await kalle.post(url(), { body_html: '' }, { htmx: true });
  assert.is(htmx.statusCode, 422);
  assert.not.match(htmx.body, '<html');
  assert.match(htmx.body, 'Måste fyllas i.');
});

test('scripts and event handlers in a post are stripped', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(url());
  const res = await kalle.post(url(), {
    body_html: '<div onclick="x()">Farligt<img src=x onerror=alert(1)><script>alert(2)</script></div>',
  });
  assert.is(res.statusCode, 303);
  const row = await ctx.db
    .selectFrom('discussion_posts')
    .select('body_html')
    .where('body_html', 'like', '%Farligt%')
    .executeTakeFirstOrThrow();
  for (const bad of ['<script', 'onerror', 'onclick', 'alert(2)']) assert.not.match(row.body_html, bad);
  const page = await kalle.get(url());
  assert.match(page.body, 'Farligt');
  assert.not.match(page.body, 'onerror');
  assert.not.match(page.body, 'alert(2)');
});

test('only the writer may delete a post: not a colleague, not an admin', async () => {
  const anna = await loggedIn('anna');
  await anna.get(url());
  assert.is((await anna.post(url(), { body_html: '<div>Annas inlägg om fack 2</div>' })).statusCode, 303);
  const id = await postIdWith('Annas inlägg');
  const deletion = `${url()}/${id}/deletion`;

  const kalle = await loggedIn('kalle');
  const page = await kalle.get(url());
  const annasPost = new RegExp(`<li class="entry" id="post-${id}">[\\s\\S]*?</li>`).exec(page.body)?.[0] ?? '';
  assert.match(annasPost, 'Annas inlägg');
  assert.not.match(annasPost, 'deletion', 'no delete button on her post for him');
  assert.is((await kalle.post(deletion)).statusCode, 403);

  const boss = await loggedIn('boss');
  await boss.get(url());
  assert.is((await boss.post(deletion)).statusCode, 403, 'admins neither');

  const row = await ctx.db
    .selectFrom('discussion_posts')
    .select('deleted_at')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  assert.is(row.deleted_at, null, 'still there');

  await anna.get(url());
  const res = await anna.post(deletion);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, url());
  const after = await anna.get(url());
  assert.not.match(after.body, 'Annas inlägg');
  assert.not.match(after.body, `post-${id}`);
  assert.match(after.body, 'Inlägget har tagits bort.');
  const deleted = await ctx.db
    .selectFrom('discussion_posts')
    .select('deleted_at')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  assert.ok(deleted.deleted_at, 'soft-deleted: the row is kept');
  const events = await ctx.db
    .selectFrom('case_events')
    .select('user_id')
    .where('kind', '=', 'discussion_post_deleted')
    .execute();
  assert.equal(events, [{ user_id: ctx.anna.id }]);
  assert.is((await anna.post(deletion)).statusCode, 404, 'a deleted post cannot be deleted again');
  assert.is((await anna.post(`/cases/1999-99999/discussion/${id}/deletion`)).statusCode, 404);
  assert.is((await anna.post(`${url()}/abc/deletion`)).statusCode, 404);
});

test('a post without the CSRF token is refused', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(url());
  const res = await kalle.post(url(), { _csrf: '', body_html: '<div>Utan token</div>' });
  assert.is(res.statusCode, 403);
  const rows = await ctx.db
    .selectFrom('discussion_posts')
    .select('id')
    .where('body_html', 'like', '%Utan token%')
    .execute();
  assert.is(rows.length, 0);
  const mine = await postIdWith('Kan du titta');
  const deletion = await kalle.post(`${url()}/${mine}/deletion`, { _csrf: '' });
  assert.is(deletion.statusCode, 403);
});

test('the autocomplete offers active colleagues by login or name, not oneself', async () => {
  const kalle = await loggedIn('kalle');
  const res = await kalle.get('/users/mentionable?q=an');
  assert.is(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), 'application/json');
  assert.equal(res.json(), [{ login: 'ANNA', name: 'Anna Testsson', initials: 'AT' }]);
  const byName = (await kalle.get('/users/mentionable?q=testsson')).json() as { login: string }[];
  assert.equal(
    byName.map((u) => u.login),
    ['ANNA', 'BOSS'],
    'OLLE is inactive and KALLE is the one asking',
  );
  assert.equal((await kalle.get('/users/mentionable?q=%25')).json(), [], 'LIKE wildcards are plain text');
  const anonymous = await new TestClient(ctx.app).get('/users/mentionable?q=an');
  assert.is(anonymous.statusCode, 303, 'not without logging in');
});

test('the tab speaks English to an English user', async () => {
  await ctx.db.updateTable('users').set({ language: 'en' }).where('id', '=', ctx.kalle.id).execute();
  const kalle = await loggedIn('kalle');
  const page = await kalle.get(url());
  assert.match(page.body, 'aria-label="New post"');
  assert.match(page.body, '>Post</button>');
  assert.match(page.body, '>Delete</button>');
  await ctx.db.updateTable('users').set({ language: null }).where('id', '=', ctx.kalle.id).execute();
});

test.run();
