import type { StatusKind } from '../db/schema.ts';

// Whether case B (source) may be merged into case A (target): the pure rule, tested on its own.
export type MergeSide = {
  id: number;
  statusKind: StatusKind;
  mergedIntoId: number | null;
  // a document approval case follows a document between approvers: never merged
  documentCase: boolean;
  // documents waiting for an approver would leave the chain that follows them
  pendingApprovals: number;
};

export type MergeRefusal =
  | 'same_case'
  | 'source_merged'
  | 'target_merged'
  | 'target_closed'
  | 'document_case'
  | 'approval_pending';

export function mergeRefusal(source: MergeSide, target: MergeSide): MergeRefusal | null {
  if (source.id === target.id) return 'same_case';
  if (source.mergedIntoId !== null) return 'source_merged';
  // a merged case is closed and carries on in another: merge into that one
  if (target.mergedIntoId !== null) return 'target_merged';
  // the target carries on with the customer; a closed one would hide what moves into it
  if (target.statusKind === 'closed') return 'target_closed';
  if (source.documentCase || target.documentCase) return 'document_case';
  if (source.pendingApprovals > 0) return 'approval_pending';
  return null;
}
