import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import { createCustomer } from '../customers/customers.ts';
import { createDb, type Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { listDocumentDecisions } from '../documents/queries.ts';
import { storeFile } from '../files/files.ts';
import { seedUser, testConfig } from '../test-support/app.ts';
import { submitForApproval } from '../test-support/approvals.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { setUserActive } from '../users/users.ts';
import { decide, startApprovalIfRequired, withdraw } from './chains.ts';
import { countMyApprovals, findChainOfCase, listMyApprovals } from './queries.ts';

const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  config: Config;
  kalle: User;
  anna: User;
  erik: User;
  sara: User;
  boss: User;
  customerId: number;
  avtal: number;
  structureId: number;
};
const test = suite('An approval chain, from submission to publication');

async function createStructure(name: string, steps: number[][], folderId?: number): Promise<number> {
  const s = await ctx.db.insertInto('approval_structures').values({ name }).returning('id').executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('approval_structure_steps')
    .values(steps.map((approver_ids, i) => ({ structure_id: s.id, position: i + 1, approver_ids })))
    .execute();
  if (folderId)
    await ctx.db
      .updateTable('document_folders')
      .set({ approval_structure_id: s.id })
      .where('id', '=', folderId)
      .execute();
  return s.id;
}

async function createFolder(name: string): Promise<number> {
  const f = await ctx.db
    .insertInto('document_folders')
    .values({ name, position: 5 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return f.id;
}

// What the documents domain does on upload: file, document, version 1, then the chain.
async function submit(fileName: string, folderId = ctx.avtal, by = ctx.erik) {
  const { documentId, started } = await submitForApproval(ctx.db, {
    fileName,
    customerId: ctx.customerId,
    folderId,
    by,
    config: ctx.config,
  });
  return { id: documentId, started };
}

async function newVersion(documentId: string, by = ctx.erik) {
  return ctx.db.transaction().execute(async (trx) => {
    const doc = await trx
      .selectFrom('documents')
      .select(['version', 'folder_id', 'file_name'])
      .where('id', '=', documentId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const file = await storeFile(trx, {
      content: Buffer.from('v2'),
      contentType: 'application/pdf',
      createdBy: by.id,
      maxBytes: 1000,
    });
    const version = doc.version + 1;
    await trx
      .updateTable('documents')
      .set({ version, file_id: file.id, approval_state: 'none' })
      .where('id', '=', documentId)
      .execute();
    await trx
      .insertInto('document_versions')
      .values({ document_id: documentId, version, file_id: file.id, file_name: doc.file_name, created_by: by.id })
      .execute();
    return startApprovalIfRequired(trx, {
      documentId,
      folderId: doc.folder_id,
      version,
      submittedBy: by,
      config: ctx.config,
    });
  });
}

const chainOf = (documentId: string) =>
  ctx.db
    .selectFrom('approval_chains')
    .selectAll()
    .where('document_id', '=', documentId)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
const docOf = (documentId: string) =>
  ctx.db.selectFrom('documents').selectAll().where('id', '=', documentId).executeTakeFirstOrThrow();
const caseOf = (caseId: number | null) =>
  ctx.db
    .selectFrom('cases')
    .innerJoin('case_statuses', 'case_statuses.id', 'cases.status_id')
    .innerJoin('case_types', 'case_types.id', 'cases.case_type_id')
    .select([
      'cases.id',
      'cases.number',
      'cases.title',
      'cases.responsible_id',
      'cases.customer_id',
      'case_statuses.kind',
      'case_types.system_key',
    ])
    .where('cases.id', '=', caseId as number)
    .executeTakeFirstOrThrow();
const bellOf = (user: User) =>
  ctx.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).orderBy('id').execute();
const mailsTo = (user: User) =>
  ctx.db
    .selectFrom('outbox')
    .select(['subject', 'raw'])
    .where((eb) => eb('envelope_to', '@>', eb.val([user.email as string])))
    .orderBy('id')
    .execute();
const threadOf = async (caseId: number | null) =>
  (
    await ctx.db
      .selectFrom('thread_entries')
      .select('body_html')
      .where('case_id', '=', caseId as number)
      .orderBy('id')
      .execute()
  ).map((e) => e.body_html);

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, {
    db: t.db,
    url: t.url,
    drop: t.drop,
    config: testConfig({ PUBLIC_URL: 'https://casedesk.example.com' }),
  });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.erik = await seedUser(ctx.db, 'ERIK');
  ctx.sara = await seedUser(ctx.db, 'SARA');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  ctx.customerId = (await createCustomer(ctx.db, { number: 'K1001', name: 'Acme AB', email_domains: [] })).id;
  ctx.avtal = await createFolder('Avtal');
  ctx.structureId = await createStructure('Avtalsattest', [[ctx.kalle.id], [ctx.anna.id]], ctx.avtal);
});
test.after(async () => {
  await ctx.drop();
});

