// Approval structures in administration (A1): a named, ordered chain of approvers linked to
// document categories. Saving one touches no running chain: chains copy the steps at submission.
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import { checkbox, type FieldErrors, FormError, manyOf, parseId, singleLine } from '../forms/form.ts';

// The form as typed: kept whole when it is shown again with errors.
export type StructureValues = {
  name: string;
  active: boolean;
  // each step's user ids, in order; a step may be empty while the form is being edited
  steps: number[][];
  folderIds: number[];
};

// Ids picked in a multi-select, each once; anything that is not an id is dropped.
const ids = manyOf(z.string()).transform((values) => [
  ...new Set(values.map((v) => parseId(v)).filter((v): v is number => v !== null)),
]);

// The form's fields: name, active, step_count with step_0 … step_{n-1} (multi-selects of user
// ids), folder_ids (a multi-select), and op, the step button pressed. step_count is needed as an
// empty multi-select sends nothing.
export const structureFormSchema = z
  .object({
    name: singleLine().default(''),
    active: checkbox,
    step_count: z.string().default('0'),
    folder_ids: ids,
    op: z.string().default(''),
  })
  .catchall(ids);
export type StructureForm = z.output<typeof structureFormSchema>;

export function structureValuesFromForm(form: StructureForm): StructureValues {
  const count = Math.min(Math.max(Number.parseInt(form.step_count, 10) || 0, 0), 50);
  return {
    name: form.name,
    active: form.active,
    steps: Array.from({ length: count }, (_, i) => (form[`step_${i}`] as number[] | undefined) ?? []),
    folderIds: form.folder_ids,
  };
}

// The form's step buttons, which change the form without saving it (they work without JavaScript).
export type StepOperation = { op: 'add' } | { op: 'remove' | 'up' | 'down'; index: number };

export function parseStepOperation(v: string): StepOperation | null {
  if (v === 'add') return { op: 'add' };
  const m = /^(remove|up|down):(\d{1,2})$/.exec(v);
  return m ? { op: m[1] as 'remove' | 'up' | 'down', index: Number(m[2]) } : null;
}

export function applyStepOperation(values: StructureValues, operation: StepOperation): StructureValues {
  const steps = values.steps.map((s) => [...s]);
  if (operation.op === 'add') steps.push([]);
  else if (operation.op === 'remove') steps.splice(operation.index, 1);
  else {
    const to = operation.op === 'up' ? operation.index - 1 : operation.index + 1;
    if (to >= 0 && to < steps.length && operation.index < steps.length) {
      const [moved] = steps.splice(operation.index, 1);
      steps.splice(to, 0, moved as number[]);
    }
  }
  return { ...values, steps };
}

// Name required (at most 200) and unique, at least one step, each step at least one active user;
// categories must be non-system ones. Checked in the saving transaction.
async function checkStructure(trx: Db, id: number | null, values: StructureValues): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  if (!values.name) errors.name = 'errors.required';
  else if (values.name.length > 200) errors.name = 'errors.too_long';
  else {
    const taken = await trx
      .selectFrom('approval_structures')
      .select('id')
      .where(sql<boolean>`lower(name) = lower(${values.name})`)
      .$if(id !== null, (q) => q.where('id', '<>', id as number))
      .executeTakeFirst();
    if (taken) errors.name = 'errors.approvals.name_taken';
  }
  if (!values.steps.length) errors.steps = 'errors.approvals.steps_required';
  const userIds = [...new Set(values.steps.flat())];
  const active = userIds.length
    ? (await trx.selectFrom('users').select('id').where('id', 'in', userIds).where('active', '=', true).execute()).map(
        (u) => u.id,
      )
    : [];
  values.steps.forEach((step, i) => {
    if (!step.length || step.some((userId) => !active.includes(userId)))
      errors[`step_${i}`] = 'errors.approvals.step_users';
  });
  if (values.folderIds.length) {
    const folders = await trx
      .selectFrom('document_folders')
      .select('id')
      .where('id', 'in', values.folderIds)
      .where('system_key', 'is', null)
      .execute();
    if (folders.length !== values.folderIds.length) errors.folder_ids = 'errors.invalid';
  }
  return errors;
}

