import type { Readable } from 'node:stream';
import { type RawBuilder, sql } from 'kysely';
import { caseNotesInsertSql, recordCaseEvent } from '../cases/case-events.ts';
import { markCaseActive } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import { type Db, prepared } from '../db/database.ts';
import { claimFormKey, formKeyPattern, oncePerFormKey, recordFormResult } from '../db/form-keys.ts';
import type { DocumentApprovalState, Language, User } from '../db/schema.ts';
import { storeFile } from '../files/files.ts';
import type { UploadPart } from '../files/upload-part.ts';
import { FormError } from '../forms/form.ts';
import { canDelete, canReplace } from './access.ts';
import { type DocumentOwner, findOwnerPlace, ownerColumn, parseOwner } from './owners.ts';
import { findLatestChain, listFolders, uploadFolders } from './queries.ts';

export class DocumentNotFoundError extends Error {}
export class DocumentOwnerNotFoundError extends Error {}
// Refused by the access rules (src/documents/access.ts); the message is the refusal's reason.
export class DocumentForbiddenError extends Error {}

// The user's own name for the file, minus any folder path a browser or mail client sent along,
// control characters and the direction marks that disguise "gpj.exe" as "exe.jpg". One longer than
// 255 characters is cut before its extension, which still says what the file is.
export function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const chars = Array.from(
    base
      .normalize('NFC')
      .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
      .trim(),
  );
  const extension = chars.length > 255 ? Array.from(/\.[^.\s]{1,16}$/u.exec(chars.join(''))?.[0] ?? '') : [];
  const clean = [...chars.slice(0, 255 - extension.length), ...extension].join('');
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

// A version just stored, as the approval chain of its folder needs it.
export type StoredVersion = {
  documentId: string;
  // the document's category; only a category with an approval structure starts a chain
  folderId: number;
  // 1 for a new document, higher for a new version
  version: number;
  submittedBy: User;
  // With the config the approvers are also told by e-mail; the caller kicks the mail sender
  // after committing. Without it only their bell rings.
  config?: Config;
  // the language of whoever acted: the approval's case and thread texts are written in it
  language?: Language;
};

// Starts the approval chain of the version's folder, if it has one, which locks the document.
// The approvals domain provides it (startApprovalIfRequired), handed in by app.ts or the caller:
// approvals is built on documents, so documents may not import it. Required wherever a version is
// stored, and run in that transaction, so no document is ever visible unlocked in a folder that
// requires approval.
export type StartApproval = (trx: Db, stored: StoredVersion) => Promise<{ started: boolean }>;

export type NewDocument = {
  owner: DocumentOwner;
  folderId: number;
  fileName: string;
  contentType: string;
  stream: Readable | Buffer;
  user: User;
  maxBytes: number;
  // With the config, approvers are also told by e-mail (the caller kicks the sender after commit).
  config?: Config;
  // the uploader's language, for the approval chain's texts
  language?: Language;
  startApproval: StartApproval;
};

export type NewCaseDocument = Omit<NewDocument, 'owner'> & { caseId: number };

export type AddedDocument = { id: string; file_name: string; approvalStarted: boolean };

// Stores the file, the document and its first version, notes it in the case's history when it
// lies on a case, and starts the folder's approval chain (locking the document) in the same
// transaction, so a document is never visible unlocked in a folder that requires approval.
export async function addDocument(db: Db, input: NewDocument): Promise<AddedDocument> {
  if (!db.isTransaction) return db.transaction().execute((trx) => addDocument(trx, input));
  const file = await storeFile(db, {
    content: input.stream,
    contentType: input.contentType,
    createdBy: input.user.id,
    maxBytes: input.maxBytes,
  });
  const document = await insertDocument(db, {
    owner: input.owner,
    folderId: input.folderId,
    fileId: file.id,
    fileName: input.fileName,
    createdBy: input.user.id,
  });
  const fileName = document.file_name;
  if (input.owner.kind === 'case') {
    const caseId = input.owner.id;
    await recordCaseEvent(db, caseId, 'document_added', input.user, { new_value: fileName });
    await markCaseActive(db, caseId);
  }
  const { started } = await input.startApproval(db, {
    documentId: String(document.id),
    folderId: input.folderId,
    version: 1,
    submittedBy: input.user,
    config: input.config,
    language: input.language,
  });
  return { id: String(document.id), file_name: document.file_name, approvalStarted: started };
}

