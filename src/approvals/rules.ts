import type { ApprovalChainStep, ApprovalDecisionKind, DocumentApprovalState } from '../db/schema.ts';

// The approval chain of one document version (A2–A5) as a pure decision table: the chain's
// state and an action by a user in, the next state and the effects to carry out out.
// chains.ts reads the facts under a row lock, asks here, then writes exactly the effects.
//
//   pending(i) + approve by a current approver, step i   → pending(i+1), or approved after the last step
//   pending(i) + send_back (with comment), step i        → sent_back
//   pending(i) + approve/send_back for another step      → already_decided (double click, a colleague was first)
//   pending(i) + approve/send_back by anyone else        → not_approver
//   finished   + approve/send_back                       → already_decided
//   sent_back  + withdraw by the submitter               → withdrawn (the document disappears)
//   sent_back  + new_version by the submitter            → a new chain from step 1 (this one stays sent_back)
//   approved   + new_version by anyone                   → a new chain from step 1
//   pending    + new_version / withdraw                  → locked
//   pending(i) + approver_deactivated (a current one)    → the other active approvers of the step, or the admins
//   any        + structure_edited                        → unchanged: the chain runs on its snapshot

export type ChainState =
  | { kind: 'pending'; step: number; approverIds: number[] }
  // step: where it was sent back
  | { kind: 'sent_back'; step: number }
  | { kind: 'approved' }
  | { kind: 'withdrawn' };

export type ChainFacts = {
  state: ChainState;
  // the structure's steps as they were when the version was submitted
  steps: ApprovalChainStep[];
  submittedBy: number | null;
};

// Who is there to decide: active users, and the active admins who take over orphaned steps.
export type People = { activeUserIds: readonly number[]; adminIds: readonly number[] };

export type ChainAction =
  | { type: 'approve'; userId: number; step: number; comment?: string }
  | { type: 'send_back'; userId: number; step: number; comment: string }
  | { type: 'withdraw'; userId: number }
  | { type: 'new_version'; userId: number }
  // userId is the user just deactivated; People no longer counts them as active
  | { type: 'approver_deactivated'; userId: number }
  | { type: 'structure_edited' };

export type ChainEffect =
  | { type: 'record_decision'; decision: ApprovalDecisionKind; step: number; userId: number | null; comment: string }
  | { type: 'set_document_state'; state: DocumentApprovalState }
  // the document case is now the responsibility of the step's (first) approver
  | { type: 'assign_case'; userId: number }
  | { type: 'close_case' }
  | { type: 'notify_approvers'; userIds: number[]; step: number }
  // the step's approvers are all gone: the admins take it over
  | { type: 'notify_admins'; userIds: number[]; step: number }
  | { type: 'notify_submitter'; outcome: 'approved' | 'sent_back'; comment: string }
  | { type: 'remove_document' }
  // the caller stores the new version and starts a fresh chain (startApprovalIfRequired)
  | { type: 'start_chain' };

export type Refusal =
  | 'not_approver'
  | 'already_decided'
  | 'comment_required'
  | 'not_submitter'
  | 'locked'
  | 'not_sent_back'
  | 'withdrawn';

export type Transition = { ok: true; state: ChainState; effects: ChainEffect[] } | { ok: false; reason: Refusal };

// A step's deciders: its active approvers; when none is left, the active admins. Never empty
// while an admin exists; with no admin at all the step keeps its names rather than nobody.
export function approversForStep(
  step: ApprovalChainStep,
  people: People,
): { approverIds: number[]; toAdmins: boolean } {
  const active = step.approverIds.filter((id) => people.activeUserIds.includes(id));
  if (active.length) return { approverIds: active, toAdmins: false };
  if (people.adminIds.length) return { approverIds: [...people.adminIds], toAdmins: true };
  return { approverIds: [...step.approverIds], toAdmins: false };
}

// The first state of a chain: step 1 with its approvers (or the admins when they are all gone).
export function startChain(steps: ApprovalChainStep[], people: People): Transition {
  const first = steps[0];
  if (!first) throw new Error('An approval chain needs at least one step');
  const { approverIds, toAdmins } = approversForStep(first, people);
  return {
    ok: true,
    state: { kind: 'pending', step: 0, approverIds },
    effects: [
      { type: 'set_document_state', state: 'pending' },
      ...(toAdmins
        ? [{ type: 'record_decision', decision: 'reassign', step: 0, userId: null, comment: '' } as const]
        : []),
      { type: 'assign_case', userId: approverIds[0] as number },
      toAdmins
        ? { type: 'notify_admins', userIds: approverIds, step: 0 }
        : { type: 'notify_approvers', userIds: approverIds, step: 0 },
    ],
  };
}

