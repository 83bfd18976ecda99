import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DocumentApprovalState } from '../db/schema.ts';
import { type Access, type AccessChain, canDelete, canOpen, canReplace, canWithdraw, isLocked } from './access.ts';

const test = suite('Document access rules');

// The uploader ERIK (agent), a colleague ANNA (agent), an admin BOSS, and KALLE, the approver
// whose turn it is while a chain runs.
const users = {
  uploader: { id: 1, role: 'agent' },
  colleague: { id: 2, role: 'agent' },
  admin: { id: 3, role: 'admin' },
  approver: { id: 4, role: 'agent' },
} as const;

type Situation = 'none' | 'pending' | 'sent_back' | 'approved' | 'withdrawn' | 'deleted';

function documentIn(situation: Situation) {
  const approval_state: DocumentApprovalState = situation === 'deleted' ? 'none' : situation;
  return { created_by: users.uploader.id, approval_state, deleted_at: situation === 'deleted' ? new Date() : null };
}

function chainIn(situation: Situation): AccessChain {
  if (situation === 'pending') return { state: 'pending', current_approver_ids: [4], submitted_by: 1 };
  if (situation === 'sent_back') return { state: 'sent_back', current_approver_ids: [], submitted_by: 1 };
  if (situation === 'approved') return { state: 'approved', current_approver_ids: [], submitted_by: 1 };
  if (situation === 'withdrawn') return { state: 'withdrawn', current_approver_ids: [], submitted_by: 1 };
  return null;
}

const show = (access: Access) => (access.allowed ? 'yes' : access.reason);

// Every situation × every user × every action, written out so a change in the rules shows here.
const expected: Record<Situation, Record<keyof typeof users, [string, string, string, string]>> = {
  //           open, replace, delete, withdraw
  none: {
    uploader: ['yes', 'yes', 'yes', 'not_sent_back'],
    colleague: ['yes', 'yes', 'not_uploader', 'not_sent_back'],
    admin: ['yes', 'yes', 'yes', 'not_sent_back'],
    approver: ['yes', 'yes', 'not_uploader', 'not_sent_back'],
  },
  pending: {
    uploader: ['awaiting_approval', 'locked', 'locked', 'not_sent_back'],
    colleague: ['awaiting_approval', 'locked', 'locked', 'not_sent_back'],
    admin: ['awaiting_approval', 'locked', 'locked', 'not_sent_back'],
    approver: ['yes', 'locked', 'locked', 'not_sent_back'],
  },
  sent_back: {
    uploader: ['sent_back', 'yes', 'sent_back', 'yes'],
    colleague: ['sent_back', 'not_uploader', 'sent_back', 'not_uploader'],
    admin: ['sent_back', 'not_uploader', 'sent_back', 'not_uploader'],
    approver: ['sent_back', 'not_uploader', 'sent_back', 'not_uploader'],
  },
  approved: {
    uploader: ['yes', 'yes', 'yes', 'not_sent_back'],
    colleague: ['yes', 'yes', 'not_uploader', 'not_sent_back'],
    admin: ['yes', 'yes', 'yes', 'not_sent_back'],
    approver: ['yes', 'yes', 'not_uploader', 'not_sent_back'],
  },
  withdrawn: {
    uploader: ['gone', 'gone', 'gone', 'gone'],
    colleague: ['gone', 'gone', 'gone', 'gone'],
    admin: ['gone', 'gone', 'gone', 'gone'],
    approver: ['gone', 'gone', 'gone', 'gone'],
  },
  deleted: {
    uploader: ['gone', 'gone', 'gone', 'gone'],
    colleague: ['gone', 'gone', 'gone', 'gone'],
    admin: ['gone', 'gone', 'gone', 'gone'],
    approver: ['gone', 'gone', 'gone', 'gone'],
  },
};

for (const situation of Object.keys(expected) as Situation[]) {
  test(`a document that is ${situation}: who may open, replace, delete and withdraw it`, () => {
    for (const who of Object.keys(users) as (keyof typeof users)[]) {
      const user = users[who];
      const doc = documentIn(situation);
      const chain = chainIn(situation);
      const actual = [
        show(canOpen(user, doc, chain)),
        show(canReplace(user, doc, chain)),
        show(canDelete(user, doc, chain)),
        show(canWithdraw(user, doc, chain)),
      ];
      assert.equal(actual, expected[situation][who], `${who} on a ${situation} document`);
    }
  });
}

test('an admin who took over a step from a deactivated approver may open the document', () => {
  const chain: AccessChain = { state: 'pending', current_approver_ids: [3], submitted_by: 1 };
  assert.equal(canOpen(users.admin, documentIn('pending'), chain), { allowed: true });
  assert.equal(canOpen(users.approver, documentIn('pending'), chain), { allowed: false, reason: 'awaiting_approval' });
});

test('any one of a step’s several approvers may open it; a pending document without its chain opens to nobody', () => {
  const chain: AccessChain = { state: 'pending', current_approver_ids: [2, 4], submitted_by: 1 };
  assert.ok(canOpen(users.colleague, documentIn('pending'), chain).allowed);
  assert.ok(canOpen(users.approver, documentIn('pending'), chain).allowed);
  assert.not.ok(canOpen(users.approver, documentIn('pending'), null).allowed);
  const finished: AccessChain = { state: 'approved', current_approver_ids: [4], submitted_by: 1 };
  assert.not.ok(canOpen(users.approver, documentIn('pending'), finished).allowed, 'only a running chain counts');
});

test('a sent-back document waits for whoever submitted the stopped chain, even if a colleague added the document', () => {
  const chain: AccessChain = { state: 'sent_back', current_approver_ids: [], submitted_by: 2 };
  const doc = documentIn('sent_back');
  assert.ok(canReplace(users.colleague, doc, chain).allowed);
  assert.ok(canWithdraw(users.colleague, doc, chain).allowed);
  assert.equal(canReplace(users.uploader, doc, chain), { allowed: false, reason: 'not_uploader' });
  const mail = { created_by: null, approval_state: 'sent_back' as const };
  assert.equal(canReplace(users.admin, mail, null), { allowed: false, reason: 'not_uploader' });
});

test('locked means pending or sent back', () => {
  const states: DocumentApprovalState[] = ['none', 'pending', 'sent_back', 'approved', 'withdrawn'];
  assert.equal(
    states.filter((approval_state) => isLocked({ created_by: 1, approval_state })),
    ['pending', 'sent_back'],
  );
});

test.run();