// The document row and its version 1 row, always together: the versions list and
// /documents/:id/versions/:n read only document_versions.
async function insertDocument(
  db: Db,
  input: {
    owner: DocumentOwner;
    folderId: number;
    fileId: string;
    fileName: string;
    createdBy: number | null;
    inboundMessageId?: string | null;
  },
): Promise<{ id: string; file_name: string }> {
  const fileName = cleanFileName(input.fileName);
  const document = await db
    .insertInto('documents')
    .values({
      [ownerColumn(input.owner.kind)]: input.owner.id,
      folder_id: input.folderId,
      file_id: input.fileId,
      file_name: fileName,
      created_by: input.createdBy,
      inbound_message_id: input.inboundMessageId ?? null,
    })
    .returning(['id', 'file_name'])
    .executeTakeFirstOrThrow();
  await db
    .insertInto('document_versions')
    .values({
      document_id: document.id,
      version: 1,
      file_id: input.fileId,
      file_name: fileName,
      created_by: input.createdBy,
    })
    .execute();
  return { id: String(document.id), file_name: document.file_name };
}

export type MailFolder = 'email_in' | 'email_out';

export type NewMailDocument = {
  caseId: number;
  folder: MailFolder;
  fileName: string;
  // the content, or a file already stored (a received message's raw .eml)
  file: { content: Buffer; contentType: string } | { id: string };
  // a 'document_added' line in the case's history (received mail); a sent copy has its own
  noteInHistory: boolean;
  // the agent whose reply this is a copy of (a received mail, or a reminder Kontroll sent: none)
  sentBy?: number | null;
  // the received mail it came with, so the mail's thread entry lists its attachments
  inboundMessageId?: string | null;
};

// A case's correspondence, filed by the system: a received mail's .eml and attachments in
// E-mail IN, a sent reply's copy in E-mail OUT. No uploader, and no approval chain: what a
// customer sent is kept as it came, never locked on arrival.
export async function addMailDocument(db: Db, input: NewMailDocument): Promise<{ id: string; file_name: string }> {
  const [document] = await addMailDocuments(db, [input]);
  if (!document) throw new Error('The document was not stored');
  return document;
}

// The set-wise form (a received mail's .eml and its attachments): each new file in one statement,
// then the documents with their version 1 rows and their history lines in one. Returned in input
// order.
export async function addMailDocuments(
  db: Db,
  inputs: NewMailDocument[],
): Promise<{ id: string; file_name: string }[]> {
  if (!inputs.length) return [];
  if (!db.isTransaction) return db.transaction().execute((trx) => addMailDocuments(trx, inputs));
  const rows: RawBuilder<unknown>[] = [];
  for (const [n, input] of inputs.entries()) {
    const fileId =
      'id' in input.file
        ? input.file.id
        : (
            await storeFile(db, {
              content: input.file.content,
              contentType: input.file.contentType,
              createdBy: input.sentBy ?? null,
              maxBytes: Number.MAX_SAFE_INTEGER,
            })
          ).id;
    rows.push(
      sql`(${n}::int, ${input.caseId}::int, ${input.folder}::text, ${fileId}::bigint, ${cleanFileName(input.fileName)}::text, ${input.sentBy ?? null}::int, ${input.inboundMessageId ?? null}::bigint, ${input.noteInHistory ?? false}::boolean)`,
    );
  }
  // The folder by its system key, in the same statement; a version 1 row for each document,
  // always together with it (see insertDocument); and the history line of each that asks for
  // one, written by the case lifecycle's caseNotesInsertSql: Read mail adds these for every mail,
  // one after the other, and a round trip is what a mail costs most (issue 16).
  const matched = sql`added a join input i
        on i.file_id = a.file_id and i.case_id = a.case_id and i.inbound_message_id is not distinct from a.inbound_message_id`;
  // prepared once per connection (one text per number of documents; mail brings one or a few)
  const { rows: documents } = await sql<{ n: number; id: string; file_name: string }>`${prepared}
    with input (n, case_id, folder, file_id, file_name, created_by, inbound_message_id, note) as (values ${sql.join(rows)}),
    added as (
      insert into documents (case_id, folder_id, file_id, file_name, created_by, inbound_message_id)
      select i.case_id, f.id, i.file_id, i.file_name, i.created_by, i.inbound_message_id
        from input i join document_folders f on f.system_key = i.folder
       order by i.n
      returning id, case_id, file_id, file_name, created_by, inbound_message_id
    ),
    versions as (
      insert into document_versions (document_id, version, file_id, file_name, created_by)
      select id, 1, file_id, file_name, created_by from added
    ),
    notes as (
      ${caseNotesInsertSql(sql`select a.case_id, 'document_added', a.file_name, i.n from ${matched} where i.note`, null)}
    )
    select i.n, a.id, a.file_name
      from ${matched}
     order by i.n`.execute(db);
  const byN = new Map(documents.map((d) => [d.n, { id: String(d.id), file_name: d.file_name }]));
  return inputs.map((input, n) => {
    const document = byN.get(n);
    if (!document) throw new Error(`No document folder ${input.folder}`);
    return document;
  });
}

