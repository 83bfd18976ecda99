import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ApprovalChainState, ApprovalChainStep } from '../db/schema.ts';
import { parseBigId } from '../forms/form.ts';
import { type AccessChain, openApprovalStates } from './access.ts';
import { type DocumentOwner, ownerColumn } from './owners.ts';

export type DocumentFolder = {
  id: number;
  name: string;
  system_key: string | null;
  position: number;
  active: boolean;
  approval_structure_id: number | null;
};

const folderColumns = ['id', 'name', 'system_key', 'position', 'active', 'approval_structure_id'] as const;

// All folders, inactive ones too: documents filed in a folder later deactivated still show.
export async function listFolders(db: Db): Promise<DocumentFolder[]> {
  return db.selectFrom('document_folders').select(folderColumns).orderBy('position').orderBy('name').execute();
}

export async function findFolder(db: Db, id: number): Promise<DocumentFolder | undefined> {
  return db.selectFrom('document_folders').select(folderColumns).where('id', '=', id).executeTakeFirst();
}

// The live documents of one owner (a withdrawn one is gone, like a deleted one), with their
// folder and who added them.
export async function listOwnerDocuments(db: Db, owner: DocumentOwner) {
  return db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .leftJoin('users', 'users.id', 'documents.created_by')
    .select([
      'documents.id',
      'documents.file_name',
      'documents.folder_id',
      'documents.created_by',
      'documents.created_at',
      'documents.version',
      'documents.approval_state',
      'files.size_bytes',
      'files.content_type',
      'document_folders.name as folder_name',
      'users.name as created_by_name',
      // a merge brought it here from this case
      (eb) =>
        eb
          .selectFrom('cases as moved_from')
          .select('moved_from.number')
          .whereRef('moved_from.id', '=', 'documents.moved_from_case_id')
          .as('moved_from_number'),
    ])
    .where(`documents.${ownerColumn(owner.kind)}`, '=', owner.id)
    .where('documents.deleted_at', 'is', null)
    .where('documents.approval_state', '!=', 'withdrawn')
    .orderBy('document_folders.position')
    .orderBy('documents.file_name')
    .orderBy('documents.id')
    .execute();
}
export type OwnerDocument = Awaited<ReturnType<typeof listOwnerDocuments>>[number];

// The documents of a case that may leave it, e.g. as attachments of a reply: a document
// locked in an approval chain (or withdrawn) is not open to everyone, so it is not offered.
export async function listCaseDocuments(db: Db, caseId: number) {
  const documents = await listOwnerDocuments(db, { kind: 'case', id: caseId });
  return documents.filter((d) => (openApprovalStates as readonly string[]).includes(d.approval_state));
}
export type CaseDocument = OwnerDocument;

// One live document of a case, with what a download and the access rules need.
export async function findCaseDocument(db: Db, caseId: number, documentId: string) {
  if (parseBigId(String(documentId)) === null) return undefined;
  return db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .select([
      'documents.id',
      'documents.file_id',
      'documents.file_name',
      'documents.created_by',
      'documents.approval_state',
      'files.content_type',
      'files.size_bytes',
    ])
    .where('documents.id', '=', documentId)
    .where('documents.case_id', '=', caseId)
    .where('documents.deleted_at', 'is', null)
    .where('documents.approval_state', '!=', 'withdrawn')
    .executeTakeFirst();
}

// One live document wherever it lies, for its page and the generic download.
export async function findDocument(db: Db, documentId: string) {
  if (parseBigId(String(documentId)) === null) return undefined;
  return db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .leftJoin('users', 'users.id', 'documents.created_by')
    .select([
      'documents.id',
      'documents.case_id',
      'documents.customer_id',
      'documents.project_id',
      'documents.work_order_id',
      'documents.folder_id',
      'documents.file_id',
      'documents.file_name',
      'documents.version',
      'documents.approval_state',
      'documents.created_by',
      'documents.created_at',
      'documents.deleted_at',
      'files.content_type',
      'files.size_bytes',
      'document_folders.name as folder_name',
      'users.name as created_by_name',
    ])
    .where('documents.id', '=', documentId)
    .where('documents.deleted_at', 'is', null)
    .where('documents.approval_state', '!=', 'withdrawn')
    .executeTakeFirst();
}
export type FoundDocument = NonNullable<Awaited<ReturnType<typeof findDocument>>>;

export type LatestChain = NonNullable<AccessChain> & {
  id: string;
  document_id: string;
  document_version: number;
  structure_name: string;
  steps: ApprovalChainStep[];
  current_step: number;
  case_id: number | null;
};

// A chain as the documents and the approval steps read it.
export const approvalChainColumns = [
  'id',
  'document_id',
  'document_version',
  'structure_name',
  'steps',
  'current_step',
  'current_approver_ids',
  'state',
  'case_id',
  'submitted_by',
] as const;

// The latest chain of each document: the running one while pending, the stopped one after.
export async function listLatestChains(db: Db, documentIds: string[]): Promise<Map<string, LatestChain>> {
  if (!documentIds.length) return new Map();
  const rows = await db
    .selectFrom('approval_chains')
    .select(approvalChainColumns)
    .distinctOn('document_id')
    .where('document_id', 'in', documentIds)
    .orderBy('document_id')
    .orderBy('id', 'desc')
    .execute();
  return new Map(rows.map((row) => [String(row.document_id), { ...row, state: row.state as ApprovalChainState }]));
}

export async function findLatestChain(db: Db, documentId: string): Promise<LatestChain | null> {
  return (await listLatestChains(db, [documentId])).get(String(documentId)) ?? null;
}

