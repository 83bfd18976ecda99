import type { Db } from '../db/database.ts';

export type DocumentFolder = {
  id: number;
  name: string;
  system_key: string | null;
  position: number;
  active: boolean;
};

// All folders, inactive ones too: documents filed in a folder later deactivated still show.
export async function listFolders(db: Db): Promise<DocumentFolder[]> {
  return db
    .selectFrom('document_folders')
    .select(['id', 'name', 'system_key', 'position', 'active'])
    .orderBy('position')
    .orderBy('name')
    .execute();
}

// The documents tab: live documents of a case with their folder and who added them.
export async function listCaseDocuments(db: Db, caseId: number) {
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
      'files.size_bytes',
      'files.content_type',
      'document_folders.name as folder_name',
      'users.name as created_by_name',
    ])
    .where('documents.case_id', '=', caseId)
    .where('documents.deleted_at', 'is', null)
    .orderBy('document_folders.position')
    .orderBy('documents.file_name')
    .orderBy('documents.id')
    .execute();
}
export type CaseDocument = Awaited<ReturnType<typeof listCaseDocuments>>[number];

// One live document of a case, with what a download needs.
export async function findCaseDocument(db: Db, caseId: number, documentId: string) {
  if (!/^\d{1,18}$/.test(documentId)) return undefined;
  return db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .select([
      'documents.id',
      'documents.file_id',
      'documents.file_name',
      'documents.created_by',
      'files.content_type',
      'files.size_bytes',
    ])
    .where('documents.id', '=', documentId)
    .where('documents.case_id', '=', caseId)
    .where('documents.deleted_at', 'is', null)
    .executeTakeFirst();
}

export type FolderGroup = { folder: DocumentFolder; documents: CaseDocument[] };

// The tab shows a folder when it holds documents; the mail folders always, so users see where
// mail attachments land.
export function groupByFolder(folders: DocumentFolder[], documents: CaseDocument[]): FolderGroup[] {
  return folders
    .map((folder) => ({ folder, documents: documents.filter((d) => d.folder_id === folder.id) }))
    .filter((group) => group.documents.length > 0 || (group.folder.system_key !== null && group.folder.active));
}

// Folders a user may file an upload in; the mail folders are filled by the system only.
export function uploadFolders(folders: DocumentFolder[]): DocumentFolder[] {
  return folders.filter((folder) => folder.active && folder.system_key === null);
}
