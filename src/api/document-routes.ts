import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decide } from '../approvals/chains.ts';
import { findChainSummary, listMyApprovals } from '../approvals/queries.ts';
import { refusalMessageKey, refusalStatus } from '../approvals/rules.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { User } from '../db/schema.ts';
import { canOpen } from '../documents/access.ts';
import {
  type AddedDocument,
  addCaseDocument,
  addDocumentVersion,
  DocumentForbiddenError,
  DocumentNotFoundError,
  type StartApproval,
} from '../documents/documents.ts';
import {
  findDocument,
  findDocumentVersion,
  findLatestChain,
  listCaseDocuments,
  listDocumentVersions,
  listFolders,
  uploadFolders,
} from '../documents/queries.ts';
import { sendStoredFile } from '../files/download.ts';
import { FileTooLargeError } from '../files/files.ts';
import { parseBigId } from '../forms/form.ts';
import { translator } from '../i18n/i18n.ts';
import { currentUser } from '../web/context.ts';
import { problem } from './problem.ts';
import { caseFromPath, idempotencyKeyOf } from './request.ts';
import { caseNumberParams, fileSchema, problemResponses, uploadProblemResponses } from './schemas.ts';

// Documents and approvals through the API. The approval lock holds here as on the pages: the
// content of a document waiting for approval goes only to the approver whose turn it is, and
// nobody adds a version while its chain runs (src/documents/access.ts decides, for both).

const documentSchema = z
  .object({
    id: z.string(),
    file_name: z.string(),
    folder_id: z.number().int(),
    folder_name: z.string(),
    version: z.number().int(),
    approval_state: z.string().describe('none, pending, approved, sent_back'),
    content_type: z.string(),
    size_bytes: z.number().int(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Document' });
const documentListSchema = z.object({ data: z.array(documentSchema) }).meta({ id: 'DocumentList' });
const versionSchema = z
  .object({ version: z.number().int(), file_name: z.string(), created_at: z.iso.datetime({ offset: true }) })
  .meta({ id: 'DocumentVersion' });
const documentDetailSchema = z
  .object({
    id: z.string(),
    file_name: z.string(),
    version: z.number().int(),
    approval_state: z.string(),
    case_number: z.string().nullable(),
    versions: z.array(versionSchema),
  })
  .meta({ id: 'DocumentDetail' });
const uploadSchema = z
  .object({
    file_name: z.string().min(1).max(255),
    content_type: z.string().max(200).default('application/octet-stream'),
    content_base64: z.string().describe('the file, base64-encoded'),
    folder_id: z.number().int().positive().optional().describe('default: the first folder uploads may go in'),
  })
  .meta({ id: 'Upload' });
const addedSchema = z
  .object({
    id: z.string(),
    file_name: z.string(),
    version: z.number().int(),
    approval_started: z.boolean().describe('the folder requires approval: the document is locked until approved'),
  })
  .meta({ id: 'DocumentAdded' });
const idParams = z.object({ id: z.string().regex(/^[1-9]\d{0,18}$/) });
const versionParams = idParams.extend({ version: z.coerce.number().int().positive().max(2_147_483_647) });
const approvalSchema = z
  .object({
    chain_id: z.string(),
    document_id: z.string(),
    document_version: z.number().int(),
    file_name: z.string(),
    case_number: z.string().nullable(),
    step: z.number().int().describe('send it back with the decision'),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'PendingApproval' });
const decisionBodySchema = z
  .object({
    decision: z.enum(['approve', 'send_back']),
    comment: z.string().max(4000).default('').describe('required to send back'),
    step: z.number().int().min(0).describe('the step the decision is for, as GET /approvals gave it'),
  })
  .meta({ id: 'ApprovalDecision' });
const decidedSchema = z
  .object({ state: z.string().describe('pending (the next step), approved or sent_back') })
  .meta({ id: 'ApprovalDecided' });

const english = translator('en');

function decodeContent(text: string, maxBytes: number): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s+/g, '')))
    throw problem(422, 'content_base64 is not base64.', {
      errors: [{ field: 'body.content_base64', message: 'not base64' }],
    });
  const content = Buffer.from(text, 'base64');
  if (content.length > maxBytes) throw problem(413, `The file is larger than ${Math.round(maxBytes / 1048576)} MB.`);
  return content;
}

export type ApiDocumentOptions = { startApproval: StartApproval };

