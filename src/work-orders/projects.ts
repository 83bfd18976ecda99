import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import type { Database, User } from '../db/schema.ts';
import { checkbox, type FieldErrors, FormError, optionalIdField, optionalText, requiredText } from '../forms/form.ts';
import { isNoneOrActiveUser } from '../users/queries.ts';
import { allocateNumber } from './numbers.ts';

// A project number is part of its URL; "new" is the new-project page, and "." or ".." would
// make its link point at /projects or /.
const projectNumber = optionalText(32).pipe(
  z
    .string()
    .regex(/^[\p{L}\p{N}._-]+$/u, 'errors.project_number_format')
    .refine((n) => n.toLowerCase() !== 'new' && n !== '.' && n !== '..', 'errors.project_number_format')
    .nullable(),
);

export const projectSchema = z.object({
  // Blank takes the next number of the projects series.
  number: projectNumber,
  name: requiredText(200),
  customer_id: optionalIdField,
  responsible_id: optionalIdField,
  active: checkbox,
});
export type ProjectInput = z.output<typeof projectSchema>;

export type Project = {
  id: number;
  number: string;
  name: string;
  customer_id: number | null;
  responsible_id: number | null;
  active: boolean;
  version: number;
};
const projectColumns = ['id', 'number', 'name', 'customer_id', 'responsible_id', 'active', 'version'] as const;

export class StaleProjectError extends Error {
  constructor() {
    super('The project was changed by someone else');
  }
}

export class ProjectInUseError extends Error {
  constructor(
    readonly workOrders: number,
    readonly documents = 0,
  ) {
    super(`The project has ${workOrders} work orders and ${documents} documents`);
  }
}

async function checkReferences(trx: Transaction<Database>, input: ProjectInput): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const [customer, responsibleOk] = await Promise.all([
    input.customer_id
      ? trx.selectFrom('customers').select('id').where('id', '=', input.customer_id).executeTakeFirst()
      : { id: 0 },
    isNoneOrActiveUser(trx, input.responsible_id),
  ]);
  if (!customer) errors.customer_id = 'errors.customer_required';
  if (!responsibleOk) errors.responsible_id = 'errors.invalid';
  return errors;
}

function numberTaken(error: unknown): FormError | null {
  return uniqueViolation(error) === 'projects_number_key'
    ? new FormError({ number: 'errors.project_number_taken' })
    : null;
}

// The series' next number that no one has typed by hand yet.
async function nextFreeProjectNumber(trx: Transaction<Database>): Promise<string> {
  for (let tries = 0; tries < 1000; tries++) {
    const number = await allocateNumber(trx, 'projects');
    const taken = await trx.selectFrom('projects').select('id').where('number', '=', number).executeTakeFirst();
    if (!taken) return number;
  }
  throw new FormError({ number: 'errors.project_number_taken' });
}

// Inside the caller's transaction when given one (the API's Idempotency-Key claims its key in it).
export async function createProject(db: Db, input: ProjectInput, actor: User): Promise<Project> {
  if (!db.isTransaction) return db.transaction().execute((trx) => createProject(trx, input, actor));
  const trx = db as Transaction<Database>;
  const errors = await checkReferences(trx, input);
  if (Object.keys(errors).length) throw new FormError(errors);
  try {
    const number = input.number ?? (await nextFreeProjectNumber(trx));
    return await trx
      .insertInto('projects')
      .values({ ...input, number, created_by: actor.id })
      .returning(projectColumns)
      .executeTakeFirstOrThrow();
  } catch (error) {
    throw numberTaken(error) ?? error;
  }
}

export async function updateProject(db: Db, id: number, version: number, input: ProjectInput): Promise<Project> {
  try {
    return await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('projects')
        .select(projectColumns)
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (current.version !== version) throw new StaleProjectError();
      const errors = await checkReferences(trx, input);
      if (Object.keys(errors).length) throw new FormError(errors);
      return trx
        .updateTable('projects')
        .set({ ...input, number: input.number ?? current.number, version: current.version + 1, updated_at: new Date() })
        .where('id', '=', id)
        .returning(projectColumns)
        .executeTakeFirstOrThrow();
    });
  } catch (error) {
    throw numberTaken(error) ?? error;
  }
}

export function mayDeleteProject(user: Pick<User, 'role'>): boolean {
  return user.role === 'admin';
}

// Only an empty project goes: its work orders (and the cases they came from) keep their project,
// and its documents (which the database would delete with it) stay where they are filed.
// The lock makes a work order created meanwhile wait, so the count cannot go stale.
export async function deleteProject(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.selectFrom('projects').select('id').where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
    const [{ n: workOrders }, { n: documents }] = await Promise.all([
      trx
        .selectFrom('work_orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', id)
        .executeTakeFirstOrThrow(),
      trx
        .selectFrom('documents')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow(),
    ]);
    if (workOrders > 0 || documents > 0) throw new ProjectInUseError(workOrders, documents);
    await trx.deleteFrom('projects').where('id', '=', id).execute();
  });
}