// Every decision on a document, across its versions, oldest first (A5): the document page shows
// them, the approvals domain writes them.
export async function listDocumentDecisions(db: Db, documentId: string) {
  return db
    .selectFrom('approval_decisions')
    .leftJoin('users', 'users.id', 'approval_decisions.user_id')
    .select([
      'approval_decisions.id',
      'approval_decisions.chain_id',
      'approval_decisions.document_version',
      'approval_decisions.step',
      'approval_decisions.decision',
      'approval_decisions.comment',
      'approval_decisions.created_at',
      'users.login as user_login',
      'users.name as user_name',
    ])
    .where('approval_decisions.document_id', '=', documentId)
    .orderBy('approval_decisions.id')
    .execute();
}

export async function listUsersByIds(db: Db, ids: number[]) {
  if (!ids.length) return [];
  return db.selectFrom('users').select(['id', 'login', 'name']).where('id', 'in', ids).orderBy('login').execute();
}

// Every version, the first included; documents stored before versions existed (or by the mail
// pipeline, which writes none) show their current content as version 1.
export async function listDocumentVersions(db: Db, document: FoundDocument) {
  const rows = await db
    .selectFrom('document_versions')
    .leftJoin('users', 'users.id', 'document_versions.created_by')
    .innerJoin('files', 'files.id', 'document_versions.file_id')
    .select([
      'document_versions.version',
      'document_versions.file_name',
      'document_versions.created_at',
      'users.name as created_by_name',
      'files.size_bytes',
    ])
    .where('document_versions.document_id', '=', document.id)
    .orderBy('document_versions.version')
    .execute();
  if (rows.length) return rows;
  return [
    {
      version: document.version,
      file_name: document.file_name,
      created_at: document.created_at,
      created_by_name: document.created_by_name,
      size_bytes: document.size_bytes,
    },
  ];
}

export async function findDocumentVersion(db: Db, document: FoundDocument, version: number) {
  const row = await db
    .selectFrom('document_versions')
    .innerJoin('files', 'files.id', 'document_versions.file_id')
    .select(['document_versions.file_id', 'document_versions.file_name', 'files.content_type', 'files.size_bytes'])
    .where('document_versions.document_id', '=', document.id)
    .where('document_versions.version', '=', version)
    .executeTakeFirst();
  if (row) return row;
  if (version !== document.version) return undefined;
  return {
    file_id: document.file_id,
    file_name: document.file_name,
    content_type: document.content_type,
    size_bytes: document.size_bytes,
  };
}

export type FolderGroup<D extends { folder_id: number }> = { folder: DocumentFolder; documents: D[] };

// The panel shows a folder when it holds documents; the mail folders always, so users see where
// mail attachments land.
export function groupByFolder<D extends { folder_id: number }>(
  folders: DocumentFolder[],
  documents: D[],
  opts: { showMailFolders?: boolean } = {},
): FolderGroup<D>[] {
  const showMail = opts.showMailFolders ?? true;
  return folders
    .map((folder) => ({ folder, documents: documents.filter((d) => d.folder_id === folder.id) }))
    .filter(
      (group) => group.documents.length > 0 || (showMail && group.folder.system_key !== null && group.folder.active),
    );
}

// Folders a user may file an upload in; the mail folders are filled by the system only.
export function uploadFolders(folders: DocumentFolder[]): DocumentFolder[] {
  return folders.filter((folder) => folder.active && folder.system_key === null);
}

// Administration: the categories with the name of their approval structure.
export async function listCategories(db: Db) {
  return db
    .selectFrom('document_folders')
    .leftJoin('approval_structures', 'approval_structures.id', 'document_folders.approval_structure_id')
    .select([
      'document_folders.id',
      'document_folders.name',
      'document_folders.system_key',
      'document_folders.position',
      'document_folders.active',
      'document_folders.approval_structure_id',
      'approval_structures.name as structure_name',
    ])
    .orderBy('document_folders.position')
    .orderBy('document_folders.name')
    .execute();
}

// The structures a category may be linked to: the active ones, plus the one it already has.
export async function listStructureOptions(db: Db, keepId: number | null) {
  return db
    .selectFrom('approval_structures')
    .select(['id', 'name', 'active'])
    .where((eb) =>
      keepId === null ? eb('active', '=', true) : eb.or([eb('active', '=', true), eb('id', '=', keepId)]),
    )
    .orderBy('name')
    .execute();
}

// The attachments each received mail of a case brought (not its .eml), for its thread entry.
// What the thread tab shows of a case's documents, read in one statement: the files each received
// mail brought (filed in E-mail IN; the stored mail itself aside), oldest first, and the documents
// a reply may attach, newest first (at most 100; one locked in an approval chain cannot go to the
// customer, see reply-mail.ts).
export async function listThreadDocuments(db: Db, caseId: number) {
  const rows = await db
    .selectFrom('documents')
    .leftJoin('inbound_messages', 'inbound_messages.id', 'documents.inbound_message_id')
    .select([
      'documents.id',
      'documents.file_name',
      'documents.inbound_message_id',
      'documents.approval_state',
      sql<boolean>`coalesce(documents.file_id <> inbound_messages.file_id, false)`.as('mail_attachment'),
    ])
    .where('documents.case_id', '=', caseId)
    .where('documents.deleted_at', 'is', null)
    .orderBy('documents.id')
    .execute();
  const attachable: readonly string[] = openApprovalStates;
  return {
    mailAttachments: rows
      .filter((r) => r.mail_attachment)
      .map(({ id, file_name, inbound_message_id }) => ({ id, file_name, inbound_message_id })),
    attachable: rows
      .filter((r) => attachable.includes(r.approval_state))
      .reverse()
      .slice(0, 100)
      .map(({ id, file_name }) => ({ id, file_name })),
  };
}
