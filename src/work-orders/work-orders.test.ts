import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { addDocument } from '../documents/documents.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { createProject } from './projects.ts';
import { createWorkOrderFromCase } from './work-orders.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  boss: User;
  acmeId: number;
  kase: Case;
};
const test = suite('Projects, work orders and "Create work order" on a case');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.acmeId = customer.id;
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const loggedIn = async (login: string) => {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
};
const count = async (table: 'projects' | 'work_orders') =>
  (
    await ctx.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;

test('pages need a login', async () => {
  const anonymous = new TestClient(ctx.app);
  for (const url of ['/projects', '/work-orders', `/cases/${ctx.kase.number}/work-order`]) {
    const res = await anonymous.get(url);
    assert.is(res.statusCode, 303, url);
    assert.match(res.headers.location ?? '', /^\/login/);
  }
});

test('an agent creates projects: the next series number when left blank, a typed one kept, a taken one refused', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/projects/new');
  const first = await kalle.post('/projects', {
    number: '',
    name: 'Skrivarbyte',
    customer: 'K1001',
    responsible_id: String(ctx.kalle.id),
    active: 'on',
  });
  assert.is(first.statusCode, 303);
  assert.is(first.headers.location, '/projects/P0001');
  const page = await kalle.get('/projects/P0001');
  assert.match(page.body, 'Skrivarbyte');
  assert.match(page.body, 'value="K1001"');

  await kalle.post('/projects', { number: 'INTERN-1', name: 'Internt', customer: '', responsible_id: '' });
  const taken = await kalle.post('/projects', { number: 'INTERN-1', name: 'Igen', customer: '' });
  assert.is(taken.statusCode, 422);
  assert.match(taken.body, 'Projektnumret används redan.');
  assert.match(taken.body, 'value="Igen"', 'the typed name stays');

  const unknownCustomer = await kalle.post('/projects', { number: '', name: 'Okänd kund', customer: 'NOPE' });
  assert.is(unknownCustomer.statusCode, 422);
  assert.match(unknownCustomer.body, 'Det finns ingen kund NOPE.');
  assert.match(unknownCustomer.body, 'value="NOPE"');
  // A number that is part of its own link: "new", "." and ".." would lead elsewhere.
  for (const number of ['new', '.', '..']) {
    const refused = await kalle.post('/projects', { number, name: 'Punkt', customer: '' });
    assert.is(refused.statusCode, 422, number);
    assert.match(refused.body, 'Använd bokstäver, siffror, punkt, bindestreck eller understreck');
  }
  assert.is(await count('projects'), 2);
  const byName = await kalle.post('/projects', { number: 'ACME-2', name: 'Kund med namn', customer: ' acme ab' });
  assert.is(byName.statusCode, 303, 'the customer typed by its full name');
  assert.match((await kalle.get('/projects/ACME-2')).body, 'value="K1001"');
  await ctx.db.deleteFrom('projects').where('number', '=', 'ACME-2').execute();
});

test('the project list filters by text, customer and active', async () => {
  const kalle = await loggedIn('kalle');
  const project = await ctx.db
    .selectFrom('projects')
    .select('version')
    .where('number', '=', 'INTERN-1')
    .executeTakeFirstOrThrow();
  await kalle.get('/projects/INTERN-1');
  const saved = await kalle.post('/projects/INTERN-1', {
    number: 'INTERN-1',
    name: 'Internt',
    customer: '',
    responsible_id: '',
    version: String(project.version),
  });
  assert.is(saved.statusCode, 303, 'unticked "Active" makes it inactive');

  const active = await kalle.get('/projects');
  assert.match(active.body, 'Skrivarbyte');
  assert.not.match(active.body, '>INTERN-1<');
  const inactive = await kalle.get('/projects?active=inactive', { htmx: true });
  assert.match(inactive.body, '>INTERN-1<');
  assert.not.match(inactive.body, '<html', 'htmx gets the rows only');
  assert.match((await kalle.get('/projects?q=skrivar')).body, 'Skrivarbyte');
  assert.not.match((await kalle.get('/projects?q=nothing-like-it')).body, 'Skrivarbyte');
  assert.match((await kalle.get('/projects?customer=K1001')).body, 'Skrivarbyte');
  assert.not.match((await kalle.get('/projects?customer=K9999')).body, 'Skrivarbyte');
});

