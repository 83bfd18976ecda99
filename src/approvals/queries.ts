import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ApprovalChainStep } from '../db/schema.ts';
import { findOwnerPlace, ownerOf } from '../documents/owners.ts';
import { parseBigId } from '../forms/form.ts';
import type { People } from './rules.ts';

// The active structure of a document category, with its steps in order; null when the
// category has none (or it is switched off, or has no steps), so no chain starts.
export async function findFolderStructure(
  db: Db,
  folderId: number,
): Promise<{ id: number; name: string; steps: ApprovalChainStep[] } | null> {
  const structure = await db
    .selectFrom('document_folders')
    .innerJoin('approval_structures', 'approval_structures.id', 'document_folders.approval_structure_id')
    .select(['approval_structures.id', 'approval_structures.name'])
    .where('document_folders.id', '=', folderId)
    .where('approval_structures.active', '=', true)
    .executeTakeFirst();
  if (!structure) return null;
  const steps = await db
    .selectFrom('approval_structure_steps')
    .select('approver_ids')
    .where('structure_id', '=', structure.id)
    .orderBy('position')
    .execute();
  if (!steps.length) return null;
  return { ...structure, steps: steps.map((s) => ({ approverIds: s.approver_ids })) };
}

export async function loadPeople(db: Db): Promise<People> {
  const users = await db.selectFrom('users').select(['id', 'role']).where('active', '=', true).orderBy('id').execute();
  return {
    activeUserIds: users.map((u) => u.id),
    adminIds: users.filter((u) => u.role === 'admin').map((u) => u.id),
  };
}

// The customer of where a document lies: the case's, the customer itself, or the project's
// (directly or through the work order). The document case belongs to that customer.
export async function findDocumentCustomerId(
  db: Db,
  doc: { case_id: number | null; customer_id: number | null; project_id: number | null; work_order_id: number | null },
): Promise<number | null> {
  if (doc.customer_id) return doc.customer_id;
  if (doc.case_id) {
    const row = await db.selectFrom('cases').select('customer_id').where('id', '=', doc.case_id).executeTakeFirst();
    return row?.customer_id ?? null;
  }
  if (doc.project_id) {
    const row = await db
      .selectFrom('projects')
      .select('customer_id')
      .where('id', '=', doc.project_id)
      .executeTakeFirst();
    return row?.customer_id ?? null;
  }
  if (doc.work_order_id) {
    const row = await db
      .selectFrom('work_orders')
      .innerJoin('projects', 'projects.id', 'work_orders.project_id')
      .select('projects.customer_id')
      .where('work_orders.id', '=', doc.work_order_id)
      .executeTakeFirst();
    return row?.customer_id ?? null;
  }
  return null;
}

// Where a document lies, for lists: a label and the page that shows it.
export async function findDocumentPlace(
  db: Db,
  doc: { case_id: number | null; customer_id: number | null; project_id: number | null; work_order_id: number | null },
): Promise<{ label: string; href: string } | null> {
  const owner = ownerOf(doc);
  const place = owner ? await findOwnerPlace(db, owner) : undefined;
  return place ? { label: place.label, href: place.href } : null;
}

const chainColumns = [
  'approval_chains.id',
  'approval_chains.document_id',
  'approval_chains.document_version',
  'approval_chains.structure_name',
  'approval_chains.steps',
  'approval_chains.current_step',
  'approval_chains.current_approver_ids',
  'approval_chains.state',
  'approval_chains.case_id',
  'approval_chains.submitted_by',
  'approval_chains.created_at',
  'approval_chains.finished_at',
] as const;

