import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusKind } from '../db/schema.ts';
import { type MergeSide, mergeRefusal } from './merge-rules.ts';

// Whether B may be merged into A: every refusal, and every status kind of each side.
const test = suite('Merge rules');
const side = (id: number, also: Partial<MergeSide> = {}): MergeSide => ({
  id,
  statusKind: 'open',
  mergedIntoId: null,
  documentCase: false,
  pendingApprovals: 0,
  ...also,
});
const kinds: StatusKind[] = ['open', 'waiting', 'work_order', 'closed'];

test('a source of any status merges into a target that is not closed', () => {
  for (const sourceKind of kinds)
    for (const targetKind of kinds)
      assert.is(
        mergeRefusal(side(1, { statusKind: sourceKind }), side(2, { statusKind: targetKind })),
        targetKind === 'closed' ? 'target_closed' : null,
        `${sourceKind} into ${targetKind}`,
      );
});

test('each refusal, first the one that says most', () => {
  assert.is(mergeRefusal(side(1), side(1)), 'same_case');
  assert.is(mergeRefusal(side(1, { mergedIntoId: 3 }), side(2)), 'source_merged');
  assert.is(mergeRefusal(side(1), side(2, { mergedIntoId: 3, statusKind: 'closed' })), 'target_merged');
  assert.is(mergeRefusal(side(1), side(2, { statusKind: 'closed' })), 'target_closed');
  assert.is(mergeRefusal(side(1, { documentCase: true }), side(2)), 'document_case');
  assert.is(mergeRefusal(side(1), side(2, { documentCase: true })), 'document_case');
  assert.is(mergeRefusal(side(1, { pendingApprovals: 2 }), side(2)), 'approval_pending');
  // a target's own pending approvals stay where they are: no refusal
  assert.is(mergeRefusal(side(1), side(2, { pendingApprovals: 2 })), null);
  assert.is(mergeRefusal(side(1, { mergedIntoId: 2 }), side(2)), 'source_merged', 'merged into it already');
});

test.run();