test('a category without a structure starts nothing and the document stays open', async () => {
  const general = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('name', '=', 'Allmänt')
    .executeTakeFirstOrThrow();
  const { id, started } = await submit('anteckning.txt', general.id);
  assert.is(started, false);
  assert.is((await docOf(id)).approval_state, 'none');
  const chains = await ctx.db.selectFrom('approval_chains').select('id').where('document_id', '=', id).execute();
  assert.is(chains.length, 0);
});

test('an inactive structure starts nothing', async () => {
  const folder = await createFolder('Offerter');
  const sid = await createStructure('Offertattest', [[ctx.kalle.id]], folder);
  await ctx.db.updateTable('approval_structures').set({ active: false }).where('id', '=', sid).execute();
  const { id, started } = await submit('offert.pdf', folder);
  assert.is(started, false);
  assert.is((await docOf(id)).approval_state, 'none');
});

test('submission locks the document and gives KALLE a document case, by bell and by mail', async () => {
  const { id, started } = await submit('avtal-acme.pdf');
  assert.is(started, true);
  assert.is((await docOf(id)).approval_state, 'pending');
  const chain = await chainOf(id);
  assert.is(chain.state, 'pending');
  assert.is(chain.current_step, 0);
  assert.equal(chain.current_approver_ids, [ctx.kalle.id]);
  assert.equal(chain.steps, [{ approverIds: [ctx.kalle.id] }, { approverIds: [ctx.anna.id] }]);
  assert.is(chain.structure_name, 'Avtalsattest');
  const kase = await caseOf(chain.case_id);
  assert.is(kase.system_key, 'document_approval');
  assert.is(kase.kind, 'open');
  assert.is(kase.responsible_id, ctx.kalle.id);
  assert.is(kase.customer_id, ctx.customerId);
  assert.is(kase.title, 'Attest: avtal-acme.pdf');
  assert.match(kase.number, /^\d{4}-\d+/);
  const thread = await threadOf(chain.case_id);
  assert.match(thread[0] ?? '', 'Erik Testsson lämnade avtal-acme.pdf (version 1) för attest');
  assert.match(thread[0] ?? '', 'steg 1 av 2: KALLE');
  assert.match(thread[0] ?? '', `href="/documents/${id}"`);
  const bell = await bellOf(ctx.kalle);
  assert.is(bell.at(-1)?.link, `/cases/${kase.number}`);
  const mail = (await mailsTo(ctx.kalle)).at(-1);
  assert.match(mail?.subject ?? '', 'Att attestera: avtal-acme.pdf');
  assert.match(mail?.raw?.toString() ?? '', 'steg 1 av 2');
  assert.is(await countMyApprovals(ctx.db, ctx.kalle.id), 1);
  assert.is(await countMyApprovals(ctx.db, ctx.anna.id), 0);
  const mine = await listMyApprovals(ctx.db, ctx.kalle.id);
  assert.is(mine[0]?.file_name, 'avtal-acme.pdf');
  assert.is(mine[0]?.place?.href, `/customers/${ctx.customerId}`);
});