test('an agent creates a work order from the register and finds it by the filters', async () => {
  const kalle = await loggedIn('kalle');
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'P0001')
    .executeTakeFirstOrThrow();
  const form = await kalle.get('/work-orders/new?project=P0001');
  assert.match(form.body, `<option value="${project.id}" selected>P0001 Skrivarbyte</option>`);
  const res = await kalle.post('/work-orders', {
    name: 'Installera ny skrivare',
    project_id: String(project.id),
    responsible_id: String(ctx.anna.id),
    status: 'planned',
    description_html: '<div>Ta med <strong>kabel</strong><script>alert(1)</script></div>',
  });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/work-orders/AO00001');
  const stored = await ctx.db
    .selectFrom('work_orders')
    .selectAll()
    .where('number', '=', 'AO00001')
    .executeTakeFirstOrThrow();
  assert.is(stored.description_html, '<div>Ta med <strong>kabel</strong></div>', 'rich text is sanitised');

  const list = await kalle.get('/work-orders');
  assert.match(list.body, 'Installera ny skrivare');
  assert.match((await kalle.get(`/work-orders?resp=${ctx.anna.id}`)).body, 'Installera ny skrivare');
  assert.not.match((await kalle.get(`/work-orders?resp=${ctx.kalle.id}`)).body, 'Installera ny skrivare');
  assert.match((await kalle.get('/work-orders?project=p0001')).body, 'Installera ny skrivare');
  assert.not.match((await kalle.get('/work-orders?status=done')).body, 'Installera ny skrivare');
  assert.match((await kalle.get('/work-orders?q=skrivare')).body, 'Installera ny skrivare');
  const fragment = await kalle.get('/work-orders?status=planned', { htmx: true });
  assert.match(fragment.body, 'id="work-order-rows"');
  assert.not.match(fragment.body, '<html');

  const missing = await kalle.post('/work-orders', { name: 'Utan projekt', project_id: '', status: 'planned' });
  assert.is(missing.statusCode, 422);
  assert.match(missing.body, 'Välj ett projekt.');
  assert.match(missing.body, 'value="Utan projekt"');
});

test('an edit on a stale version is refused with 409 and keeps what was typed', async () => {
  const kalle = await loggedIn('kalle');
  const anna = await loggedIn('anna');
  const page = await kalle.get('/work-orders/AO00001');
  const version = /name="version" value="(\d+)"/.exec(page.body)?.[1] ?? '';
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'P0001')
    .executeTakeFirstOrThrow();
  const form = (name: string, status = 'in_progress') => ({
    name,
    project_id: String(project.id),
    responsible_id: String(ctx.anna.id),
    status,
    description_html: '<div>Ta med kabel</div>',
    version,
  });
  await anna.get('/work-orders/AO00001');
  assert.is((await anna.post('/work-orders/AO00001', form('Annas namn'))).statusCode, 303);
  const stale = await kalle.post('/work-orders/AO00001', form('Kalles namn'));
  assert.is(stale.statusCode, 409);
  assert.match(stale.body, 'Någon annan sparade arbetsordern');
  assert.match(stale.body, 'value="Kalles namn"');
  const stored = await ctx.db
    .selectFrom('work_orders')
    .select('name')
    .where('number', '=', 'AO00001')
    .executeTakeFirstOrThrow();
  assert.is(stored.name, 'Annas namn');

  // Along the lifecycle only: cancelled from done is not a step.
  const fresh = await ctx.db
    .selectFrom('work_orders')
    .select('version')
    .where('number', '=', 'AO00001')
    .executeTakeFirstOrThrow();
  await kalle.get('/work-orders/AO00001');
  await kalle.post('/work-orders/AO00001', { ...form('Annas namn', 'done'), version: String(fresh.version) });
  const refused = await kalle.post('/work-orders/AO00001', {
    ...form('Annas namn', 'cancelled'),
    version: String(fresh.version + 1),
  });
  assert.is(refused.statusCode, 422);
  assert.match(refused.body, 'Arbetsordern kan inte gå från sin nuvarande status till den.');
});

