import type { ApprovalChainState, DocumentApprovalState, User } from '../db/schema.ts';

// Who may open, replace, delete or withdraw a document, decided from the document's approval
// state and its latest approval chain only: no SQL, so routes, the approvals domain and tests
// share one answer. Every download path asks canOpen; a refusal there is a 403.

export type AccessUser = Pick<User, 'id' | 'role'>;

export type AccessDocument = {
  created_by: number | null;
  approval_state: DocumentApprovalState;
  deleted_at?: Date | null;
};

// The document's latest chain (the running one while pending, the stopped one when sent back).
export type AccessChain = {
  state: ApprovalChainState;
  current_approver_ids: number[];
  submitted_by: number | null;
} | null;

export type AccessRefusal =
  // deleted or withdrawn: gone for everyone
  | 'gone'
  // pending, and the viewer is not the approver whose turn it is
  | 'awaiting_approval'
  // sent back: locked until the uploader sends a new version or withdraws it
  | 'sent_back'
  // pending: nobody may change it while the chain runs
  | 'locked'
  // not the person who added it (sent back: only they may act; delete: theirs or an admin's)
  | 'not_uploader'
  // withdrawing is only for a document that was sent back
  | 'not_sent_back';

export type Access = { allowed: true } | { allowed: false; reason: AccessRefusal };

const allow: Access = { allowed: true };
const refuse = (reason: AccessRefusal): Access => ({ allowed: false, reason });

function isGone(doc: AccessDocument): boolean {
  return Boolean(doc.deleted_at) || doc.approval_state === 'withdrawn';
}

// The person a sent-back document waits for: whoever submitted the chain that stopped, which is
// the person who added the document unless a colleague sent a later version.
export function uploaderOf(doc: AccessDocument, chain: AccessChain): number | null {
  return chain?.submitted_by ?? doc.created_by;
}

export function isUploader(user: AccessUser, doc: AccessDocument, chain: AccessChain): boolean {
  const uploader = uploaderOf(doc, chain);
  return uploader !== null && uploader === user.id;
}

export function isCurrentApprover(user: AccessUser, chain: AccessChain): boolean {
  return chain?.state === 'pending' && chain.current_approver_ids.includes(user.id);
}

// Locked: nobody may download, replace or delete it except as the rules below allow.
// The states in which a document is open to everyone with access to where it lies, so it may
// also leave the house (a reply's attachment); queries filter on them.
export const openApprovalStates = ['none', 'approved'] as const satisfies readonly DocumentApprovalState[];

export function isLocked(doc: AccessDocument): boolean {
  return doc.approval_state === 'pending' || doc.approval_state === 'sent_back';
}

// Download or view the content. An admin is no exception: only the approver whose turn it is.
export function canOpen(user: AccessUser, doc: AccessDocument, chain: AccessChain): Access {
  if (isGone(doc)) return refuse('gone');
  if (doc.approval_state === 'pending') return isCurrentApprover(user, chain) ? allow : refuse('awaiting_approval');
  if (doc.approval_state === 'sent_back') return refuse('sent_back');
  return allow;
}

// Upload a new version: anyone while the document is open; only the uploader when it was sent
// back (the new version starts the chain again); nobody while a chain runs.
export function canReplace(user: AccessUser, doc: AccessDocument, chain: AccessChain): Access {
  if (isGone(doc)) return refuse('gone');
  if (doc.approval_state === 'pending') return refuse('locked');
  if (doc.approval_state === 'sent_back') return isUploader(user, doc, chain) ? allow : refuse('not_uploader');
  return allow;
}

// Soft delete: the person who added it or an admin, and never a locked document.
export function canDelete(user: AccessUser, doc: AccessDocument, _chain: AccessChain): Access {
  if (isGone(doc)) return refuse('gone');
  if (doc.approval_state === 'pending') return refuse('locked');
  if (doc.approval_state === 'sent_back') return refuse('sent_back');
  if (user.role === 'admin' || (doc.created_by !== null && doc.created_by === user.id)) return allow;
  return refuse('not_uploader');
}

// Take a sent-back document out of circulation (the approvals domain decides; documents.ts writes).
export function canWithdraw(user: AccessUser, doc: AccessDocument, chain: AccessChain): Access {
  if (isGone(doc)) return refuse('gone');
  if (doc.approval_state !== 'sent_back') return refuse('not_sent_back');
  return isUploader(user, doc, chain) ? allow : refuse('not_uploader');
}