export async function addCaseDocument(db: Db, input: NewCaseDocument): Promise<AddedDocument> {
  const { caseId, ...rest } = input;
  return addDocument(db, { ...rest, owner: { kind: 'case', id: caseId } });
}

// The panel's upload form: a folder_id field, then one or more files, all kept or (a file
// too large, a broken upload) none. Fields must come before the files they apply to, as they do
// in the form's document order. The generic form (POST /documents) names its owner in
// owner_kind and owner_id fields before the files; a route that knows the owner from its URL
// passes it in and those fields are ignored. The form's one-time key (form_key, before the files)
// makes a second submit of the same form get the first one's documents instead of copies.
export async function addUploadedDocuments(
  db: Db,
  input: {
    owner?: DocumentOwner;
    user: User;
    maxBytes: number;
    parts: AsyncIterable<UploadPart>;
    config?: Config;
    language?: Language;
    startApproval: StartApproval;
  },
): Promise<{ owner: DocumentOwner; added: AddedDocument[] }> {
  return db.transaction().execute(async (trx) => {
    const folders = uploadFolders(await listFolders(trx));
    const ownerFields: Record<string, string> = {};
    let owner = input.owner;
    // The owner must exist; every user may add documents to every existing owner.
    const resolveOwner = async (): Promise<DocumentOwner> => {
      if (owner) return owner;
      const parsed = parseOwner(ownerFields.owner_kind, ownerFields.owner_id);
      if (!parsed || !(await findOwnerPlace(trx, parsed))) throw new DocumentOwnerNotFoundError('No such owner');
      owner = parsed;
      return owner;
    };
    let folderId: number | undefined = folders[0]?.id;
    const added: AddedDocument[] = [];
    let formKey: string | null = null;
    let claimed = false;
    type Uploaded = { owner: DocumentOwner; added: AddedDocument[] };
    for await (const part of input.parts) {
      if (part.kind === 'field') {
        if (part.name === 'owner_kind' || part.name === 'owner_id') {
          // the one rule of every form (forms/form.ts): a single-valued field sent twice is refused
          if (part.name in ownerFields) throw new FormError({ [part.name]: 'errors.repeated' });
          ownerFields[part.name] = part.value;
        }
        if (part.name === 'form_key') {
          // after a file it would come too late to spare that file a second copy
          if (claimed || formKey !== null || !formKeyPattern.test(part.value)) {
            throw new FormError({ form_key: 'errors.invalid' });
          }
          formKey = part.value;
        }
        if (part.name !== 'folder_id') continue;
        folderId = folders.find((folder) => String(folder.id) === part.value)?.id;
        if (folderId === undefined) throw new FormError({ folder_id: 'errors.invalid' });
        continue;
      }
      // An empty file input still sends a part, with no name and no content.
      if (part.fileName === '') continue;
      const fileOwner = await resolveOwner();
      if (folderId === undefined) throw new FormError({ folder_id: 'errors.invalid' });
      if (!claimed) {
        claimed = true;
        const form = `upload:${fileOwner.kind}:${fileOwner.id}`;
        const repeat = formKey
          ? await claimFormKey<Uploaded>(trx, { key: formKey, userId: input.user.id, form })
          : null;
        if (repeat) return repeat.result;
      }
      added.push(
        await addDocument(trx, {
          owner: fileOwner,
          folderId,
          fileName: part.fileName,
          contentType: part.contentType,
          stream: part.stream,
          user: input.user,
          maxBytes: input.maxBytes,
          config: input.config,
          language: input.language,
          startApproval: input.startApproval,
        }),
      );
    }
    const resolved = await resolveOwner();
    if (!added.length) throw new FormError({ files: 'documents.no_files' });
    const uploaded: Uploaded = { owner: resolved, added };
    if (formKey) await recordFormResult(trx, formKey, uploaded);
    return uploaded;
  });
}

// A new version of a document's content (a sent-back document's correction, or an update of an
// open one). Locked against a concurrent decision, deletion or second upload; the access rule is
// checked again on the locked row. The new version starts the folder's chain from step 1.
// With the form's one-time key, a second submit of the same form gets the first new version.
export async function addDocumentVersion(
  db: Db,
  input: NewDocumentVersion,
): Promise<{ version: number; file_name: string; approvalStarted: boolean }> {
  if (!db.isTransaction) return db.transaction().execute((trx) => addDocumentVersion(trx, input));
  const submit = { key: input.formKey, userId: input.user.id, form: `document-version:${input.documentId}` };
  return oncePerFormKey(db, submit, () => storeDocumentVersion(db, input));
}