test('"Create work order" on a case: no project → 422 with the typed name kept and nothing made', async () => {
  const kalle = await loggedIn('kalle');
  // another customer's project, so the picker has two groups
  await createProject(
    ctx.db,
    { number: 'ANNAT', name: 'Annan kunds projekt', customer_id: null, responsible_id: null, active: true },
    ctx.kalle,
  );
  const dialog = await kalle.get(`/cases/${ctx.kase.number}/work-order`, { htmx: true });
  assert.is(dialog.statusCode, 200);
  assert.not.match(dialog.body, '<html', 'htmx gets the dialog body only');
  assert.match(dialog.body, `value="${ctx.kase.title}"`, 'the name defaults to the case title');
  assert.match(dialog.body, `<option value="${ctx.kalle.id}" selected>`, "the responsible defaults to the case's");
  const customerGroup = dialog.body.indexOf('Kundens projekt');
  assert.ok(
    customerGroup > 0 && customerGroup < dialog.body.indexOf('Övriga projekt'),
    "the customer's projects first",
  );
  assert.ok(dialog.body.indexOf('P0001 Skrivarbyte') < dialog.body.indexOf('ANNAT Annan kunds projekt'));

  const withoutJs = await kalle.get(`/cases/${ctx.kase.number}/work-order`);
  assert.match(withoutJs.body, '<h1 id="work-order-dialog-title">Skapa arbetsorder</h1>', 'a page of its own');
  assert.match(withoutJs.body, '<html');

  const refused = await kalle.post(
    `/cases/${ctx.kase.number}/work-order`,
    { project_id: '', responsible_id: String(ctx.kalle.id), name: 'Mitt eget namn', project_q: 'skriv' },
    { htmx: true },
  );
  assert.is(refused.statusCode, 422);
  assert.match(refused.body, 'Välj ett projekt.');
  assert.match(refused.body, 'value="Mitt eget namn"');
  assert.match(refused.body, 'value="skriv"');
  assert.is(await count('work_orders'), 1, 'only the one from the register');
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['status_kind', 'work_order_id'])
    .where('id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  assert.equal(kase, { status_kind: 'open', work_order_id: null });
});

test('"Create work order" makes it, links both ways, sets "Till uppdrag" and records the event', async () => {
  const kalle = await loggedIn('kalle');
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'P0001')
    .executeTakeFirstOrThrow();
  await kalle.get(`/cases/${ctx.kase.number}`);
  const res = await kalle.post(
    `/cases/${ctx.kase.number}/work-order`,
    { project_id: String(project.id), responsible_id: String(ctx.anna.id), name: 'Byt skrivare hos Acme' },
    { htmx: true },
  );
  assert.is(res.statusCode, 204);
  assert.is(res.headers['hx-redirect'], `/cases/${ctx.kase.number}`);

  const workOrder = await ctx.db
    .selectFrom('work_orders')
    .selectAll()
    .where('case_id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  assert.is(workOrder.number, 'AO00002');
  assert.is(workOrder.responsible_id, ctx.anna.id);
  assert.is(workOrder.status, 'planned');
  const kase = await ctx.db
    .selectFrom('cases')
    .innerJoin('case_statuses as s', 's.id', 'cases.status_id')
    .select(['cases.work_order_id', 's.name', 'cases.version'])
    .where('cases.id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  assert.equal(kase, { work_order_id: workOrder.id, name: 'Till uppdrag', version: ctx.kase.version + 1 });

  const casePage = await kalle.get(`/cases/${ctx.kase.number}`);
  assert.match(casePage.body, 'Arbetsorder AO00002 skapad.');
  assert.match(casePage.body, '<a href="/work-orders/AO00002">AO00002</a>');
  const history = await kalle.get(`/cases/${ctx.kase.number}/history`, { htmx: true });
  assert.match(history.body, 'Arbetsorder skapad');
  assert.match(history.body, 'AO00002');
  assert.match(history.body, 'Till uppdrag', 'the status change names the statuses');

  const overview = await kalle.get('/cases');
  assert.match(overview.body, 'href="/work-orders/AO00002"');

  const woPage = await kalle.get('/work-orders/AO00002');
  assert.match(woPage.body, `<a href="/cases/${ctx.kase.number}">${ctx.kase.number} Skrivaren fastnar</a>`);
  assert.match(woPage.body, 'Pappret fastnar i fack 2.', 'the thread summary');
  assert.match(woPage.body, '<input type="hidden" name="owner_kind" value="work_order">', 'it carries documents');
  assert.match(
    (await kalle.get('/projects/P0001')).body,
    '<input type="hidden" name="owner_kind" value="project">',
    'so does a project',
  );
});

test('a second "Create work order" shows the open one instead of making another', async () => {
  const kalle = await loggedIn('kalle');
  const again = await kalle.get(`/cases/${ctx.kase.number}/work-order`, { htmx: true });
  assert.match(again.body, 'Ärendet har redan en öppen arbetsorder');
  assert.match(again.body, 'href="/work-orders/AO00002"');
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'P0001')
    .executeTakeFirstOrThrow();
  const post = await kalle.post(`/cases/${ctx.kase.number}/work-order`, {
    project_id: String(project.id),
    responsible_id: '',
    name: 'En till',
  });
  assert.is(post.statusCode, 303);
  assert.is(post.headers.location, '/work-orders/AO00002');
  assert.match((await kalle.get('/work-orders/AO00002')).body, 'Ärendet har redan arbetsorder AO00002.');

  // Two at once: the case lock lets one through and hands the other the same work order.
  const input = { project_id: project.id, responsible_id: null, name: 'Samtidigt' };
  const second = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.acmeId);
  const [a, b] = await Promise.all([
    createWorkOrderFromCase(ctx.db, second.id, input, ctx.kalle),
    createWorkOrderFromCase(ctx.db, second.id, input, ctx.anna),
  ]);
  assert.is(a.workOrder.number, b.workOrder.number);
  assert.equal([a.created, b.created].sort(), [false, true]);
  const events = await ctx.db
    .selectFrom('case_events')
    .select('id')
    .where('case_id', '=', second.id)
    .where('kind', '=', 'work_order_created')
    .execute();
  assert.is(events.length, 1);
});

