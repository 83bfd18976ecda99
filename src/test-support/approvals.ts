import { startApprovalIfRequired } from '../approvals/chains.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Language, User } from '../db/schema.ts';
import { storeFile } from '../files/files.ts';

// What the documents domain does on upload, for a customer's document: file, document, version 1,
// then the approval chain its folder asks for. Returns the chain and its document case, if one started.
export async function submitForApproval(
  db: Db,
  input: { fileName: string; customerId: number; folderId: number; by: User; config?: Config; language?: Language },
) {
  const { fileName, folderId, by } = input;
  return db.transaction().execute(async (trx) => {
    const file = await storeFile(trx, {
      content: Buffer.from(`%PDF ${fileName}`),
      contentType: 'application/pdf',
      createdBy: by.id,
      maxBytes: 1_000_000,
    });
    const doc = await trx
      .insertInto('documents')
      .values({
        customer_id: input.customerId,
        folder_id: folderId,
        file_id: file.id,
        file_name: fileName,
        created_by: by.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('document_versions')
      .values({ document_id: doc.id, version: 1, file_id: file.id, file_name: fileName, created_by: by.id })
      .execute();
    const { started } = await startApprovalIfRequired(trx, {
      documentId: doc.id,
      folderId,
      version: 1,
      submittedBy: by,
      ...(input.config ? { config: input.config } : {}),
      ...(input.language ? { language: input.language } : {}),
    });
    const chain = started
      ? await trx
          .selectFrom('approval_chains')
          .innerJoin('cases', 'cases.id', 'approval_chains.case_id')
          .select(['approval_chains.id', 'cases.id as caseId', 'cases.number'])
          .where('document_id', '=', doc.id)
          .executeTakeFirstOrThrow()
      : undefined;
    return {
      documentId: doc.id,
      started,
      chainId: chain?.id as string,
      caseId: chain?.caseId as number,
      caseNumber: chain?.number as string,
    };
  });
}

// A document folder whose uploads go to these approvers in one step: an approval structure of
// one step, named on the folder. Returns the folder's id.
export async function seedApprovalFolder(db: Db, approverIds: number[], position = 50): Promise<number> {
  const folder = await db
    .insertInto('document_folders')
    .values({ name: 'Avtal', position })
    .returning('id')
    .executeTakeFirstOrThrow();
  const structure = await db
    .insertInto('approval_structures')
    .values({ name: 'Attest' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('approval_structure_steps')
    .values({ structure_id: structure.id, position: 1, approver_ids: approverIds })
    .execute();
  await db
    .updateTable('document_folders')
    .set({ approval_structure_id: structure.id })
    .where('id', '=', folder.id)
    .execute();
  return folder.id;
}
