import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { WorkOrderStatus } from '../db/schema.ts';
import { canChangeStatus, isOpenStatus, statusChoices, workOrderStatuses } from './lifecycle.ts';

const test = suite('The work order lifecycle');

// Every pair, written out: a change to the table shows here as a failing line.
const expected: Record<WorkOrderStatus, Record<WorkOrderStatus, boolean>> = {
  planned: { planned: true, in_progress: true, done: true, cancelled: true },
  in_progress: { planned: true, in_progress: true, done: true, cancelled: true },
  done: { planned: false, in_progress: true, done: true, cancelled: false },
  cancelled: { planned: true, in_progress: false, done: false, cancelled: true },
};

for (const from of workOrderStatuses) {
  for (const to of workOrderStatuses) {
    test(`${from} → ${to} is ${expected[from][to] ? 'allowed' : 'refused'}`, () => {
      assert.is(canChangeStatus(from, to), expected[from][to]);
    });
  }
}

test('the status select offers the current status and where it may go', () => {
  assert.equal(statusChoices('done'), ['in_progress', 'done']);
  assert.equal(statusChoices('planned'), ['planned', 'in_progress', 'done', 'cancelled']);
});

test('only planned and in-progress work orders are open', () => {
  assert.equal(
    workOrderStatuses.filter((s) => isOpenStatus(s)),
    ['planned', 'in_progress'],
  );
});

test.run();
