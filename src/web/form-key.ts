import { formKeyPattern } from '../db/form-keys.ts';
import { HttpError } from './errors.ts';

// The one-time key a create form carries (src/db/form-keys.ts): none, or a well-formed one. A
// repeated field, an array or a malformed key is refused rather than taken as "no key", so a
// broken client learns of it instead of losing the double-submit guard unnoticed.
export function formKeyOf(body: unknown): string | null {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).form_key : undefined;
  if (value === undefined || value === '') return null;
  if (typeof value === 'string' && formKeyPattern.test(value)) return value;
  throw new HttpError(400, 'Invalid form key');
}
