// The approval chain's writes (issue 8, A2–A5): start a chain when a document lands in a
// category with a structure, record decisions, withdraw, and hand orphaned steps to the admins.
// Every change reads the chain under a row lock, asks rules.ts, and carries out its effects.

import { applyCaseEvent } from '../cases/case-events.ts';
import { changeCaseFields, createCaseRecord, markCaseActive } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case, Language, SystemTextLine, User } from '../db/schema.ts';
import { removeWithdrawnDocument, type StoredVersion, setApprovalState } from '../documents/documents.ts';
import { approvalChainColumns, type LatestChain } from '../documents/queries.ts';
import { parseBigId } from '../forms/form.ts';
import { type Translate, translator } from '../i18n/i18n.ts';
import { absoluteUrl, queueSystemMail } from '../mail/outbound/system-mail.ts';
import { notifyUser } from '../notifications/notifications.ts';
import { addThreadEntry } from '../threads/entries.ts';
import { systemText, systemTextHtml } from '../threads/system-text.ts';
import { findDocumentCustomerId, findFolderStructure, loadPeople } from './queries.ts';
import { type ChainAction, type ChainEffect, type ChainState, type Refusal, startChain, transition } from './rules.ts';

export type ActionOptions = { config?: Config; language?: Language };

// the chain row as the documents domain reads it too
type ChainRow = LatestChain;

type DocumentRow = {
  id: string;
  file_name: string;
  case_id: number | null;
  customer_id: number | null;
  project_id: number | null;
  work_order_id: number | null;
  deleted_at: Date | null;
};

type CaseRow = {
  id: number;
  number: string;
  title: string;
  responsible_id: number | null;
  status_id: number;
  version: number;
};

const caseRowColumns = ['id', 'number', 'title', 'responsible_id', 'status_id', 'version'] as const;

