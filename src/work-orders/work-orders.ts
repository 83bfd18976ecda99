import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { applyCaseEvent, recordCaseEvent } from '../cases/case-events.ts';
import { linkCaseToWorkOrder } from '../cases/cases.ts';
import { findStatusOfKind } from '../cases/statuses.ts';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { Database, User, WorkOrderStatus } from '../db/schema.ts';
import {
  type FieldErrors,
  FormError,
  idField,
  optionalIdField,
  optionalMultiLine,
  requiredText,
} from '../forms/form.ts';
import { sanitizeRichText } from '../rich-text/sanitize.ts';
import { isNoneOrActiveUser } from '../users/queries.ts';
import { canChangeStatus, workOrderStatuses } from './lifecycle.ts';
import { allocateNumber } from './numbers.ts';

const projectId = idField('errors.project_required');

export const workOrderSchema = z.object({
  name: requiredText(200),
  project_id: projectId,
  responsible_id: optionalIdField,
  status: z.enum(workOrderStatuses, 'errors.invalid').default('planned'),
  description_html: optionalMultiLine(1_000_000).transform(sanitizeRichText),
});
export type WorkOrderInput = z.output<typeof workOrderSchema>;

// What "Create work order" on a case asks for (H2); the rest comes from the case.
export const workOrderFromCaseSchema = z.object({
  project_id: projectId,
  responsible_id: optionalIdField,
  name: requiredText(200),
});
export type WorkOrderFromCaseInput = z.output<typeof workOrderFromCaseSchema>;

export type WorkOrderRef = { id: number; number: string };

export class StaleWorkOrderError extends Error {
  constructor() {
    super('The work order was changed by someone else');
  }
}

// A new work order needs an active project; an existing one may stay on a project since deactivated.
async function checkReferences(
  trx: Transaction<Database>,
  input: { project_id: number; responsible_id: number | null },
  keptProjectId: number | null = null,
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const [project, responsibleOk] = await Promise.all([
    trx.selectFrom('projects').select(['id', 'active']).where('id', '=', input.project_id).executeTakeFirst(),
    isNoneOrActiveUser(trx, input.responsible_id),
  ]);
  if (!project || (!project.active && project.id !== keptProjectId)) errors.project_id = 'errors.project_required';
  if (!responsibleOk) errors.responsible_id = 'errors.invalid';
  return errors;
}

// With the form's one-time key, a second submit of the same form gets the first work order.
export async function createWorkOrder(
  db: Db,
  input: WorkOrderInput,
  actor: User,
  opts: { formKey?: string | null } = {},
): Promise<WorkOrderRef> {
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, { key: opts.formKey, userId: actor.id, form: 'work-order', content: input }, async () => {
      const errors = await checkReferences(trx, input);
      if (Object.keys(errors).length) throw new FormError(errors);
      const number = await allocateNumber(trx, 'work_orders');
      return trx
        .insertInto('work_orders')
        .values({ ...input, number, created_by: actor.id })
        .returning(['id', 'number'])
        .executeTakeFirstOrThrow();
    }),
  );
}

// Saves if nobody saved since `version`, and only along the lifecycle (lifecycle.ts).
export async function updateWorkOrder(
  db: Db,
  id: number,
  version: number,
  input: WorkOrderInput,
): Promise<WorkOrderRef> {
  try {
    return await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('work_orders')
        .select(['id', 'number', 'version', 'status', 'project_id'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (current.version !== version) throw new StaleWorkOrderError();
      const errors = await checkReferences(trx, input, current.project_id);
      if (!canChangeStatus(current.status, input.status)) errors.status = 'errors.work_order_status_change';
      if (Object.keys(errors).length) throw new FormError(errors);
      return trx
        .updateTable('work_orders')
        .set({ ...input, version: current.version + 1, updated_at: new Date() })
        .where('id', '=', id)
        .returning(['id', 'number'])
        .executeTakeFirstOrThrow();
    });
  } catch (error) {
    // Taking a finished work order up again while its case has another open one.
    if (uniqueViolation(error) === 'work_orders_one_open_per_case') {
      throw new FormError({ status: 'errors.work_order_case_has_open' });
    }
    throw error;
  }
}

const openStatuses: WorkOrderStatus[] = ['planned', 'in_progress'];

export async function findOpenWorkOrderOfCase(db: Kysely<Database>, caseId: number): Promise<WorkOrderRef | undefined> {
  return db
    .selectFrom('work_orders')
    .select(['id', 'number'])
    .where('case_id', '=', caseId)
    .where('status', 'in', openStatuses)
    .executeTakeFirst();
}

// H2: the work order, the case's link to it and its "To work order" status, in one transaction,
// with the history row the case's History tab shows. A case with an open work order gets that
// one back (created: false) instead of a second; a second submit of the same form (its one-time
// key) gets the first answer.
export async function createWorkOrderFromCase(
  db: Db,
  caseId: number,
  input: WorkOrderFromCaseInput,
  actor: User,
  opts: { formKey?: string | null } = {},
): Promise<{ workOrder: WorkOrderRef; created: boolean }> {
  const submit = { key: opts.formKey, userId: actor.id, form: `work-order:${caseId}`, content: input };
  try {
    return await db.transaction().execute((trx) =>
      oncePerFormKey(trx, submit, async () => {
        // Locking the case makes a second click (or a colleague) wait here, then find the first one.
        await trx.selectFrom('cases').select('id').where('id', '=', caseId).forUpdate().executeTakeFirstOrThrow();
        const existing = await findOpenWorkOrderOfCase(trx, caseId);
        if (existing) return { workOrder: existing, created: false };

        const errors = await checkReferences(trx, input);
        if ((await findStatusOfKind(trx, 'work_order')) === null) errors._form = 'errors.no_work_order_status';
        if (Object.keys(errors).length) throw new FormError(errors);

        const number = await allocateNumber(trx, 'work_orders');
        const workOrder = await trx
          .insertInto('work_orders')
          .values({ ...input, number, case_id: caseId, created_by: actor.id })
          .returning(['id', 'number'])
          .executeTakeFirstOrThrow();
        await linkCaseToWorkOrder(trx, caseId, workOrder.id);
        await applyCaseEvent(trx, caseId, { type: 'work_order_created' }, actor);
        await recordCaseEvent(trx, caseId, 'work_order_created', actor, { new_value: workOrder.number });
        return { workOrder, created: true };
      }),
    );
  } catch (error) {
    // The index work_orders_one_open_per_case caught a race the lock did not (e.g. a work order
    // taken up again meanwhile): show the open one.
    if (uniqueViolation(error) === 'work_orders_one_open_per_case') {
      const existing = await findOpenWorkOrderOfCase(db, caseId);
      if (existing) return { workOrder: existing, created: false };
    }
    throw error;
  }
}