test('agents may not delete projects; admins may, but not one with work orders', async () => {
  const kalle = await loggedIn('kalle');
  const page = await kalle.get('/projects/ANNAT');
  assert.not.match(page.body, 'Ta bort projekt', 'agents are not offered the button');
  const forbidden = await kalle.post('/projects/ANNAT/deletion');
  assert.is(forbidden.statusCode, 403);

  const boss = await loggedIn('boss');
  assert.match((await boss.get('/projects/P0001')).body, 'Ta bort projekt');
  const inUse = await boss.post('/projects/P0001/deletion');
  assert.is(inUse.statusCode, 409);
  assert.match(inUse.body, 'Projektet kan inte tas bort: det har arbetsordrar (3).');
  // Its documents would go with it, so a project with documents stays too.
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('name', '=', 'Allmänt')
    .executeTakeFirstOrThrow();
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'ANNAT')
    .executeTakeFirstOrThrow();
  const document = await addDocument(ctx.db, {
    owner: { kind: 'project', id: project.id },
    folderId: folder.id,
    fileName: 'avtal.txt',
    contentType: 'text/plain',
    stream: Buffer.from('avtal'),
    user: ctx.boss,
    maxBytes: 1000,
    startApproval: startApprovalIfRequired,
  });
  await boss.get('/projects/ANNAT');
  const withDocument = await boss.post('/projects/ANNAT/deletion');
  assert.is(withDocument.statusCode, 409);
  assert.match(withDocument.body, 'Projektet kan inte tas bort: det har dokument (1).');
  await ctx.db.updateTable('documents').set({ deleted_at: new Date() }).where('id', '=', document.id).execute();

  await boss.get('/projects/ANNAT');
  const gone = await boss.post('/projects/ANNAT/deletion');
  assert.is(gone.statusCode, 303);
  assert.is(gone.headers.location, '/projects');
  assert.is(
    await ctx.db.selectFrom('projects').select('id').where('number', '=', 'ANNAT').executeTakeFirst(),
    undefined,
  );
  assert.is((await boss.get('/projects/ANNAT')).statusCode, 404);
});