// Called inside the transaction that stored a document or a new version of it: the documents
// domain's StartApproval, handed to it by app.ts (and by scripts and tests that store documents).
// When the document's folder has an approval structure, locks the document (approval_state
// 'pending'), snapshots the structure's steps into a new approval_chains row and opens (or
// reopens) the document case for the first approver, with notifications. Returns whether a chain
// started.
export async function startApprovalIfRequired(trx: Db, input: StoredVersion): Promise<{ started: boolean }> {
  const structure = await findFolderStructure(trx, input.folderId);
  if (!structure) return { started: false };

  const doc = await trx
    .selectFrom('documents')
    .select(['id', 'file_name', 'case_id', 'customer_id', 'project_id', 'work_order_id', 'deleted_at'])
    .where('id', '=', input.documentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  // The same document's previous chains: a running one means it is locked (the documents domain
  // refuses new versions then); a finished one lends its case, so one case follows the document.
  const previous = await trx
    .selectFrom('approval_chains')
    .select(['id', 'state', 'case_id'])
    .where('document_id', '=', input.documentId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (previous?.state === 'pending') throw new Error(`Document ${input.documentId} is already awaiting approval`);

  const people = await loadPeople(trx);
  const start = startChain(structure.steps, people);
  if (!start.ok || start.state.kind !== 'pending') throw new Error('An approval chain could not start');
  const language = input.language ?? input.config?.defaultLanguage ?? 'sv';
  const t = translator(language);

  const existingCase = previous?.case_id
    ? await trx
        .selectFrom('cases')
        .select(caseRowColumns)
        .where('id', '=', previous.case_id)
        .forUpdate()
        .executeTakeFirst()
    : undefined;
  const kase = existingCase
    ? await reopenDocumentCase(trx, existingCase, doc, input.submittedBy, t)
    : await openDocumentCase(trx, doc, input.submittedBy, start.state.approverIds[0] as number, t);

  const chain = await trx
    .insertInto('approval_chains')
    .values({
      document_id: doc.id,
      document_version: input.version,
      structure_id: structure.id,
      structure_name: structure.name,
      steps: JSON.stringify(structure.steps),
      current_step: 0,
      current_approver_ids: start.state.approverIds,
      state: 'pending',
      case_id: kase.id,
      submitted_by: input.submittedBy.id,
    })
    .returning(approvalChainColumns)
    .executeTakeFirstOrThrow();

  if (previous?.state === 'sent_back') {
    // the uploader's answer to the send-back, kept in the history like a withdrawal would be
    await trx
      .insertInto('approval_decisions')
      .values({
        chain_id: chain.id,
        document_id: doc.id,
        document_version: input.version,
        step: 0,
        user_id: input.submittedBy.id,
        decision: 'resubmit',
      })
      .execute();
  }
  const approverNames = await namesOf(trx, start.state.approverIds);
  await writeSystemEntry(trx, kase, input.submittedBy, t, [
    {
      key: 'approvals.thread.submitted',
      params: { actor: input.submittedBy.name, name: doc.file_name, version: input.version, structure: structure.name },
    },
    { key: 'approvals.thread.now', params: { step: 1, steps: structure.steps.length, approvers: approverNames } },
    { key: 'approvals.open_document', href: `/documents/${doc.id}` },
  ]);
  await carryOut(trx, { chain, doc, kase, actor: input.submittedBy, config: input.config, language }, start.effects);
  return { started: true };
}

export type DecisionInput = { decision: 'approve' | 'send_back'; comment: string; step: number };
export type ChainOutcome =
  | { ok: true; state: ChainState; documentId: string }
  | { ok: false; reason: Refusal | 'not_found' };

// An approver's Approve or Send back (A3, A4). The chain row is locked for the transaction, so
// of two decisions on the same step (a double click, two approvers at once) the second one
// sees the step already moved on and is refused as already decided, changing nothing.
export async function decide(
  db: Db,
  chainId: string,
  user: User,
  input: DecisionInput,
  opts: ActionOptions = {},
): Promise<ChainOutcome> {
  const action: ChainAction =
    input.decision === 'approve'
      ? { type: 'approve', userId: user.id, step: input.step, comment: input.comment }
      : { type: 'send_back', userId: user.id, step: input.step, comment: input.comment };
  return applyAction(db, chainId, user, action, opts);
}

// The uploader gives up on a sent-back document: it is gone from every list, the record stays.
export async function withdraw(db: Db, chainId: string, user: User, opts: ActionOptions = {}): Promise<ChainOutcome> {
  return applyAction(db, chainId, user, { type: 'withdraw', userId: user.id }, opts);
}

async function applyAction(
  db: Db,
  chainId: string,
  user: User,
  action: ChainAction,
  { config, language: actorLanguage }: ActionOptions,
): Promise<ChainOutcome> {
  if (parseBigId(String(chainId)) === null) return { ok: false, reason: 'not_found' };
  return db.transaction().execute(async (trx) => {
    const chain = await trx
      .selectFrom('approval_chains')
      .select(approvalChainColumns)
      .where('id', '=', chainId)
      .forUpdate()
      .executeTakeFirst();
    if (!chain) return { ok: false, reason: 'not_found' } as const;
    // a withdrawal names the sent-back chain; once a new version started a newer one, it is moot
    if (action.type === 'withdraw') {
      const newer = await trx
        .selectFrom('approval_chains')
        .select('id')
        .where('document_id', '=', chain.document_id)
        .where('id', '>', chain.id)
        .executeTakeFirst();
      if (newer) return { ok: false, reason: 'already_decided' } as const;
    }
    const people = await loadPeople(trx);
    const result = transition(factsOf(chain), action, people);
    if (!result.ok) return result;
    const doc = await loadDocument(trx, chain.document_id);
    const kase = await loadCase(trx, chain.case_id);
    const language = actorLanguage ?? config?.defaultLanguage ?? 'sv';
    await saveChainState(trx, chain.id, result.state);
    await carryOut(trx, { chain, doc, kase, actor: user, config, language }, result.effects);
    return { ok: true, state: result.state, documentId: chain.document_id } as const;
  });
}

// Called in the transaction that deactivates a user: each running chain waiting for them moves
// to the step's other active approvers, or, when none is left, to the active admins (notified).
export async function reassignApprovalsOfDeactivatedUser(trx: Db, userId: number, config?: Config): Promise<number> {
  const chains = await trx
    .selectFrom('approval_chains')
    .select(approvalChainColumns)
    .where('state', '=', 'pending')
    .where((eb) => eb('current_approver_ids', '@>', eb.val([userId])))
    .orderBy('id')
    // a decision racing the deactivation waits, then finds the step's new approvers
    .forUpdate()
    .execute();
  if (!chains.length) return 0;
  const people = await loadPeople(trx);
  for (const chain of chains) {
    const result = transition(factsOf(chain), { type: 'approver_deactivated', userId }, people);
    if (!result.ok || !result.effects.length) continue;
    const doc = await loadDocument(trx, chain.document_id);
    const kase = await loadCase(trx, chain.case_id);
    await saveChainState(trx, chain.id, result.state);
    await carryOut(
      trx,
      { chain, doc, kase, actor: null, config, language: config?.defaultLanguage ?? 'sv' },
      result.effects,
    );
  }
  return chains.length;
}

function factsOf(chain: ChainRow) {
  const state: ChainState =
    chain.state === 'pending'
      ? { kind: 'pending', step: chain.current_step, approverIds: chain.current_approver_ids }
      : chain.state === 'sent_back'
        ? { kind: 'sent_back', step: chain.current_step }
        : { kind: chain.state };
  return { state, steps: chain.steps, submittedBy: chain.submitted_by };
}

async function saveChainState(trx: Db, chainId: string, state: ChainState): Promise<void> {
  const finished = state.kind !== 'pending';
  await trx
    .updateTable('approval_chains')
    .set({
      state: state.kind,
      ...(state.kind === 'pending' || state.kind === 'sent_back' ? { current_step: state.step } : {}),
      current_approver_ids: state.kind === 'pending' ? state.approverIds : [],
      ...(finished ? { finished_at: new Date() } : {}),
    })
    .where('id', '=', chainId)
    .execute();
}

async function loadDocument(trx: Db, documentId: string): Promise<DocumentRow> {
  return trx
    .selectFrom('documents')
    .select(['id', 'file_name', 'case_id', 'customer_id', 'project_id', 'work_order_id', 'deleted_at'])
    .where('id', '=', documentId)
    .executeTakeFirstOrThrow();
}

async function loadCase(trx: Db, caseId: number | null): Promise<CaseRow | null> {
  if (!caseId) return null;
  const row = await trx
    .selectFrom('cases')
    .select(caseRowColumns)
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirst();
  return row ?? null;
}

const caseTitle = (t: ReturnType<typeof translator>, fileName: string) =>
  t('approvals.case_title', { name: fileName }).slice(0, 200);

// The document case (A3): type "Dokumentattest", for the customer of where the document lies.
async function openDocumentCase(
  trx: Db,
  doc: DocumentRow,
  submittedBy: User,
  responsibleId: number,
  t: ReturnType<typeof translator>,
): Promise<CaseRow> {
  const type = await trx
    .selectFrom('case_types')
    .select('id')
    .where('system_key', '=', 'document_approval')
    .executeTakeFirst();
  if (!type) throw new Error('The case type for document approval (system_key document_approval) is missing');
  const created = await createCaseRecord(
    trx,
    {
      title: caseTitle(t, doc.file_name),
      customer_id: await findDocumentCustomerId(trx, doc),
      responsible_id: responsibleId,
      case_type_id: type.id,
      created_by: submittedBy.id,
    },
    submittedBy,
  );
  return pickCaseRow(created);
}

// A new version after a send back (or after publication) goes through the same case again.
async function reopenDocumentCase(
  trx: Db,
  kase: CaseRow,
  doc: DocumentRow,
  submittedBy: User,
  t: ReturnType<typeof translator>,
): Promise<CaseRow> {
  await applyCaseEvent(trx, kase.id, { type: 'approval_opened' }, submittedBy);
  return updateDocumentCase(trx, kase, { title: caseTitle(t, doc.file_name) }, submittedBy);
}

// The document case's header, changed like an agent's edit would (src/cases does the writing);
// the in-memory row follows, since later effects of the same action read it.
async function updateDocumentCase(
  trx: Db,
  kase: CaseRow,
  change: { responsible_id?: number; title?: string },
  actor: User | null,
): Promise<CaseRow> {
  const updated = await changeCaseFields(trx, kase.id, change, actor);
  Object.assign(kase, pickCaseRow(updated));
  return kase;
}

const pickCaseRow = (c: Case): CaseRow => ({
  id: c.id,
  number: c.number,
  title: c.title,
  responsible_id: c.responsible_id,
  status_id: c.status_id,
  version: c.version,
});

// A line in the document case's thread, written by the system on someone's behalf. It is kept as
// message keys and parameters, so each reader sees it in their own language; body_html holds it
// in the writer's (t), for whatever reads only HTML.
async function writeSystemEntry(
  trx: Db,
  kase: CaseRow,
  actor: User | null,
  t: Translate,
  lines: SystemTextLine[],
): Promise<void> {
  const text = systemText('approval', lines);
  await addThreadEntry(trx, {
    case_id: kase.id,
    side: 'system',
    user_id: actor?.id ?? null,
    author_name: actor?.name ?? 'Casedesk',
    body_html: systemTextHtml(text, t),
    system_text: JSON.stringify(text),
  });
  await markCaseActive(trx, kase.id);
}

async function namesOf(trx: Db, userIds: number[]): Promise<string> {
  if (!userIds.length) return '';
  const rows = await trx.selectFrom('users').select(['id', 'login']).where('id', 'in', userIds).execute();
  return userIds.map((id) => rows.find((r) => r.id === id)?.login ?? String(id)).join(', ');
}

type Context = {
  chain: ChainRow;
  doc: DocumentRow;
  kase: CaseRow | null;
  // null: the system (a deactivation)
  actor: User | null;
  config: Config | undefined;
  language: Language;
};

// Writes what rules.ts decided, in its order.
async function carryOut(trx: Db, ctx: Context, effects: ChainEffect[]): Promise<void> {
  const t = translator(ctx.language);
  const steps = ctx.chain.steps.length;
  for (const effect of effects) {
    switch (effect.type) {
      case 'record_decision': {
        await trx
          .insertInto('approval_decisions')
          .values({
            chain_id: ctx.chain.id,
            document_id: ctx.chain.document_id,
            document_version: ctx.chain.document_version,
            step: effect.step,
            user_id: effect.userId,
            decision: effect.decision,
            comment: effect.comment,
          })
          .execute();
        if (!ctx.kase) break;
        const params = { actor: ctx.actor?.login ?? '', step: effect.step + 1, steps, name: ctx.doc.file_name };
        const lines: SystemTextLine[] = [{ key: `approvals.thread.${effect.decision}`, params }];
        if (effect.comment) lines.push({ key: 'approvals.thread.comment', params: { comment: effect.comment } });
        if (effect.decision === 'reassign') {
          const admins = await loadPeople(trx);
          const approvers = await namesOf(trx, [...admins.adminIds]);
          lines.push({ key: 'approvals.thread.now', params: { step: effect.step + 1, steps, approvers } });
        }
        await writeSystemEntry(trx, ctx.kase, ctx.actor, t, lines);
        break;
      }
      case 'set_document_state':
        await setApprovalState(trx, ctx.doc.id, effect.state);
        if (effect.state === 'approved' && ctx.kase)
          await writeSystemEntry(trx, ctx.kase, ctx.actor, t, [
            { key: 'approvals.thread.published', params: { name: ctx.doc.file_name } },
            { key: 'approvals.open_document', href: `/documents/${ctx.doc.id}` },
          ]);
        break;
      case 'remove_document':
        await removeWithdrawnDocument(trx, ctx.doc.id);
        break;
      case 'assign_case':
        if (ctx.kase) await updateDocumentCase(trx, ctx.kase, { responsible_id: effect.userId }, ctx.actor);
        break;
      case 'close_case':
        if (ctx.kase) {
          const closed = await applyCaseEvent(trx, ctx.kase.id, { type: 'approval_closed' }, ctx.actor);
          Object.assign(ctx.kase, { status_id: closed.statusId });
        }
        break;
      case 'notify_approvers':
      case 'notify_admins': {
        // the approvers of a later step hear it in the thread as well
        if (effect.type === 'notify_approvers' && effect.step > 0 && ctx.kase)
          await writeSystemEntry(trx, ctx.kase, ctx.actor, t, [
            {
              key: 'approvals.thread.now',
              params: { step: effect.step + 1, steps, approvers: await namesOf(trx, effect.userIds) },
            },
          ]);
        for (const userId of effect.userIds) {
          if (userId === ctx.actor?.id) continue;
          await notifyApprover(trx, ctx, userId, effect.step, effect.type === 'notify_admins');
        }
        break;
      }
      case 'notify_submitter':
        if (ctx.chain.submitted_by && ctx.chain.submitted_by !== ctx.actor?.id)
          await notifySubmitter(trx, ctx, ctx.chain.submitted_by, effect.outcome, effect.comment);
        break;
      case 'start_chain':
        // the documents domain stores the new version and calls startApprovalIfRequired itself
        break;
    }
  }
}

type Recipient = {
  email: string | null;
  language: Language | null;
  active: boolean;
  email_on_assigned: boolean;
};

async function findRecipient(trx: Db, userId: number): Promise<Recipient | undefined> {
  return trx
    .selectFrom('users')
    .select(['email', 'language', 'active', 'email_on_assigned'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

// The approver's turn: the case is theirs (the bell says so), and a mail names the document.
// The chain hands the case on, not the person whose action moved it, so both come from the
// system (issue 15, item 10): the bell says "System made you responsible", the mail's body
// names who submitted the document.
async function notifyApprover(trx: Db, ctx: Context, userId: number, step: number, asAdmin: boolean): Promise<void> {
  if (ctx.kase) {
    await notifyUser(
      trx,
      {
        userId,
        actorId: null,
        kind: 'assigned',
        caseId: ctx.kase.id,
        summary: `${ctx.kase.number} ${ctx.kase.title}`,
        link: `/cases/${ctx.kase.number}`,
      },
      // the approval's own mail below replaces the generic "you are responsible" one
      { config: undefined },
    );
  }
  const recipient = await findRecipient(trx, userId);
  if (!ctx.config || !recipient?.active || !recipient.email || !recipient.email_on_assigned) return;
  const t = translator(recipient.language ?? ctx.config.defaultLanguage);
  const submitter = ctx.chain.submitted_by
    ? await trx.selectFrom('users').select('name').where('id', '=', ctx.chain.submitted_by).executeTakeFirst()
    : undefined;
  const params = {
    submitter: submitter?.name ?? t('history.system'),
    name: ctx.doc.file_name,
    step: step + 1,
    steps: ctx.chain.steps.length,
  };
  await queueSystemMail(trx, ctx.config, {
    kind: 'notification',
    to: recipient.email,
    subject: t(asAdmin ? 'approvals.mail.admin_subject' : 'approvals.mail.request_subject', params),
    paragraphs: [
      { text: t(asAdmin ? 'approvals.mail.admin_body' : 'approvals.mail.request_body', params) },
      ...(ctx.kase
        ? [{ text: t('approvals.mail.open_case'), href: absoluteUrl(ctx.config, `/cases/${ctx.kase.number}`) }]
        : []),
      { text: t('notifymail.why'), href: absoluteUrl(ctx.config, '/account'), small: true },
    ],
    kase: ctx.kase,
    actorId: null,
  });
}

// The uploader hears the outcome: sent back with the comment, or published.
async function notifySubmitter(
  trx: Db,
  ctx: Context,
  userId: number,
  outcome: 'approved' | 'sent_back',
  comment: string,
): Promise<void> {
  const link = `/documents/${ctx.doc.id}`;
  const summary = outcome === 'sent_back' && comment ? `${ctx.doc.file_name}: ${comment}` : ctx.doc.file_name;
  // Not a kind notifyUser knows (its kinds pick its mail texts); the bell shows it all the same.
  await trx
    .insertInto('notifications')
    .values({
      user_id: userId,
      actor_id: ctx.actor?.id ?? null,
      kind: `approval_${outcome}`,
      case_id: ctx.kase?.id ?? null,
      summary: summary.slice(0, 500),
      link,
    })
    .execute();
  const recipient = await findRecipient(trx, userId);
  if (!ctx.config || !recipient?.active || !recipient.email) return;
  const t = translator(recipient.language ?? ctx.config.defaultLanguage);
  const params = { actor: ctx.actor?.name ?? t('history.system'), name: ctx.doc.file_name, comment };
  await queueSystemMail(trx, ctx.config, {
    kind: 'notification',
    to: recipient.email,
    subject: t(`approvals.mail.${outcome}_subject`, params),
    paragraphs: [
      { text: t(`approvals.mail.${outcome}_body`, params) },
      ...(comment ? [{ text: comment }] : []),
      { text: t('approvals.mail.open_document'), href: absoluteUrl(ctx.config, link) },
      { text: t('notifymail.why'), href: absoluteUrl(ctx.config, '/account'), small: true },
    ],
    kase: ctx.kase,
    actorId: ctx.actor?.id ?? null,
  });
}
