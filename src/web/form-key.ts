import { z } from 'zod';
import { formKeyPattern } from '../db/form-keys.ts';
import { FormError, parseForm } from '../forms/form.ts';

// The one-time key a create form carries (src/db/form-keys.ts): none, or a well-formed one. A
// repeated field or a malformed key is refused (422, like every form field) rather than taken as
// "no key", so a broken client learns of it instead of losing the double-submit guard unnoticed.
const formKeySchema = z.object({
  form_key: z.union([z.literal(''), z.string().regex(formKeyPattern)], 'errors.invalid').optional(),
});

export function formKeyOf(body: unknown): string | null {
  const form = parseForm(formKeySchema, body);
  if (!form.ok) throw new FormError(form.errors);
  return form.data.form_key || null;
}
