import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { humanFileSize } from '../files/files.ts';
import { canOpen, canReplace, canWithdraw, isCurrentApprover, uploaderOf } from './access.ts';
import { findOwnerPlace, ownerOf } from './owners.ts';
import { approvalStatus, loadApprovalContext } from './panel.ts';
import {
  type FoundDocument,
  findDocument,
  type LatestChain,
  listDocumentDecisions,
  listDocumentVersions,
  listUsersByIds,
} from './queries.ts';

type DocumentDecision = Awaited<ReturnType<typeof listDocumentDecisions>>[number];

// Everything the document page (GET /documents/:id) shows, decided for one viewer.
export async function loadDocumentPage(db: Db, documentId: string, user: User) {
  const document = await findDocument(db, documentId);
  if (!document) return undefined;
  const owner = ownerOf(document);
  const [place, versions, decisions, approval] = await Promise.all([
    owner ? findOwnerPlace(db, owner) : undefined,
    listDocumentVersions(db, document),
    listDocumentDecisions(db, document.id),
    loadApprovalContext(db, [document.id]),
  ]);
  const chain: LatestChain | null = approval.chains.get(String(document.id)) ?? null;
  const open = canOpen(user, document, chain).allowed;
  const approvers = chain?.state === 'pending' ? await listUsersByIds(db, chain.current_approver_ids) : [];
  return {
    document,
    place: place ?? null,
    chain,
    versions: versions.map((v) => ({
      ...v,
      downloadUrl: open ? `/documents/${document.id}/versions/${v.version}` : null,
    })),
    decisions,
    status: approvalStatus(document, chain, approval.logins),
    approvers,
    canOpen: open,
    downloadUrl: open ? `/documents/${document.id}/download` : null,
    canReplace: canReplace(user, document, chain).allowed,
    canWithdraw: canWithdraw(user, document, chain).allowed,
    isCurrentApprover: isCurrentApprover(user, chain),
    isUploader: uploaderOf(document, chain) === user.id,
    sendBack: sendBackOf(document, chain, decisions),
    humanFileSize,
  };
}
export type DocumentPage = NonNullable<Awaited<ReturnType<typeof loadDocumentPage>>>;

// The decision that stopped the chain of a sent-back document: its comment is what the
// uploader must act on.
export function sendBackOf(
  document: Pick<FoundDocument, 'approval_state'>,
  chain: Pick<LatestChain, 'id'> | null,
  decisions: DocumentDecision[],
): DocumentDecision | null {
  if (document.approval_state !== 'sent_back' || !chain) return null;
  const newestFirst = [...decisions].reverse();
  return (
    newestFirst.find((d) => String(d.chain_id) === String(chain.id) && d.decision === 'send_back') ??
    newestFirst.find((d) => d.decision === 'send_back') ??
    null
  );
}
