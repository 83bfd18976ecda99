import type { Readable } from 'node:stream';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { storeFile } from '../files/files.ts';
import { FormError } from '../web/form.ts';
import type { UploadPart } from '../web/multipart.ts';
import { listFolders, uploadFolders } from './queries.ts';

export class DocumentNotFoundError extends Error {}
export class DocumentDeletionForbiddenError extends Error {}

// The user's own name for the file, minus any folder path a browser or mail client sent along,
// control characters and the direction marks that disguise "gpj.exe" as "exe.jpg".
export function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const clean = Array.from(
    base
      .normalize('NFC')
      .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
      .trim(),
  )
    .slice(0, 255)
    .join('');
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

export function canDeleteDocument(user: User, document: { created_by: number | null }): boolean {
  return user.role === 'admin' || (document.created_by !== null && document.created_by === user.id);
}

export type NewCaseDocument = {
  caseId: number;
  folderId: number;
  fileName: string;
  contentType: string;
  stream: Readable | Buffer;
  user: User;
  maxBytes: number;
};

export type AddedDocument = { id: string; file_name: string };

export async function addCaseDocument(db: Db, input: NewCaseDocument): Promise<AddedDocument> {
  if (!db.isTransaction) return db.transaction().execute((trx) => addCaseDocument(trx, input));
  const file = await storeFile(db, {
    content: input.stream,
    contentType: input.contentType,
    createdBy: input.user.id,
    maxBytes: input.maxBytes,
  });
  const fileName = cleanFileName(input.fileName);
  const document = await db
    .insertInto('documents')
    .values({
      case_id: input.caseId,
      folder_id: input.folderId,
      file_id: file.id,
      file_name: fileName,
      created_by: input.user.id,
    })
    .returning(['id', 'file_name'])
    .executeTakeFirstOrThrow();
  await db
    .insertInto('case_events')
    .values({ case_id: input.caseId, user_id: input.user.id, kind: 'document_added', new_value: fileName })
    .execute();
  await db.updateTable('cases').set({ last_activity_at: new Date() }).where('id', '=', input.caseId).execute();
  return document;
}

// The Documents tab's upload form: a folder_id field, then one or more files, all kept or (a file
// too large, a broken upload) none. Fields must come before the files they apply to, as they do
// in the form's document order.
export async function addUploadedDocuments(
  db: Db,
  input: { caseId: number; user: User; maxBytes: number; parts: AsyncIterable<UploadPart> },
) {
  return db.transaction().execute(async (trx) => {
    const folders = uploadFolders(await listFolders(trx));
    let folderId: number | undefined = folders[0]?.id;
    const added: AddedDocument[] = [];
    for await (const part of input.parts) {
      if (part.kind === 'field') {
        if (part.name !== 'folder_id') continue;
        folderId = folders.find((folder) => String(folder.id) === part.value)?.id;
        if (folderId === undefined) throw new FormError({ folder_id: 'errors.invalid' });
        continue;
      }
      // An empty file input still sends a part, with no name and no content.
      if (part.fileName === '') continue;
      if (folderId === undefined) throw new FormError({ folder_id: 'errors.invalid' });
      added.push(
        await addCaseDocument(trx, {
          caseId: input.caseId,
          folderId,
          fileName: part.fileName,
          contentType: part.contentType,
          stream: part.stream,
          user: input.user,
          maxBytes: input.maxBytes,
        }),
      );
    }
    if (!added.length) throw new FormError({ files: 'documents.no_files' });
    return added;
  });
}

// Soft delete: the row stays for history (and the content for a later restore), hidden everywhere.
export async function deleteDocument(db: Db, documentId: string, user: User) {
  return db.transaction().execute(async (trx) => {
    // Locked so two deletions of the same document write one event.
    const document = await trx
      .selectFrom('documents')
      .select(['id', 'case_id', 'file_name', 'created_by'])
      .where('id', '=', documentId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!document) throw new DocumentNotFoundError(`No document ${documentId}`);
    if (!canDeleteDocument(user, document)) throw new DocumentDeletionForbiddenError('Not the uploader or an admin');
    await trx.updateTable('documents').set({ deleted_at: new Date() }).where('id', '=', documentId).execute();
    if (document.case_id !== null) {
      await trx
        .insertInto('case_events')
        .values({
          case_id: document.case_id,
          user_id: user.id,
          kind: 'document_deleted',
          old_value: document.file_name,
        })
        .execute();
    }
    return document;
  });
}
