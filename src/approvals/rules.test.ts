import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  approversForStep,
  type ChainAction,
  type ChainEffect,
  type ChainFacts,
  type ChainState,
  type People,
  startChain,
  type Transition,
  transition,
} from './rules.ts';

// KALLE and SARA share step 1 (either decides), ANNA has step 2; ERIK submitted; BOSS is the admin.
const KALLE = 1;
const ANNA = 2;
const ERIK = 3;
const SARA = 4;
const BOSS = 9;
const steps = [{ approverIds: [KALLE, SARA] }, { approverIds: [ANNA] }];
const people: People = { activeUserIds: [KALLE, ANNA, ERIK, SARA, BOSS], adminIds: [BOSS] };

const states: Record<string, ChainState> = {
  'pending@0': { kind: 'pending', step: 0, approverIds: [KALLE, SARA] },
  'pending@1': { kind: 'pending', step: 1, approverIds: [ANNA] },
  'sent_back@1': { kind: 'sent_back', step: 1 },
  approved: { kind: 'approved' },
  withdrawn: { kind: 'withdrawn' },
};

const actions: Record<string, ChainAction> = {
  'approve KALLE@0': { type: 'approve', userId: KALLE, step: 0 },
  'approve ANNA@1': { type: 'approve', userId: ANNA, step: 1 },
  'approve ERIK@0': { type: 'approve', userId: ERIK, step: 0 },
  'send_back KALLE@0': { type: 'send_back', userId: KALLE, step: 0, comment: 'Fel belopp' },
  'send_back ANNA@1': { type: 'send_back', userId: ANNA, step: 1, comment: 'Fel belopp' },
  'send_back KALLE@0 no comment': { type: 'send_back', userId: KALLE, step: 0, comment: '  ' },
  'withdraw ERIK': { type: 'withdraw', userId: ERIK },
  'withdraw KALLE': { type: 'withdraw', userId: KALLE },
  'new_version ERIK': { type: 'new_version', userId: ERIK },
  'new_version KALLE': { type: 'new_version', userId: KALLE },
  'deactivated KALLE': { type: 'approver_deactivated', userId: KALLE },
  'deactivated ANNA': { type: 'approver_deactivated', userId: ANNA },
  'deactivated ERIK': { type: 'approver_deactivated', userId: ERIK },
  structure_edited: { type: 'structure_edited' },
};

const describeState = (s: ChainState) =>
  s.kind === 'pending'
    ? `pending@${s.step}[${s.approverIds.join(',')}]`
    : s.kind === 'sent_back'
      ? `sent_back@${s.step}`
      : s.kind;
const describeEffect = (e: ChainEffect) => {
  switch (e.type) {
    case 'record_decision':
      return `record:${e.decision}@${e.step}${e.userId ? `/${e.userId}` : ''}${e.comment ? `"${e.comment}"` : ''}`;
    case 'set_document_state':
      return `doc:${e.state}`;
    case 'assign_case':
      return `assign:${e.userId}`;
    case 'notify_approvers':
    case 'notify_admins':
      return `${e.type}:${e.userIds.join(',')}@${e.step}`;
    case 'notify_submitter':
      return `notify_submitter:${e.outcome}${e.comment ? `"${e.comment}"` : ''}`;
    default:
      return e.type;
  }
};
const describe = (t: Transition) =>
  t.ok ? [describeState(t.state), ...t.effects.map(describeEffect)].join(' | ') : `refused:${t.reason}`;

const pending0 = 'pending@0[1,4]';
const pending1 = 'pending@1[2]';