test('the document case belongs to the customer of where the document lies: case, project, work order', async () => {
  const other = await createCustomer(ctx.db, { number: 'K2002', name: 'Beta AB', email_domains: [] });
  const status = await ctx.db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow();
  const type = await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  const kase = await ctx.db
    .insertInto('cases')
    .values({ number: 'X-1', title: 'Ett ärende', customer_id: other.id, status_id: status.id, case_type_id: type.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  const project = await ctx.db
    .insertInto('projects')
    .values({ number: 'P-1', name: 'Bygget', customer_id: other.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  const workOrder = await ctx.db
    .insertInto('work_orders')
    .values({ number: 'A-1', name: 'Montering', project_id: project.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const owner of [{ case_id: kase.id }, { project_id: project.id }, { work_order_id: workOrder.id }]) {
    const documentId = await ctx.db.transaction().execute(async (trx) => {
      const file = await storeFile(trx, {
        content: Buffer.from('x'),
        contentType: 'application/pdf',
        createdBy: null,
        maxBytes: 10,
      });
      const doc = await trx
        .insertInto('documents')
        .values({ ...owner, folder_id: ctx.avtal, file_id: file.id, file_name: 'x.pdf', created_by: ctx.erik.id })
        .returning('id')
        .executeTakeFirstOrThrow();
      await startApprovalIfRequired(trx, {
        documentId: doc.id,
        folderId: ctx.avtal,
        version: 1,
        submittedBy: ctx.erik,
      });
      return doc.id;
    });
    assert.is((await caseOf((await chainOf(documentId)).case_id)).customer_id, other.id, Object.keys(owner)[0]);
  }
});

test('KALLE then ANNA approve: published, case closed, uploader told, decisions kept', async () => {
  const { id } = await submit('ramavtal.pdf');
  const chain = await chainOf(id);
  const wrong = await decide(
    ctx.db,
    chain.id,
    ctx.anna,
    { decision: 'approve', comment: '', step: 0 },
    { config: ctx.config },
  );
  assert.equal(wrong, { ok: false, reason: 'not_approver' });

  const first = await decide(
    ctx.db,
    chain.id,
    ctx.kalle,
    { decision: 'approve', comment: 'Ser bra ut', step: 0 },
    { config: ctx.config },
  );
  assert.ok(first.ok);
  let now = await chainOf(id);
  assert.is(now.current_step, 1);
  assert.equal(now.current_approver_ids, [ctx.anna.id]);
  assert.is((await docOf(id)).approval_state, 'pending');
  assert.is((await caseOf(chain.case_id)).responsible_id, ctx.anna.id);
  assert.match((await mailsTo(ctx.anna)).at(-1)?.subject ?? '', 'Att attestera: ramavtal.pdf');
  const thread = await threadOf(chain.case_id);
  assert.ok(thread.some((e) => e.includes('KALLE godkände steg 1 av 2.')));
  assert.ok(thread.some((e) => e.includes('Kommentar: Ser bra ut')));
  assert.ok(thread.some((e) => e.includes('Nu: steg 2 av 2: ANNA.')));

  const last = await decide(
    ctx.db,
    chain.id,
    ctx.anna,
    { decision: 'approve', comment: '', step: 1 },
    { config: ctx.config },
  );
  assert.ok(last.ok);
  now = await chainOf(id);
  assert.is(now.state, 'approved');
  assert.ok(now.finished_at);
  assert.equal(now.current_approver_ids, []);
  assert.is((await docOf(id)).approval_state, 'approved');
  assert.is((await caseOf(chain.case_id)).kind, 'closed');
  assert.ok((await bellOf(ctx.erik)).some((n) => n.kind === 'approval_approved' && n.link === `/documents/${id}`));
  assert.match((await mailsTo(ctx.erik)).at(-1)?.subject ?? '', 'Godkänt: ramavtal.pdf');
  const decisions = await listDocumentDecisions(ctx.db, id);
  assert.equal(
    decisions.map((d) => [d.user_login, d.decision, d.step, d.document_version, d.comment]),
    [
      ['KALLE', 'approve', 0, 1, 'Ser bra ut'],
      ['ANNA', 'approve', 1, 1, ''],
    ],
  );
  const again = await decide(ctx.db, chain.id, ctx.anna, { decision: 'approve', comment: '', step: 1 });
  assert.equal(again, { ok: false, reason: 'already_decided' });
});

test('send back: uploader gets the comment; a new version restarts at step 1 in the same case', async () => {
  const { id } = await submit('hyresavtal.pdf');
  const chain = await chainOf(id);
  await decide(ctx.db, chain.id, ctx.kalle, { decision: 'approve', comment: '', step: 0 }, { config: ctx.config });
  const noComment = await decide(ctx.db, chain.id, ctx.anna, { decision: 'send_back', comment: '  ', step: 1 });
  assert.equal(noComment, { ok: false, reason: 'comment_required' });
  const back = await decide(
    ctx.db,
    chain.id,
    ctx.anna,
    { decision: 'send_back', comment: 'Fel belopp i 4.2', step: 1 },
    { config: ctx.config },
  );
  assert.ok(back.ok);
  assert.is((await chainOf(id)).state, 'sent_back');
  assert.is((await docOf(id)).approval_state, 'sent_back');
  assert.is((await caseOf(chain.case_id)).kind, 'closed');
  const bell = (await bellOf(ctx.erik)).at(-1);
  assert.is(bell?.kind, 'approval_sent_back');
  assert.match(bell?.summary ?? '', 'Fel belopp i 4.2');
  const mail = (await mailsTo(ctx.erik)).at(-1);
  assert.match(mail?.subject ?? '', 'Skickat tillbaka: hyresavtal.pdf');
  assert.match(mail?.raw?.toString() ?? '', 'Fel belopp i 4.2');

  const restarted = await newVersion(id);
  assert.is(restarted.started, true);
  const second = await chainOf(id);
  assert.is.not(second.id, chain.id);
  assert.is(second.document_version, 2);
  assert.is(second.current_step, 0);
  assert.equal(second.current_approver_ids, [ctx.kalle.id]);
  assert.is(second.case_id, chain.case_id, 'the same document case');
  // the uploader's answer to the send-back is in the history
  assert.equal(
    (await listDocumentDecisions(ctx.db, id)).map((d) => [d.user_login, d.decision, d.document_version]),
    [
      ['KALLE', 'approve', 1],
      ['ANNA', 'send_back', 1],
      ['ERIK', 'resubmit', 2],
    ],
  );
  const kase = await caseOf(second.case_id);
  assert.is(kase.kind, 'open');
  assert.is(kase.responsible_id, ctx.kalle.id);
  assert.is((await docOf(id)).approval_state, 'pending');
  const cases = await ctx.db.selectFrom('approval_chains').select('case_id').where('document_id', '=', id).execute();
  assert.is(new Set(cases.map((c) => c.case_id)).size, 1);
  // the old chain's withdraw is moot now
  assert.equal(await withdraw(ctx.db, chain.id, ctx.erik), { ok: false, reason: 'already_decided' });
  const panel = await findChainOfCase(ctx.db, kase.id);
  assert.is(panel?.id, second.id);
  assert.is(panel?.approvers[0]?.login, 'KALLE');
});

test('withdraw: only the uploader, only when sent back; the document is gone', async () => {
  const { id } = await submit('utkast.pdf');
  const chain = await chainOf(id);
  assert.equal(await withdraw(ctx.db, chain.id, ctx.erik), { ok: false, reason: 'locked' });
  await decide(ctx.db, chain.id, ctx.kalle, { decision: 'send_back', comment: 'Saknar bilaga', step: 0 });
  assert.equal(await withdraw(ctx.db, chain.id, ctx.kalle), { ok: false, reason: 'not_submitter' });
  const done = await withdraw(ctx.db, chain.id, ctx.erik);
  assert.ok(done.ok);
  const doc = await docOf(id);
  assert.is(doc.approval_state, 'withdrawn');
  assert.ok(doc.deleted_at);
  assert.is((await chainOf(id)).state, 'withdrawn');
  const decisions = await listDocumentDecisions(ctx.db, id);
  assert.equal(
    decisions.map((d) => [d.user_login, d.decision]),
    [
      ['KALLE', 'send_back'],
      ['ERIK', 'withdraw'],
    ],
  );
});

test('two approvers of one step deciding at once, on two connections: one effect, one "already decided"', async () => {
  const folder = await createFolder('Fakturor');
  await createStructure('Fakturaattest', [[ctx.kalle.id, ctx.anna.id], [ctx.sara.id]], folder);
  const { id } = await submit('faktura.pdf', folder);
  const chain = await chainOf(id);
  const other = createDb(ctx.url, 2);
  try {
    const results = await Promise.all([
      decide(ctx.db, chain.id, ctx.kalle, { decision: 'approve', comment: '', step: 0 }),
      decide(other, chain.id, ctx.anna, { decision: 'send_back', comment: 'Nej', step: 0 }),
    ]);
    assert.is(results.filter((r) => r.ok).length, 1);
    assert.equal(
      results.filter((r) => !r.ok),
      [{ ok: false, reason: 'already_decided' }],
    );
  } finally {
    await other.destroy();
  }
  const decisions = await listDocumentDecisions(ctx.db, id);
  assert.is(decisions.length, 1);
  // and a double click by the same approver
  const now = await chainOf(id);
  if (now.state === 'pending') {
    const clicks = await Promise.all([
      decide(ctx.db, chain.id, ctx.sara, { decision: 'approve', comment: '', step: 1 }),
      decide(ctx.db, chain.id, ctx.sara, { decision: 'approve', comment: '', step: 1 }),
    ]);
    assert.is(clicks.filter((r) => r.ok).length, 1);
    assert.is((await listDocumentDecisions(ctx.db, id)).length, 2);
  }
});

test('an approver deactivated mid-chain: the step goes to the admins, who are told', async () => {
  const folder = await createFolder('Intyg');
  await createStructure('Intygsattest', [[ctx.sara.id], [ctx.kalle.id]], folder);
  const { id } = await submit('intyg.pdf', folder);
  const chain = await chainOf(id);
  const before = (await bellOf(ctx.boss)).length;
  const mailsBefore = (await mailsTo(ctx.boss)).length;
  await setUserActive(ctx.db, ctx.sara.id, false, ctx.config);
  const now = await chainOf(id);
  assert.is(now.state, 'pending');
  assert.is(now.current_step, 0);
  assert.equal(now.current_approver_ids, [ctx.boss.id]);
  assert.is((await caseOf(chain.case_id)).responsible_id, ctx.boss.id);
  assert.is((await bellOf(ctx.boss)).length, before + 1);
  const mails = await mailsTo(ctx.boss);
  assert.is(mails.length, mailsBefore + 1, 'the admin hears of it by e-mail too');
  assert.match(mails.at(-1)?.raw?.toString() ?? '', 'intyg.pdf');
  const decisions = await listDocumentDecisions(ctx.db, id);
  assert.equal(
    decisions.map((d) => [d.decision, d.user_login]),
    [['reassign', null]],
  );
  assert.ok((await threadOf(chain.case_id)).some((e) => e.includes('steget går till administratörerna')));
  // SARA can no longer decide; the admin can
  assert.equal(await decide(ctx.db, chain.id, ctx.sara, { decision: 'approve', comment: '', step: 0 }), {
    ok: false,
    reason: 'not_approver',
  });
  assert.ok((await decide(ctx.db, chain.id, ctx.boss, { decision: 'approve', comment: '', step: 0 })).ok);
  assert.equal((await chainOf(id)).current_approver_ids, [ctx.kalle.id]);
  await setUserActive(ctx.db, ctx.sara.id, true);
});

test('deactivating one of two approvers of a step leaves it with the other', async () => {
  const folder = await createFolder('Protokoll');
  await createStructure('Protokollattest', [[ctx.sara.id, ctx.anna.id]], folder);
  const { id } = await submit('protokoll.pdf', folder);
  await setUserActive(ctx.db, ctx.sara.id, false);
  const chain = await chainOf(id);
  assert.equal(chain.current_approver_ids, [ctx.anna.id]);
  assert.is((await caseOf(chain.case_id)).responsible_id, ctx.anna.id);
  assert.is((await listDocumentDecisions(ctx.db, id)).length, 0);
  await setUserActive(ctx.db, ctx.sara.id, true);
});

test('a step whose approvers are all inactive at submission starts with the admins', async () => {
  const folder = await createFolder('Ritningar');
  await createStructure('Ritningsattest', [[ctx.sara.id]], folder);
  await setUserActive(ctx.db, ctx.sara.id, false);
  const { id } = await submit('ritning.pdf', folder);
  const chain = await chainOf(id);
  assert.equal(chain.current_approver_ids, [ctx.boss.id]);
  assert.is((await caseOf(chain.case_id)).responsible_id, ctx.boss.id);
  await setUserActive(ctx.db, ctx.sara.id, true);
});

test('a structure edited mid-chain: the running chain keeps its old steps', async () => {
  const folder = await createFolder('Policyer');
  const sid = await createStructure('Policyattest', [[ctx.kalle.id], [ctx.anna.id]], folder);
  const { id } = await submit('policy.pdf', folder);
  const chain = await chainOf(id);
  await ctx.db.deleteFrom('approval_structure_steps').where('structure_id', '=', sid).execute();
  await ctx.db
    .insertInto('approval_structure_steps')
    .values({ structure_id: sid, position: 1, approver_ids: [ctx.sara.id] })
    .execute();
  await ctx.db.updateTable('approval_structures').set({ name: 'Ny policyattest' }).where('id', '=', sid).execute();
  await decide(ctx.db, chain.id, ctx.kalle, { decision: 'approve', comment: '', step: 0 });
  const now = await chainOf(id);
  assert.is(now.structure_name, 'Policyattest');
  assert.equal(now.current_approver_ids, [ctx.anna.id], 'the old second step, not SARA');
  assert.ok((await decide(ctx.db, chain.id, ctx.anna, { decision: 'approve', comment: '', step: 1 })).ok);
  assert.is((await docOf(id)).approval_state, 'approved');
  // the next document follows the new structure
  const next = await submit('policy-2.pdf', folder);
  assert.equal((await chainOf(next.id)).current_approver_ids, [ctx.sara.id]);
});

test.run();