const refuse = (reason: Refusal): Transition => ({ ok: false, reason });
const unchanged = (state: ChainState): Transition => ({ ok: true, state, effects: [] });

export function transition(facts: ChainFacts, action: ChainAction, people: People): Transition {
  const { state } = facts;
  switch (action.type) {
    case 'approve':
    case 'send_back': {
      if (state.kind !== 'pending' || state.step !== action.step) return refuse('already_decided');
      if (!state.approverIds.includes(action.userId)) return refuse('not_approver');
      if (action.type === 'send_back') {
        const comment = action.comment.trim();
        if (!comment) return refuse('comment_required');
        return {
          ok: true,
          state: { kind: 'sent_back', step: state.step },
          effects: [
            { type: 'record_decision', decision: 'send_back', step: state.step, userId: action.userId, comment },
            { type: 'set_document_state', state: 'sent_back' },
            { type: 'close_case' },
            { type: 'notify_submitter', outcome: 'sent_back', comment },
          ],
        };
      }
      const decided: ChainEffect = {
        type: 'record_decision',
        decision: 'approve',
        step: state.step,
        userId: action.userId,
        comment: action.comment?.trim() ?? '',
      };
      const next = facts.steps[state.step + 1];
      if (!next) {
        return {
          ok: true,
          state: { kind: 'approved' },
          effects: [
            decided,
            { type: 'set_document_state', state: 'approved' },
            { type: 'close_case' },
            { type: 'notify_submitter', outcome: 'approved', comment: '' },
          ],
        };
      }
      const step = state.step + 1;
      const { approverIds, toAdmins } = approversForStep(next, people);
      return {
        ok: true,
        state: { kind: 'pending', step, approverIds },
        effects: [
          decided,
          ...(toAdmins
            ? [{ type: 'record_decision', decision: 'reassign', step, userId: null, comment: '' } as const]
            : []),
          { type: 'assign_case', userId: approverIds[0] as number },
          toAdmins
            ? { type: 'notify_admins', userIds: approverIds, step }
            : { type: 'notify_approvers', userIds: approverIds, step },
        ],
      };
    }
    case 'withdraw': {
      if (state.kind === 'withdrawn') return refuse('withdrawn');
      if (state.kind === 'pending') return refuse('locked');
      if (state.kind !== 'sent_back') return refuse('not_sent_back');
      if (action.userId !== facts.submittedBy) return refuse('not_submitter');
      return {
        ok: true,
        state: { kind: 'withdrawn' },
        effects: [
          { type: 'record_decision', decision: 'withdraw', step: state.step, userId: action.userId, comment: '' },
          { type: 'set_document_state', state: 'withdrawn' },
          { type: 'remove_document' },
        ],
      };
    }
    case 'new_version': {
      if (state.kind === 'withdrawn') return refuse('withdrawn');
      if (state.kind === 'pending') return refuse('locked');
      if (state.kind === 'sent_back' && action.userId !== facts.submittedBy) return refuse('not_submitter');
      // this chain is finished and stays as it is; the new version gets its own
      return { ok: true, state, effects: [{ type: 'start_chain' }] };
    }
    case 'approver_deactivated': {
      if (state.kind !== 'pending' || !state.approverIds.includes(action.userId)) return unchanged(state);
      const remaining = state.approverIds.filter((id) => id !== action.userId && people.activeUserIds.includes(id));
      if (remaining.length) {
        return {
          ok: true,
          state: { ...state, approverIds: remaining },
          effects: [{ type: 'assign_case', userId: remaining[0] as number }],
        };
      }
      const admins = people.adminIds.filter((id) => id !== action.userId);
      // nobody left at all: the step stays where it was rather than with no one
      if (!admins.length) return unchanged(state);
      return {
        ok: true,
        state: { ...state, approverIds: admins },
        effects: [
          { type: 'record_decision', decision: 'reassign', step: state.step, userId: null, comment: '' },
          { type: 'assign_case', userId: admins[0] as number },
          { type: 'notify_admins', userIds: admins, step: state.step },
        ],
      };
    }
    case 'structure_edited':
      return unchanged(state);
  }
}

// The HTTP status of a refused action, for the page and the API alike: not your turn (403),
// already decided or no longer possible (409), a send back without a comment (422).
export const refusalStatus = (reason: Refusal | 'not_found'): number =>
  reason === 'not_found'
    ? 404
    : reason === 'not_approver' || reason === 'not_submitter'
      ? 403
      : reason === 'comment_required'
        ? 422
        : 409;

// Why a refusal happened, as an i18n key for the user.
export const refusalMessageKey = (reason: Refusal) => `approvals.refused.${reason}`;