// Creates (id null) or replaces a structure: its name, active flag, steps and categories.
export async function saveStructure(db: Db, id: number | null, values: StructureValues): Promise<number> {
  try {
    return await db.transaction().execute(async (trx) => {
      if (id !== null) {
        // two admins saving the same structure: one after the other, never steps interleaved
        const row = await trx
          .selectFrom('approval_structures')
          .select('id')
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst();
        if (!row) throw new Error(`No approval structure ${id}`);
      }
      const errors = await checkStructure(trx, id, values);
      if (Object.keys(errors).length) throw new FormError(errors);
      const saved =
        id === null
          ? await trx
              .insertInto('approval_structures')
              .values({ name: values.name, active: values.active })
              .returning('id')
              .executeTakeFirstOrThrow()
          : await trx
              .updateTable('approval_structures')
              .set({ name: values.name, active: values.active, updated_at: new Date() })
              .where('id', '=', id)
              .returning('id')
              .executeTakeFirstOrThrow();
      await trx.deleteFrom('approval_structure_steps').where('structure_id', '=', saved.id).execute();
      await trx
        .insertInto('approval_structure_steps')
        .values(values.steps.map((approver_ids, i) => ({ structure_id: saved.id, position: i + 1, approver_ids })))
        .execute();
      await trx
        .updateTable('document_folders')
        .set({ approval_structure_id: null })
        .where('approval_structure_id', '=', saved.id)
        .$if(values.folderIds.length > 0, (q) => q.where('id', 'not in', values.folderIds))
        .execute();
      if (values.folderIds.length) {
        await trx
          .updateTable('document_folders')
          .set({ approval_structure_id: saved.id })
          .where('id', 'in', values.folderIds)
          .execute();
      }
      return saved.id;
    });
  } catch (error) {
    // a concurrent creation with the same name got there first
    if (uniqueViolation(error) === 'approval_structures_name_key')
      throw new FormError({ name: 'errors.approvals.name_taken' });
    throw error;
  }
}

export async function listStructures(db: Db) {
  const [structures, steps, folders, users] = await Promise.all([
    db.selectFrom('approval_structures').select(['id', 'name', 'active']).orderBy('name').execute(),
    db
      .selectFrom('approval_structure_steps')
      .select(['structure_id', 'approver_ids'])
      .orderBy('structure_id')
      .orderBy('position')
      .execute(),
    db
      .selectFrom('document_folders')
      .select(['name', 'approval_structure_id'])
      .where('approval_structure_id', 'is not', null)
      .orderBy('position')
      .orderBy('name')
      .execute(),
    db.selectFrom('users').select(['id', 'login']).execute(),
  ]);
  const login = (userId: number) => users.find((u) => u.id === userId)?.login ?? String(userId);
  return structures.map((s) => ({
    ...s,
    steps: steps.filter((st) => st.structure_id === s.id).map((st) => st.approver_ids.map(login)),
    categories: folders.filter((f) => f.approval_structure_id === s.id).map((f) => f.name),
  }));
}

export async function findStructureValues(db: Db, id: number): Promise<StructureValues | undefined> {
  const structure = await db
    .selectFrom('approval_structures')
    .select(['id', 'name', 'active'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!structure) return undefined;
  const [steps, folders] = await Promise.all([
    db
      .selectFrom('approval_structure_steps')
      .select('approver_ids')
      .where('structure_id', '=', id)
      .orderBy('position')
      .execute(),
    db.selectFrom('document_folders').select('id').where('approval_structure_id', '=', id).execute(),
  ]);
  return {
    name: structure.name,
    active: structure.active,
    steps: steps.map((s) => s.approver_ids),
    folderIds: folders.map((f) => f.id),
  };
}

// What the form offers: active users (plus inactive ones still named in the structure, so the
// form shows them and asks for a replacement), and the non-system document categories.
export async function loadStructureFormOptions(db: Db, values: StructureValues) {
  const named = values.steps.flat();
  const [users, folders] = await Promise.all([
    db
      .selectFrom('users')
      .select(['id', 'login', 'name', 'active'])
      .where((eb) => (named.length ? eb.or([eb('active', '=', true), eb('id', 'in', named)]) : eb('active', '=', true)))
      .orderBy('login')
      .execute(),
    db
      .selectFrom('document_folders')
      .leftJoin('approval_structures', 'approval_structures.id', 'document_folders.approval_structure_id')
      .select([
        'document_folders.id',
        'document_folders.name',
        'document_folders.active',
        'approval_structures.name as structure_name',
      ])
      .where('document_folders.system_key', 'is', null)
      .orderBy('document_folders.position')
      .orderBy('document_folders.name')
      .execute(),
  ]);
  return { users, folders };
}