// Every state × every action, written out by hand.
const expected: Record<string, Record<string, string>> = {
  'pending@0': {
    'approve KALLE@0': `${pending1} | record:approve@0/1 | assign:2 | notify_approvers:2@1`,
    'approve ANNA@1': 'refused:already_decided',
    'approve ERIK@0': 'refused:not_approver',
    'send_back KALLE@0':
      'sent_back@0 | record:send_back@0/1"Fel belopp" | doc:sent_back | close_case | notify_submitter:sent_back"Fel belopp"',
    'send_back ANNA@1': 'refused:already_decided',
    'send_back KALLE@0 no comment': 'refused:comment_required',
    'withdraw ERIK': 'refused:locked',
    'withdraw KALLE': 'refused:locked',
    'new_version ERIK': 'refused:locked',
    'new_version KALLE': 'refused:locked',
    'deactivated KALLE': 'pending@0[4] | assign:4',
    'deactivated ANNA': pending0,
    'deactivated ERIK': pending0,
    structure_edited: pending0,
  },
  'pending@1': {
    'approve KALLE@0': 'refused:already_decided',
    'approve ANNA@1': 'approved | record:approve@1/2 | doc:approved | close_case | notify_submitter:approved',
    'approve ERIK@0': 'refused:already_decided',
    'send_back KALLE@0': 'refused:already_decided',
    'send_back ANNA@1':
      'sent_back@1 | record:send_back@1/2"Fel belopp" | doc:sent_back | close_case | notify_submitter:sent_back"Fel belopp"',
    'send_back KALLE@0 no comment': 'refused:already_decided',
    'withdraw ERIK': 'refused:locked',
    'withdraw KALLE': 'refused:locked',
    'new_version ERIK': 'refused:locked',
    'new_version KALLE': 'refused:locked',
    'deactivated KALLE': pending1,
    'deactivated ANNA': 'pending@1[9] | record:reassign@1 | assign:9 | notify_admins:9@1',
    'deactivated ERIK': pending1,
    structure_edited: pending1,
  },
  'sent_back@1': {
    'approve KALLE@0': 'refused:already_decided',
    'approve ANNA@1': 'refused:already_decided',
    'approve ERIK@0': 'refused:already_decided',
    'send_back KALLE@0': 'refused:already_decided',
    'send_back ANNA@1': 'refused:already_decided',
    'send_back KALLE@0 no comment': 'refused:already_decided',
    'withdraw ERIK': 'withdrawn | record:withdraw@1/3 | doc:withdrawn | remove_document',
    'withdraw KALLE': 'refused:not_submitter',
    'new_version ERIK': 'sent_back@1 | start_chain',
    'new_version KALLE': 'refused:not_submitter',
    'deactivated KALLE': 'sent_back@1',
    'deactivated ANNA': 'sent_back@1',
    'deactivated ERIK': 'sent_back@1',
    structure_edited: 'sent_back@1',
  },
  approved: {
    'approve KALLE@0': 'refused:already_decided',
    'approve ANNA@1': 'refused:already_decided',
    'approve ERIK@0': 'refused:already_decided',
    'send_back KALLE@0': 'refused:already_decided',
    'send_back ANNA@1': 'refused:already_decided',
    'send_back KALLE@0 no comment': 'refused:already_decided',
    'withdraw ERIK': 'refused:not_sent_back',
    'withdraw KALLE': 'refused:not_sent_back',
    'new_version ERIK': 'approved | start_chain',
    'new_version KALLE': 'approved | start_chain',
    'deactivated KALLE': 'approved',
    'deactivated ANNA': 'approved',
    'deactivated ERIK': 'approved',
    structure_edited: 'approved',
  },
  withdrawn: {
    'approve KALLE@0': 'refused:already_decided',
    'approve ANNA@1': 'refused:already_decided',
    'approve ERIK@0': 'refused:already_decided',
    'send_back KALLE@0': 'refused:already_decided',
    'send_back ANNA@1': 'refused:already_decided',
    'send_back KALLE@0 no comment': 'refused:already_decided',
    'withdraw ERIK': 'refused:withdrawn',
    'withdraw KALLE': 'refused:withdrawn',
    'new_version ERIK': 'refused:withdrawn',
    'new_version KALLE': 'refused:withdrawn',
    'deactivated KALLE': 'withdrawn',
    'deactivated ANNA': 'withdrawn',
    'deactivated ERIK': 'withdrawn',
    structure_edited: 'withdrawn',
  },
};

const matrix = suite('The approval chain: every state × every action');

matrix('the table names every state and every action, nothing more', () => {
  assert.equal(Object.keys(expected).sort(), Object.keys(states).sort());
  for (const [state, row] of Object.entries(expected))
    assert.equal(Object.keys(row).sort(), Object.keys(actions).sort(), state);
});

