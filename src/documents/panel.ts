// The documents panel: one owner's documents grouped by category, with the upload form, the
// approval status of each document and the links and buttons the viewer may use. The case's
// Documents tab, the customer page, and the project and work-order pages all show it.
//
// Usage on a page of your own (e.g. a project):
//
//   route:    const documentsPanel = await loadDocumentsPanel(db, { kind: 'project', id: project.id }, currentUser(request));
//             return reply.view('projects/show', { project, documentsPanel });
//   template: <%~ include('/documents/_panel', { ...it, panel: it.documentsPanel }) %>
//
// The panel posts uploads to POST /documents (owner_kind/owner_id travel as hidden fields) and
// deletions to POST /documents/:id/deletion. With htmx those answer with the panel again
// (it replaces the element #documents-panel); without, they redirect to the owner's page
// (findOwnerPlace: /customers/:id, /projects/:number, /work-orders/:number) with a flash. Each
// document's name links to its page, /documents/:id, which also holds versions and approval.
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { humanFileSize } from '../files/files.ts';
import { type AccessChain, canDelete, canOpen } from './access.ts';
import type { DocumentOwner } from './owners.ts';
import {
  type FolderGroup,
  groupByFolder,
  type LatestChain,
  listFolders,
  listLatestChains,
  listOwnerDocuments,
  listUsersByIds,
  type OwnerDocument,
  uploadFolders,
} from './queries.ts';

// What the panel says about a document's approval, as a message key and its parameters.
export type ApprovalStatus = { key: string; params: Record<string, string | number> } | null;

export type PanelDocument = OwnerDocument & {
  pageUrl: string;
  // null: locked for this viewer, so no link to the content
  downloadUrl: string | null;
  // null: this viewer may not delete it
  deleteUrl: string | null;
  status: ApprovalStatus;
};

export type DocumentsPanel = {
  owner: DocumentOwner;
  uploadUrl: string;
  // the generic upload form names its owner; the case's URL already does
  ownerFields: { owner_kind: string; owner_id: string } | null;
  htmxTarget: string;
  htmxSwap: 'innerHTML' | 'outerHTML';
  folderGroups: FolderGroup<PanelDocument>[];
  uploadFolders: { id: number; name: string }[];
  notice: string | null;
  uploadError: string | null;
  humanFileSize: typeof humanFileSize;
};

// "awaiting approval (step 1 of 3: ANNA)", "sent back", "approved"; none for a document
// outside any chain.
export function approvalStatus(
  doc: { approval_state: OwnerDocument['approval_state'] },
  chain: Pick<LatestChain, 'current_step' | 'steps' | 'current_approver_ids'> | null,
  logins: Map<number, string>,
): ApprovalStatus {
  if (doc.approval_state === 'pending' && chain) {
    const approvers = chain.current_approver_ids.map((id) => logins.get(id) ?? `#${id}`).join(', ');
    return {
      key: 'documents.approval.pending_step',
      params: { step: chain.current_step + 1, steps: chain.steps.length, approvers },
    };
  }
  if (doc.approval_state === 'pending') return { key: 'documents.approval.pending', params: {} };
  if (doc.approval_state === 'sent_back') return { key: 'documents.approval.sent_back', params: {} };
  if (doc.approval_state === 'approved') return { key: 'documents.approval.approved', params: {} };
  return null;
}

export async function loadApprovalContext(db: Db, documentIds: string[]) {
  const chains = await listLatestChains(db, documentIds);
  const approverIds = [...new Set([...chains.values()].flatMap((chain) => chain.current_approver_ids))];
  const users = await listUsersByIds(db, approverIds);
  return { chains, logins: new Map(users.map((u) => [u.id, u.login])) };
}

export async function loadDocumentsPanel(db: Db, owner: DocumentOwner, user: User): Promise<DocumentsPanel> {
  const [folders, documents] = await Promise.all([listFolders(db), listOwnerDocuments(db, owner)]);
  const { chains, logins } = await loadApprovalContext(
    db,
    documents.filter((d) => d.approval_state !== 'none').map((d) => String(d.id)),
  );
  const isCase = owner.kind === 'case';
  const caseBase = isCase ? await caseDocumentsBase(db, owner.id) : null;
  const panelDocuments: PanelDocument[] = documents.map((d) => {
    const id = String(d.id);
    const chain: AccessChain = chains.get(id) ?? null;
    return {
      ...d,
      pageUrl: `/documents/${id}`,
      downloadUrl: canOpen(user, d, chain).allowed
        ? caseBase
          ? `${caseBase}/${id}`
          : `/documents/${id}/download`
        : null,
      deleteUrl: canDelete(user, d, chain).allowed
        ? caseBase
          ? `${caseBase}/${id}/deletion`
          : `/documents/${id}/deletion`
        : null,
      status: approvalStatus(d, chains.get(id) ?? null, logins),
    };
  });
  return {
    owner,
    uploadUrl: caseBase ?? '/documents',
    ownerFields: caseBase ? null : { owner_kind: owner.kind, owner_id: String(owner.id) },
    htmxTarget: caseBase ? '#tab-panel' : '#documents-panel',
    htmxSwap: caseBase ? 'innerHTML' : 'outerHTML',
    folderGroups: groupByFolder(folders, panelDocuments, { showMailFolders: isCase }),
    uploadFolders: uploadFolders(folders).map((f) => ({ id: f.id, name: f.name })),
    notice: null,
    uploadError: null,
    humanFileSize,
  };
}

// The case keeps its own document URLs (/cases/:number/documents/…) inside the case page.
async function caseDocumentsBase(db: Db, caseId: number): Promise<string> {
  const kase = await db.selectFrom('cases').select('number').where('id', '=', caseId).executeTakeFirstOrThrow();
  return `/cases/${encodeURIComponent(kase.number)}/documents`;
}
