import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  gone: User;
  avtal: number;
  offerter: number;
  emailIn: number;
};
const test = suite('Approval structures in administration');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  await seedUser(ctx.db, 'BOSS', 'admin');
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.gone = await seedUser(ctx.db, 'GONE');
  await ctx.db.updateTable('users').set({ active: false }).where('id', '=', ctx.gone.id).execute();
  const folder = async (name: string) =>
    (
      await ctx.db
        .insertInto('document_folders')
        .values({ name, position: 5 })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  ctx.avtal = await folder('Avtal');
  ctx.offerter = await folder('Offerter');
  ctx.emailIn = (
    await ctx.db
      .selectFrom('document_folders')
      .select('id')
      .where('system_key', '=', 'email_in')
      .executeTakeFirstOrThrow()
  ).id;
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function admin() {
  const client = new TestClient(ctx.app);
  await client.login('boss');
  return client;
}

const steps = async (name: string) => {
  const s = await ctx.db
    .selectFrom('approval_structures')
    .select(['id', 'active'])
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  const rows = await ctx.db
    .selectFrom('approval_structure_steps')
    .select('approver_ids')
    .where('structure_id', '=', s.id)
    .orderBy('position')
    .execute();
  return { ...s, steps: rows.map((r) => r.approver_ids) };
};

test('agents cannot reach the page; the admin index links to it', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  assert.is((await agent.get('/admin/approval-structures')).statusCode, 403);
  assert.is((await agent.post('/admin/approval-structures', { name: 'X', step_count: '1' })).statusCode, 403);
  const boss = await admin();
  assert.match((await boss.get('/admin')).body, '<a href="/admin/approval-structures">Attestflöden</a>');
  assert.match((await boss.get('/admin/approval-structures')).body, 'Inga attestflöden ännu.');
});

test('the form offers active users per step and only non-system categories', async () => {
  const boss = await admin();
  const form = await boss.get('/admin/approval-structures/new');
  assert.is(form.statusCode, 200);
  assert.match(form.body, '<label for="step-0">Steg 1</label>');
  assert.match(form.body, 'KALLE (Kalle Testsson)');
  assert.not.match(form.body, 'GONE (');
  assert.match(form.body, '>Avtal</option>');
  assert.not.match(form.body, 'E-mail IN');
});

test('bad input: every error beside its field, everything typed kept, nothing saved', async () => {
  const boss = await admin();
  await boss.get('/admin/approval-structures/new');
  const none = await boss.post('/admin/approval-structures', { name: '', step_count: '0', op: 'save' });
  assert.is(none.statusCode, 422);
  assert.match(none.body, 'Måste fyllas i.');
  assert.match(none.body, 'Lägg till minst ett steg.');
  const emptyStep = await boss.request({
    method: 'POST',
    url: '/admin/approval-structures',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(boss.csrf)}&name=Avtalsattest&step_count=2&step_0=${ctx.kalle.id}&step_0=${ctx.gone.id}&folder_ids=${ctx.emailIn}&op=save`,
  });
  assert.is(emptyStep.statusCode, 422);
  assert.match(emptyStep.body, 'value="Avtalsattest"');
  assert.match(emptyStep.body, new RegExp(`<option value="${ctx.kalle.id}" selected>KALLE`));
  assert.match(
    emptyStep.body,
    new RegExp(`<option value="${ctx.gone.id}" selected>GONE \\(Gone Testsson\\) – Inaktivt`),
  );
  assert.match(emptyStep.body, 'id="step-1-error"');
  assert.match(emptyStep.body, 'Välj minst en aktiv användare i varje steg.');
  const count = await ctx.db.selectFrom('approval_structures').select('id').execute();
  assert.is(count.length, 0);
});

test('steps are added, moved and removed without saving; Save stores them with the categories', async () => {
  const boss = await admin();
  await boss.get('/admin/approval-structures/new');
  const form = (extra: string) =>
    boss.request({
      method: 'POST',
      url: '/admin/approval-structures',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(boss.csrf)}&name=Avtalsattest&active=on&${extra}`,
    });
  const added = await form(`step_count=1&step_0=${ctx.kalle.id}&op=add`);
  assert.is(added.statusCode, 200);
  assert.match(added.body, '<label for="step-1">Steg 2</label>');
  assert.match(added.body, 'name="step_count" value="2"');
  const moved = await form(`step_count=2&step_0=${ctx.kalle.id}&step_1=${ctx.anna.id}&op=down:0`);
  assert.match(moved.body, new RegExp(`id="step-0"[^>]*>[\\s\\S]*?<option value="${ctx.anna.id}" selected>`));
  const removed = await form(`step_count=3&step_0=${ctx.kalle.id}&step_1=${ctx.anna.id}&op=remove:2`);
  assert.match(removed.body, 'name="step_count" value="2"');
  assert.is((await ctx.db.selectFrom('approval_structures').select('id').execute()).length, 0, 'not saved yet');

  const saved = await form(
    `step_count=2&step_0=${ctx.kalle.id}&step_1=${ctx.anna.id}&step_1=${ctx.kalle.id}&folder_ids=${ctx.avtal}&op=save`,
  );
  assert.is(saved.statusCode, 303);
  assert.is(saved.headers.location, '/admin/approval-structures');
  const s = await steps('Avtalsattest');
  assert.equal(s.steps, [[ctx.kalle.id], [ctx.anna.id, ctx.kalle.id]]);
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('approval_structure_id')
    .where('id', '=', ctx.avtal)
    .executeTakeFirstOrThrow();
  assert.is(folder.approval_structure_id, s.id);
  const list = await boss.get('/admin/approval-structures');
  assert.match(list.body, 'Attestflödet Avtalsattest skapades.');
  assert.match(list.body, 'KALLE → ANNA / KALLE');
  assert.match(list.body, '<td>Avtal</td>');

  // the same name again is refused, whatever the case
  await boss.get('/admin/approval-structures/new');
  const dup = await boss.post('/admin/approval-structures', {
    name: 'avtalsattest',
    step_count: '1',
    step_0: String(ctx.anna.id),
    op: 'save',
  });
  assert.is(dup.statusCode, 422);
  assert.match(dup.body, 'Det finns redan ett attestflöde med det namnet.');
});

test('editing: steps replaced, categories moved, inactive; the edit form shows what is stored', async () => {
  const boss = await admin();
  const { id } = await steps('Avtalsattest');
  const edit = await boss.get(`/admin/approval-structures/${id}`);
  assert.match(edit.body, 'Ändra attestflöde');
  assert.match(edit.body, 'pågående attester följer sina gamla steg');
  assert.match(edit.body, new RegExp(`<option value="${ctx.avtal}" selected>Avtal</option>`));
  const res = await boss.post(`/admin/approval-structures/${id}`, {
    name: 'Avtalsattest',
    step_count: '1',
    step_0: String(ctx.anna.id),
    folder_ids: String(ctx.offerter),
    op: 'save',
  });
  assert.is(res.statusCode, 303);
  const s = await steps('Avtalsattest');
  assert.equal(s.steps, [[ctx.anna.id]]);
  assert.is(s.active, false, 'the Active box was left unticked');
  const folders = await ctx.db
    .selectFrom('document_folders')
    .select(['id', 'approval_structure_id'])
    .where('id', 'in', [ctx.avtal, ctx.offerter])
    .orderBy('id')
    .execute();
  assert.equal(
    folders.map((f) => f.approval_structure_id),
    [null, id],
  );
  assert.is((await boss.get('/admin/approval-structures/999999')).statusCode, 404);
  assert.is((await boss.get('/admin/approval-structures/abc')).statusCode, 404);
});

test.run();