for (const [stateName, state] of Object.entries(states)) {
  for (const [actionName, action] of Object.entries(actions)) {
    matrix(`${stateName} + ${actionName}`, () => {
      const facts: ChainFacts = { state, steps, submittedBy: ERIK };
      assert.is(describe(transition(facts, action, people)), expected[stateName]?.[actionName]);
    });
  }
}

matrix.run();

const more = suite('The approval chain: starting, walking, and who decides');

more('a chain starts at step 1 with its active approvers and locks the document', () => {
  assert.is(describe(startChain(steps, people)), 'pending@0[1,4] | doc:pending | assign:1 | notify_approvers:1,4@0');
});

more('a first step whose approvers are all inactive starts with the admins, recorded as a reassignment', () => {
  const gone: People = { activeUserIds: [ANNA, ERIK, BOSS], adminIds: [BOSS] };
  assert.is(
    describe(startChain(steps, gone)),
    'pending@0[9] | doc:pending | record:reassign@0 | assign:9 | notify_admins:9@0',
  );
});

more('approving into a step whose approvers are gone hands it to the admins', () => {
  const annaGone: People = { activeUserIds: [KALLE, ERIK, SARA, BOSS], adminIds: [BOSS] };
  const facts: ChainFacts = { state: states['pending@0'] as ChainState, steps, submittedBy: ERIK };
  assert.is(
    describe(transition(facts, { type: 'approve', userId: SARA, step: 0 }, annaGone)),
    'pending@1[9] | record:approve@0/4 | record:reassign@1 | assign:9 | notify_admins:9@1',
  );
});

more('any one of a step’s approvers decides it', () => {
  const facts: ChainFacts = { state: states['pending@0'] as ChainState, steps, submittedBy: ERIK };
  assert.ok(transition(facts, { type: 'approve', userId: SARA, step: 0 }, people).ok);
  assert.ok(transition(facts, { type: 'approve', userId: KALLE, step: 0 }, people).ok);
});

more('a three-step chain is walked to the end, each step by its own approver', () => {
  const three = [{ approverIds: [KALLE] }, { approverIds: [ANNA] }, { approverIds: [SARA] }];
  let state: ChainState = { kind: 'pending', step: 0, approverIds: [KALLE] };
  for (const [step, userId] of [KALLE, ANNA, SARA].entries()) {
    const t = transition({ state, steps: three, submittedBy: ERIK }, { type: 'approve', userId, step }, people);
    assert.ok(t.ok);
    if (t.ok) state = t.state;
  }
  assert.equal(state, { kind: 'approved' });
});

more('the admin who holds a step and is deactivated passes it to the other admins; with none, it stays', () => {
  const twoAdmins: People = { activeUserIds: [ERIK, BOSS, 10], adminIds: [BOSS, 10] };
  const held: ChainFacts = {
    state: { kind: 'pending', step: 1, approverIds: [BOSS, 10] },
    steps,
    submittedBy: ERIK,
  };
  assert.is(
    describe(transition(held, { type: 'approver_deactivated', userId: BOSS }, twoAdmins)),
    'pending@1[10] | assign:10',
  );
  const alone: ChainFacts = { state: { kind: 'pending', step: 1, approverIds: [BOSS] }, steps, submittedBy: ERIK };
  assert.is(
    describe(
      transition(alone, { type: 'approver_deactivated', userId: BOSS }, { activeUserIds: [ERIK], adminIds: [] }),
    ),
    'pending@1[9]',
  );
});

more('approversForStep: active approvers first, then the admins, never nobody', () => {
  assert.equal(approversForStep({ approverIds: [KALLE, SARA] }, people), {
    approverIds: [KALLE, SARA],
    toAdmins: false,
  });
  assert.equal(approversForStep({ approverIds: [KALLE, 77] }, people), { approverIds: [KALLE], toAdmins: false });
  assert.equal(approversForStep({ approverIds: [77] }, people), { approverIds: [BOSS], toAdmins: true });
  assert.equal(approversForStep({ approverIds: [77] }, { activeUserIds: [], adminIds: [] }), {
    approverIds: [77],
    toAdmins: false,
  });
});

more.run();
