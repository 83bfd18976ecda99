import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import { checkbox, FormError, optionalIdField, requiredText } from '../forms/form.ts';
import { findFolder } from './queries.ts';

// Document categories (document_folders) as administration keeps them. The mail folders
// (system_key email_in / email_out) are filled by the system: they may be renamed, but stay
// active, and never get an approval structure, so a customer's mail is never locked on arrival.

const maxInteger = 2_147_483_647;

export const categorySchema = z.object({
  name: requiredText(100),
  position: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || '0')
    .pipe(z.string().regex(/^-?\d{1,10}$/, 'errors.number'))
    .transform(Number)
    .pipe(z.number().min(-maxInteger, 'errors.invalid').max(maxInteger, 'errors.invalid')),
  active: checkbox,
  approval_structure_id: optionalIdField,
});
export type CategoryInput = z.output<typeof categorySchema>;

// The rules no schema can see: what a system folder may not be, and that a structure exists and
// is in use (an inactive one only if the category already has it).
async function checkCategory(
  db: Db,
  input: CategoryInput,
  existing?: { system_key: string | null; approval_structure_id: number | null },
) {
  const errors: Record<string, string> = {};
  if (existing?.system_key) {
    if (!input.active) errors.active = 'errors.category_system_inactive';
    if (input.approval_structure_id !== null) errors.approval_structure_id = 'errors.category_system_structure';
  }
  if (input.approval_structure_id !== null && !errors.approval_structure_id) {
    const structure = await db
      .selectFrom('approval_structures')
      .select(['id', 'active'])
      .where('id', '=', input.approval_structure_id)
      .executeTakeFirst();
    const keeps = existing?.approval_structure_id === input.approval_structure_id;
    if (!structure || (!structure.active && !keeps)) errors.approval_structure_id = 'errors.invalid';
  }
  if (Object.keys(errors).length) throw new FormError(errors);
}

function nameTaken(error: unknown): FormError | null {
  return uniqueViolation(error) === 'document_folders_name_key' ? new FormError({ name: 'errors.name_taken' }) : null;
}

export async function createCategory(db: Db, input: CategoryInput) {
  await checkCategory(db, input);
  try {
    return await db
      .insertInto('document_folders')
      .values({
        name: input.name,
        position: input.position,
        active: input.active,
        approval_structure_id: input.approval_structure_id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  } catch (error) {
    throw nameTaken(error) ?? error;
  }
}

// A changed structure applies to documents added from now on; running chains keep their snapshot.
export async function updateCategory(db: Db, id: number, input: CategoryInput) {
  const existing = await findFolder(db, id);
  if (!existing) return undefined;
  await checkCategory(db, input, existing);
  try {
    return await db
      .updateTable('document_folders')
      .set({
        name: input.name,
        position: input.position,
        active: input.active,
        approval_structure_id: input.approval_structure_id,
      })
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst();
  } catch (error) {
    throw nameTaken(error) ?? error;
  }
}
