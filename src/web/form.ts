import { z } from 'zod';

// Field name → message key in the catalogues (errors.*). Templates show each beside its field.
export type FieldErrors = Record<string, string>;

export class FormError extends Error {
  constructor(readonly fields: FieldErrors) {
    super(`Invalid form: ${Object.keys(fields).join(', ')}`);
  }
}

export const requiredText = (max: number) =>
  z.string('errors.required').trim().min(1, 'errors.required').max(max, 'errors.too_long');

export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, 'errors.too_long')
    .optional()
    .transform((s) => (s ? s : null));

export const checkbox = z
  .union([z.literal('on'), z.literal('true'), z.literal('1'), z.literal('')])
  .optional()
  .transform((v) => v === 'on' || v === 'true' || v === '1');

export function parseForm<S extends z.ZodType>(
  schema: S,
  body: unknown,
): { ok: true; data: z.output<S> } | { ok: false; errors: FieldErrors } {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return { ok: true, data: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? '_form');
    errors[field] ??= issue.message.startsWith('errors.') ? issue.message : 'errors.invalid';
  }
  return { ok: false, errors };
}