export async function registerApiDocumentRoutes(app: FastifyInstance, { startApproval }: ApiDocumentOptions) {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { db, config } = app.deps;
  // base64 is 4 bytes for 3, and JSON around it
  const uploadBodyLimit = Math.ceil((config.maxUploadBytes * 4) / 3) + 64 * 1024;

  // What an upload and a new version both hand the documents domain.
  const uploadOf = (user: User, body: { file_name: string; content_type: string; content_base64: string }) => ({
    fileName: body.file_name,
    contentType: body.content_type,
    stream: decodeContent(body.content_base64, config.maxUploadBytes),
    user,
    maxBytes: config.maxUploadBytes,
    config,
    language: 'en' as const,
    startApproval,
  });
  const findDoc = async (id: string) => {
    const document = await findDocument(db, id);
    if (!document) throw problem(404, `No document ${id}.`);
    return document;
  };
  const refused = (error: unknown): never => {
    if (error instanceof DocumentNotFoundError) throw problem(404, 'No such document.');
    if (error instanceof DocumentForbiddenError)
      throw problem(
        error.message === 'not_uploader' ? 403 : 409,
        `Refused: ${error.message.replaceAll('_', ' ')} (a document waiting for approval, or sent back, is locked).`,
      );
    if (error instanceof FileTooLargeError) throw problem(413, 'The file is too large.');
    throw error;
  };
  const sendContent = async (
    request: FastifyRequest,
    reply: FastifyReply,
    document: Awaited<ReturnType<typeof findDoc>>,
    file: { file_id: string; file_name: string; content_type: string; size_bytes: number },
  ) => {
    const access = canOpen(currentUser(request), document, await findLatestChain(db, String(document.id)));
    if (!access.allowed)
      throw access.reason === 'gone'
        ? problem(404, 'No such document.')
        : problem(403, 'The document waits for approval; only the approver whose turn it is may open it.');
    return sendStoredFile(reply, db, {
      fileId: file.file_id,
      contentType: file.content_type,
      sizeBytes: file.size_bytes,
      fileName: file.file_name,
      cacheControl: 'private, no-cache',
    });
  };

  api.get(
    '/cases/:number/documents',
    {
      schema: {
        tags: ['Documents'],
        summary: "List a case's documents",
        params: caseNumberParams,
        response: { 200: documentListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const kase = await caseFromPath(db, request.params.number);
      const documents = await listCaseDocuments(db, kase.id);
      return {
        data: documents.map((d) => ({
          id: String(d.id),
          file_name: d.file_name,
          folder_id: d.folder_id,
          folder_name: d.folder_name,
          version: d.version,
          approval_state: d.approval_state,
          content_type: d.content_type,
          size_bytes: Number(d.size_bytes),
          created_at: d.created_at.toISOString(),
        })),
      };
    },
  );

  api.post(
    '/cases/:number/documents',
    {
      bodyLimit: uploadBodyLimit,
      schema: {
        tags: ['Documents'],
        summary: 'Add a document to a case',
        description:
          'A folder that requires approval starts its chain, and the document is locked until approved. With an Idempotency-Key, a repeat gets the first document.',
        params: caseNumberParams,
        body: uploadSchema,
        response: { 201: addedSchema, ...uploadProblemResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const formKey = idempotencyKeyOf(request);
      const kase = await caseFromPath(db, request.params.number);
      const b = request.body;
      const upload = uploadOf(user, b);
      const folders = uploadFolders(await listFolders(db));
      const folder = b.folder_id ? folders.find((f) => f.id === b.folder_id) : folders[0];
      if (!folder)
        throw problem(422, 'No such folder to upload to.', {
          errors: [{ field: 'body.folder_id', message: 'not a folder uploads may go in' }],
        });
      const fingerprint = createHash('sha256').update(upload.stream).digest('hex');
      const submit = {
        key: formKey,
        userId: user.id,
        form: `api-document:${kase.id}`,
        content: { name: b.file_name, folder: folder.id, fingerprint },
      };
      const added = await db
        .transaction()
        .execute((trx) =>
          oncePerFormKey(
            trx,
            submit,
            (): Promise<AddedDocument> => addCaseDocument(trx, { ...upload, caseId: kase.id, folderId: folder.id }),
          ),
        )
        .catch(refused);
      app.deps.mailSender?.kick();
      return reply.code(201).send({
        id: String(added.id),
        file_name: added.file_name,
        version: 1,
        approval_started: added.approvalStarted,
      });
    },
  );

  api.get(
    '/documents/:id',
    {
      schema: {
        tags: ['Documents'],
        summary: 'Get a document and its versions',
        params: idParams,
        response: { 200: documentDetailSchema, ...problemResponses },
      },
    },
    async (request) => {
      const document = await findDoc(request.params.id);
      const versions = await listDocumentVersions(db, document);
      const kase = document.case_id
        ? await db.selectFrom('cases').select('number').where('id', '=', document.case_id).executeTakeFirst()
        : undefined;
      return {
        id: String(document.id),
        file_name: document.file_name,
        version: document.version,
        approval_state: document.approval_state,
        case_number: kase?.number ?? null,
        versions: versions.map((v) => ({
          version: v.version,
          file_name: v.file_name,
          created_at: v.created_at.toISOString(),
        })),
      };
    },
  );

  api.get(
    '/documents/:id/content',
    {
      schema: {
        tags: ['Documents'],
        summary: "Download a document's current version",
        description: 'The file itself, served as a download (or inline for safe images and PDF).',
        params: idParams,
        response: { 200: fileSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const document = await findDoc(request.params.id);
      return sendContent(request, reply, document, document);
    },
  );

  api.get(
    '/documents/:id/versions/:version/content',
    {
      schema: {
        tags: ['Documents'],
        summary: 'Download an earlier version',
        params: versionParams,
        response: { 200: fileSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const document = await findDoc(request.params.id);
      const file = await findDocumentVersion(db, document, request.params.version);
      if (!file) throw problem(404, `Document ${document.id} has no version ${request.params.version}.`);
      return sendContent(request, reply, document, { ...file, file_id: String(file.file_id) });
    },
  );

  api.post(
    '/documents/:id/versions',
    {
      bodyLimit: uploadBodyLimit,
      schema: {
        tags: ['Documents'],
        summary: 'Add a new version of a document',
        description:
          'Refused (409) while the document waits for approval; a sent-back document takes a new version from its uploader.',
        params: idParams,
        body: uploadSchema.omit({ folder_id: true }),
        response: { 201: addedSchema, ...uploadProblemResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const formKey = idempotencyKeyOf(request);
      const b = request.body;
      const stored = await addDocumentVersion(db, {
        ...uploadOf(user, b),
        formKey,
        documentId: request.params.id,
      }).catch(refused);
      app.deps.mailSender?.kick();
      return reply.code(201).send({
        id: request.params.id,
        file_name: stored.file_name,
        version: stored.version,
        approval_started: stored.approvalStarted,
      });
    },
  );

  api.get(
    '/approvals',
    {
      schema: {
        tags: ['Approvals'],
        summary: 'Documents waiting for my decision',
        response: {
          200: z.object({ data: z.array(approvalSchema) }).meta({ id: 'PendingApprovalList' }),
          ...problemResponses,
        },
      },
    },
    async (request) => ({
      data: (await listMyApprovals(db, currentUser(request).id)).map((a) => ({
        chain_id: String(a.id),
        document_id: String(a.document_id),
        document_version: a.document_version,
        file_name: a.file_name,
        case_number: a.case_number,
        step: a.current_step,
        created_at: a.created_at.toISOString(),
      })),
    }),
  );

  api.post(
    '/approvals/:id/decision',
    {
      schema: {
        tags: ['Approvals'],
        summary: 'Approve or send back',
        description: 'Only the approver whose turn it is; a second decision on the same step is refused (409).',
        params: idParams,
        body: decisionBodySchema,
        response: { 200: decidedSchema, ...problemResponses },
      },
    },
    async (request) => {
      const chainId = parseBigId(request.params.id);
      const chain = chainId ? await findChainSummary(db, chainId) : undefined;
      if (!chain) throw problem(404, `No approval ${request.params.id}.`);
      const outcome = await decide(db, chain.id, currentUser(request), request.body, { config, language: 'en' });
      if (!outcome.ok)
        throw problem(
          refusalStatus(outcome.reason),
          outcome.reason === 'not_found' ? 'No such approval.' : english(refusalMessageKey(outcome.reason)),
        );
      app.deps.mailSender?.kick();
      return { state: outcome.state.kind };
    },
  );
}