export type NewDocumentVersion = Omit<NewDocument, 'owner' | 'folderId'> & {
  documentId: string;
  formKey?: string | null;
};

async function storeDocumentVersion(db: Db, input: NewDocumentVersion) {
  const document = await db
    .selectFrom('documents')
    .select(['id', 'case_id', 'folder_id', 'version', 'approval_state', 'created_by', 'deleted_at'])
    .where('id', '=', input.documentId)
    .forUpdate()
    .executeTakeFirst();
  if (!document || document.deleted_at) throw new DocumentNotFoundError(`No document ${input.documentId}`);
  const chain = await findLatestChain(db, input.documentId);
  const access = canReplace(input.user, document, chain);
  if (!access.allowed) {
    if (access.reason === 'gone') throw new DocumentNotFoundError(`No document ${input.documentId}`);
    throw new DocumentForbiddenError(access.reason);
  }
  const file = await storeFile(db, {
    content: input.stream,
    contentType: input.contentType,
    createdBy: input.user.id,
    maxBytes: input.maxBytes,
  });
  const fileName = cleanFileName(input.fileName);
  const version = document.version + 1;
  // The approval of an earlier version says nothing about this one: it is open ('none') until
  // the folder's chain, if any, locks it again below.
  await db
    .updateTable('documents')
    .set({ version, file_id: file.id, file_name: fileName, approval_state: 'none' })
    .where('id', '=', input.documentId)
    .execute();
  await db
    .insertInto('document_versions')
    .values({
      document_id: input.documentId,
      version,
      file_id: file.id,
      file_name: fileName,
      created_by: input.user.id,
    })
    .execute();
  if (document.case_id !== null) {
    await recordCaseEvent(db, document.case_id, 'document_version_added', input.user, {
      new_value: `${fileName} (${version})`,
    });
    await markCaseActive(db, document.case_id);
  }
  const { started } = await input.startApproval(db, {
    documentId: input.documentId,
    folderId: document.folder_id,
    version,
    submittedBy: input.user,
    config: input.config,
    language: input.language,
  });
  return { version, file_name: fileName, approvalStarted: started };
}

// Soft delete: the row stays for history (and the content for a later restore), hidden everywhere.
export async function deleteDocument(db: Db, documentId: string, user: User) {
  return db.transaction().execute(async (trx) => {
    // Locked so two deletions of the same document write one event, and so a chain cannot lock
    // the document between the check and the deletion.
    const document = await trx
      .selectFrom('documents')
      .select(['id', 'case_id', 'file_name', 'created_by', 'approval_state', 'deleted_at'])
      .where('id', '=', documentId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!document) throw new DocumentNotFoundError(`No document ${documentId}`);
    const access = canDelete(user, document, await findLatestChain(trx, documentId));
    if (!access.allowed) {
      if (access.reason === 'gone') throw new DocumentNotFoundError(`No document ${documentId}`);
      throw new DocumentForbiddenError(access.reason);
    }
    await trx.updateTable('documents').set({ deleted_at: new Date() }).where('id', '=', documentId).execute();
    if (document.case_id !== null) {
      await recordCaseEvent(trx, document.case_id, 'document_deleted', user, { old_value: document.file_name });
    }
    return document;
  });
}

// What an approval chain decided about its document: locked ('pending'), sent back, approved
// (published) or withdrawn. The approvals domain decides (approvals/rules.ts); the document's
// row is written here, by its owner. Called inside the chain's transaction.
export async function setApprovalState(trx: Db, documentId: string, state: DocumentApprovalState): Promise<void> {
  await trx.updateTable('documents').set({ approval_state: state }).where('id', '=', documentId).execute();
}

// A withdrawn document is gone from every list like a deleted one; the row and its versions stay
// for the approval history. Called inside the chain's transaction, which holds the chain's lock.
export async function removeWithdrawnDocument(trx: Db, documentId: string): Promise<void> {
  await trx.updateTable('documents').set({ deleted_at: new Date() }).where('id', '=', documentId).execute();
}

// A merge moves the case's documents (deleted ones too, so their history stays whole) to the case
// it was merged into, in the same folders.
export async function moveCaseDocuments(trx: Db, fromCaseId: number, toCaseId: number): Promise<void> {
  await trx
    .updateTable('documents')
    .set({ case_id: toCaseId, moved_from_case_id: sql`coalesce(moved_from_case_id, ${fromCaseId})` })
    .where('case_id', '=', fromCaseId)
    .execute();
}

// Documents of the case still waiting for an approver: a merge would move them away from the
// chain that follows them, so the merge is refused while any are.
export async function countPendingApprovals(db: Db, caseId: number): Promise<number> {
  const row = await db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('case_id', '=', caseId)
    .where('deleted_at', 'is', null)
    .where('approval_state', '=', 'pending')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