test('ids past the integer range, and repeated fields, are refused as invalid (422), never a server error', async () => {
  const kalle = await loggedIn('kalle');
  const huge = '2147483648';
  const project = await createProject(
    ctx.db,
    { number: 'GRANS', name: 'Gränsfall', customer_id: null, responsible_id: null, active: true },
    ctx.kalle,
  );
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.acmeId);
  const [projects, workOrders] = [await count('projects'), await count('work_orders')];

  await kalle.get('/projects/new');
  assert.is((await kalle.post('/projects', { name: 'Stor', responsible_id: huge })).statusCode, 422);
  await kalle.get('/work-orders/new');
  assert.is((await kalle.post('/work-orders', { name: 'Stor', project_id: huge })).statusCode, 422);
  const bigResponsible = await kalle.post('/work-orders', {
    name: 'Stor',
    project_id: String(project.id),
    responsible_id: huge,
  });
  assert.is(bigResponsible.statusCode, 422);
  await kalle.get(`/cases/${kase.number}/work-order`);
  const fromCase = await kalle.post(`/cases/${kase.number}/work-order`, { name: 'Stor', project_id: huge });
  assert.is(fromCase.statusCode, 422);
  assert.match(fromCase.body, 'Välj ett projekt.');

  // qs makes a repeated field an array: customer=a&customer=b, project_q=a&project_q=b
  const repeated = (url: string, fields: string) =>
    kalle.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(kalle.csrf)}&${fields}`,
    });
  await kalle.get('/projects/new');
  const twoCustomers = await repeated('/projects', 'name=Dubbel&customer=K1001&customer=K1001');
  assert.is(twoCustomers.statusCode, 422);
  await kalle.get(`/cases/${kase.number}/work-order`);
  const twoQueries = await repeated(`/cases/${kase.number}/work-order`, 'name=X&project_id=&project_q=a&project_q=b');
  assert.is(twoQueries.statusCode, 422);
  assert.equal([await count('projects'), await count('work_orders')], [projects, workOrders], 'nothing made');
});

test('the same work-order form sent twice, in a row or at once, makes one work order and gets one answer', async () => {
  const kalle = await loggedIn('kalle');
  const project = await ctx.db
    .selectFrom('projects')
    .select('id')
    .where('number', '=', 'P0001')
    .executeTakeFirstOrThrow();
  const named = async (name: string) =>
    (await ctx.db.selectFrom('work_orders').select('number').where('name', '=', name).execute()).map((w) => w.number);
  const registerForm = async (name: string) => ({
    form_key: formKeyIn((await kalle.get('/work-orders/new')).body),
    name,
    project_id: String(project.id),
    responsible_id: '',
    status: 'planned',
    description_html: '',
  });

  const form = await registerForm('Byt valsar');
  const inARow = [await kalle.post('/work-orders', form), await kalle.post('/work-orders', form)];
  const [number] = await named('Byt valsar');
  assert.equal(await named('Byt valsar'), [number]);
  assert.equal(
    inARow.map((a) => a.headers.location),
    [`/work-orders/${number}`, `/work-orders/${number}`],
  );
  const atOnce = await registerForm('Byt valsar igen');
  const racing = await Promise.all([kalle.post('/work-orders', atOnce), kalle.post('/work-orders', atOnce)]);
  const numbers = await named('Byt valsar igen');
  assert.is(numbers.length, 1);
  assert.equal(
    racing.map((a) => a.headers.location),
    [`/work-orders/${numbers[0]}`, `/work-orders/${numbers[0]}`],
  );

  // "Create work order" on a case: the repeat gets the first answer, not "the case already has one".
  for (const together of [false, true]) {
    const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.acmeId);
    const url = `/cases/${kase.number}/work-order`;
    const caseForm = {
      form_key: formKeyIn((await kalle.get(url)).body),
      project_id: String(project.id),
      responsible_id: '',
      name: `Från ${kase.number}`,
    };
    const answers = together
      ? await Promise.all([kalle.post(url, caseForm), kalle.post(url, caseForm)])
      : [await kalle.post(url, caseForm), await kalle.post(url, caseForm)];
    assert.equal(
      answers.map((a) => [a.statusCode, a.headers.location]),
      [
        [303, `/cases/${kase.number}`],
        [303, `/cases/${kase.number}`],
      ],
    );
    assert.is((await named(`Från ${kase.number}`)).length, 1);
  }
});

test.run();
