import type { WorkOrderStatus } from '../db/schema.ts';

// The work order lifecycle as one table: from each status, the statuses a user may set next.
// Finished work can be taken up again (done → in progress, cancelled → planned); nothing jumps
// from finished straight to the other finished state, so the reason for ending stays honest.
export const workOrderStatuses = [
  'planned',
  'in_progress',
  'done',
  'cancelled',
] as const satisfies readonly WorkOrderStatus[];

const transitions: Record<WorkOrderStatus, readonly WorkOrderStatus[]> = {
  planned: ['in_progress', 'done', 'cancelled'],
  in_progress: ['planned', 'done', 'cancelled'],
  done: ['in_progress'],
  cancelled: ['planned'],
};

// Open work orders are the ones the unique index work_orders_one_open_per_case counts.
export function isOpenStatus(status: WorkOrderStatus): boolean {
  return status === 'planned' || status === 'in_progress';
}

export function canChangeStatus(from: WorkOrderStatus, to: WorkOrderStatus): boolean {
  return from === to || transitions[from].includes(to);
}

// What the status select offers: the current status first, then where it may go.
export function statusChoices(from: WorkOrderStatus): WorkOrderStatus[] {
  return workOrderStatuses.filter((s) => canChangeStatus(from, s));
}

export function isWorkOrderStatus(value: unknown): value is WorkOrderStatus {
  return workOrderStatuses.some((s) => s === value);
}