// The newest chain of a document case (a case serves every version of its document).
export async function findChainOfCase(db: Db, caseId: number) {
  const chain = await db
    .selectFrom('approval_chains')
    .innerJoin('documents', 'documents.id', 'approval_chains.document_id')
    .leftJoin('users as submitter', 'submitter.id', 'approval_chains.submitted_by')
    .select([
      ...chainColumns,
      'documents.file_name',
      'documents.approval_state',
      'documents.deleted_at',
      'documents.case_id as document_case_id',
      'documents.customer_id as document_customer_id',
      'documents.project_id as document_project_id',
      'documents.work_order_id as document_work_order_id',
      'submitter.name as submitted_by_name',
    ])
    .where('approval_chains.case_id', '=', caseId)
    .orderBy('approval_chains.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!chain) return null;
  const place = await findDocumentPlace(db, {
    case_id: chain.document_case_id,
    customer_id: chain.document_customer_id,
    project_id: chain.document_project_id,
    work_order_id: chain.document_work_order_id,
  });
  const approvers = chain.current_approver_ids.length
    ? await db
        .selectFrom('users')
        .select(['id', 'login', 'name'])
        .where('id', 'in', chain.current_approver_ids)
        .orderBy('login')
        .execute()
    : [];
  return { ...chain, place, approvers };
}
export type CaseChain = NonNullable<Awaited<ReturnType<typeof findChainOfCase>>>;

// The pending chain of a document, if it is waiting for someone.
export async function findPendingChainOfDocument(db: Db, documentId: string) {
  return db
    .selectFrom('approval_chains')
    .select(chainColumns)
    .where('document_id', '=', documentId)
    .where('state', '=', 'pending')
    .executeTakeFirst();
}

// What the decision form needs, for a viewer who is a current approver of the document's chain;
// null for everyone else (the form is theirs alone).
export async function findDecisionFor(db: Db, documentId: string, userId: number) {
  const chain = await db
    .selectFrom('approval_chains')
    .innerJoin('documents', 'documents.id', 'approval_chains.document_id')
    .select([
      'approval_chains.id',
      'approval_chains.document_id',
      'approval_chains.document_version',
      'approval_chains.current_step',
      'approval_chains.steps',
      'documents.file_name',
    ])
    .where('approval_chains.document_id', '=', documentId)
    .where('approval_chains.state', '=', 'pending')
    .where(sql<boolean>`approval_chains.current_approver_ids @> array[${userId}]::integer[]`)
    .executeTakeFirst();
  if (!chain) return null;
  return {
    chainId: chain.id,
    documentId: chain.document_id,
    fileName: chain.file_name,
    version: chain.document_version,
    step: chain.current_step,
    steps: chain.steps.length,
  };
}
export type DecisionView = NonNullable<Awaited<ReturnType<typeof findDecisionFor>>>;

// "My approvals": the chains waiting for this user, oldest first (served by the partial GIN
// index approval_chains_approvers).
export async function listMyApprovals(db: Db, userId: number) {
  const rows = await db
    .selectFrom('approval_chains')
    .innerJoin('documents', 'documents.id', 'approval_chains.document_id')
    .leftJoin('cases', 'cases.id', 'approval_chains.case_id')
    .leftJoin('users as submitter', 'submitter.id', 'approval_chains.submitted_by')
    .select([
      'approval_chains.id',
      'approval_chains.document_id',
      'approval_chains.document_version',
      'approval_chains.current_step',
      'approval_chains.steps',
      'approval_chains.created_at',
      'documents.file_name',
      'documents.case_id',
      'documents.customer_id',
      'documents.project_id',
      'documents.work_order_id',
      'cases.number as case_number',
      'submitter.name as submitted_by_name',
    ])
    .where('approval_chains.state', '=', 'pending')
    .where(sql<boolean>`approval_chains.current_approver_ids @> array[${userId}]::integer[]`)
    .orderBy('approval_chains.created_at')
    .orderBy('approval_chains.id')
    .execute();
  return Promise.all(rows.map(async (row) => ({ ...row, place: await findDocumentPlace(db, row) })));
}
export type MyApproval = Awaited<ReturnType<typeof listMyApprovals>>[number];

export async function countMyApprovals(db: Db, userId: number): Promise<number> {
  const row = await myApprovalsCount(db, userId).executeTakeFirstOrThrow();
  return row.n;
}

// The count as a query of one row and column n, for a page that folds it into a statement of its own
// (the overview's counts): one round trip instead of one per count.
export function myApprovalsCount(db: Db, userId: number) {
  return db
    .selectFrom('approval_chains')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'pending')
    .where(sql<boolean>`current_approver_ids @> array[${userId}]::integer[]`);
}

// A chain with what the decision's answer page needs: its document and its case.
export async function findChainSummary(db: Db, chainId: string) {
  if (parseBigId(String(chainId)) === null) return undefined;
  return db
    .selectFrom('approval_chains')
    .innerJoin('documents', 'documents.id', 'approval_chains.document_id')
    .leftJoin('cases', 'cases.id', 'approval_chains.case_id')
    .select([
      'approval_chains.id',
      'approval_chains.document_id',
      'approval_chains.state',
      'approval_chains.submitted_by',
      'documents.file_name',
      'documents.case_id',
      'documents.customer_id',
      'documents.project_id',
      'documents.work_order_id',
      'cases.number as case_number',
    ])
    .where('approval_chains.id', '=', chainId)
    .executeTakeFirst();
}

// The approval panel of a case page: null unless the case is a document case; the decision
// form's data only for a current approver of its running chain.
export async function loadCaseApproval(db: Db, caseId: number, userId: number) {
  const chain = await findChainOfCase(db, caseId);
  if (!chain) return null;
  const decides = chain.state === 'pending' && chain.current_approver_ids.includes(userId);
  const decision: DecisionView | null = decides
    ? {
        chainId: chain.id,
        documentId: chain.document_id,
        fileName: chain.file_name,
        version: chain.document_version,
        step: chain.current_step,
        steps: chain.steps.length,
      }
    : null;
  return { chain, decision };
}
