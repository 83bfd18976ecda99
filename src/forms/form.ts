import { z } from 'zod';

// The one layer between what a request carries and what routes and domain code use: every form
// body and query string is read through a schema here (parseForm, parseQuery), and every id in a
// path through parseId / parseBigId. A browser sends a single-valued field once; one sent more
// often (qs gives an array) is refused with errors.repeated, for every form and query alike.

// Field name → message key in the catalogues (errors.*). Templates show each beside its field.
export type FieldErrors = Record<string, string>;

// Routes catch it to show the form again beside its errors; one that reaches the error handler
// answers 422 with the first field's message.
export class FormError extends Error {
  readonly statusCode = 422;
  constructor(readonly fields: FieldErrors) {
    super(`Invalid form: ${Object.keys(fields).join(', ')}`);
  }

  get messageKey(): string {
    return Object.values(this.fields)[0] ?? 'errors.invalid';
  }
}

// A urlencoded body or a query string as parsed: a field sent once is a string, one sent more
// often an array. Only the schemas below look inside.
export type RawForm = Record<string, string | string[] | undefined>;

// The body or query as a plain record; anything else (no body, a multipart request whose fields
// the handler streams) reads as an empty form.
export function rawForm(input: unknown): RawForm {
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as RawForm) : {};
}

// Line breaks, tabs, NULs and the other control characters (and the Unicode line and paragraph
// separators) in a field that is one line: a title, a name, a subject. Each run becomes one space.
const lineBreaking = /[\p{Cc}\u2028\u2029]+/gu;
const spaces = / {2,}/g;
export const toSingleLine = (text: string): string => text.replace(lineBreaking, ' ').replace(spaces, ' ').trim();

// A field of several lines keeps its line breaks (as \n) and tabs, and loses every other control
// character: PostgreSQL refuses NUL, and the rest only ever arrive by accident.
const otherControls = /[^\P{Cc}\n\t]/gu;
export const toMultiLine = (text: string): string => text.replace(/\r\n?/g, '\n').replace(otherControls, '');

// One line of text, normalised: the base of every single-line field (a string schema still, so
// .min(), .max() and .regex() check the normalised text).
export const singleLine = () => z.string('errors.required').overwrite(toSingleLine);
// Several lines of text (or HTML before it is sanitised), normalised.
export const multiLine = () => z.string('errors.required').overwrite(toMultiLine);

export const requiredText = (max: number) => singleLine().min(1, 'errors.required').max(max, 'errors.too_long');

export const optionalText = (max: number) =>
  singleLine()
    .max(max, 'errors.too_long')
    .optional()
    .transform((s) => (s ? s : null));

// Multi-line text, empty when absent.
export const optionalMultiLine = (max: number) => multiLine().max(max, 'errors.too_long').default('');

export const checkbox = z
  .union([z.literal('on'), z.literal('true'), z.literal('1'), z.literal('')])
  .optional()
  .transform((v) => v === 'on' || v === 'true' || v === '1');

// A field that may come more than once (a multi-select, checkboxes of one name): always a list.
export const manyOf = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())], 'errors.invalid')
    .optional()
    .transform((v) => (v === undefined ? [] : [v].flat()))
    .pipe(z.array(item));

// A query string field: one line of text, or absent.
export const queryText = singleLine().optional();

// The lists' "inactive too" (?inactive=1).
export const inactiveQuerySchema = z.object({ inactive: queryText });

// Activation is a sub-resource: POST active=1 to activate, active=0 to deactivate.
const activationSchema = z.object({ active: z.enum(['1', '0'], 'errors.invalid') });
export function parseActivation(body: unknown): boolean {
  const form = parseForm(activationSchema, body);
  if (!form.ok) throw new FormError(form.errors);
  return form.data.active === '1';
}

// The version a form was opened at (a hidden field), for the stale-edit check.
export const versionField = z.coerce.number('errors.invalid').int('errors.invalid');

type Parsed<S extends z.ZodType> = { ok: true; data: z.output<S> } | { ok: false; errors: FieldErrors };

export function parseForm<S extends z.ZodType>(schema: S, body: unknown): Parsed<S> {
  const raw = rawForm(body);
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, data: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? '_form');
    errors[field] ??= Array.isArray(raw[field])
      ? 'errors.repeated'
      : issue.message.startsWith('errors.')
        ? issue.message
        : 'errors.invalid';
  }
  return { ok: false, errors };
}

// A page's query string, for the lenient readers of filters: its fields as strings, or a
// FormError (422) for a field that came more than once or as anything but text.
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const form = parseForm(schema, query);
  if (!form.ok) throw new FormError(form.errors);
  return form.data;
}

// A form's typed values to show again beside its errors: each field as text (a repeated field by
// its first value), the fields named in `lists` as lists.
export function typedValues(body: unknown, lists: readonly string[] = []): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawForm(body))) {
    if (lists.includes(name)) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') values[name] = first;
  }
  return values;
}

export function typedList(body: unknown, name: string): string[] {
  const value = rawForm(body)[name];
  return [value ?? []].flat().filter((v): v is string => typeof v === 'string');
}

// Ids in a path or a field: serial integers (int4), or bigserial ids kept as text (int8).
// Anything else, or past the column's range, names no row: null, which the route answers 404.
const maxInt4 = 2_147_483_647;
const maxInt8 = 9_223_372_036_854_775_807n;

export function parseId(text: unknown): number | null {
  if (typeof text !== 'string' || !/^[1-9]\d{0,9}$/.test(text)) return null;
  const id = Number(text);
  return id <= maxInt4 ? id : null;
}

export function parseBigId(text: unknown): string | null {
  if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text)) return null;
  return BigInt(text) <= maxInt8 ? text : null;
}

// A row picked in a form (a <select>'s value, a hidden field): read as parseId reads a path id,
// so a form and a URL accept the same ids. message: what the form says when none is picked.
export const idField = (message = 'errors.required') =>
  z.union([z.string(), z.number()], message).transform((value, ctx) => {
    const text = String(value).trim();
    const id = parseId(text);
    if (id === null) ctx.addIssue({ code: 'custom', message });
    return id ?? z.NEVER;
  });

// The same where none is a choice: empty or absent is null.
export const optionalIdField = z
  .union([z.string(), z.number()], 'errors.invalid')
  .optional()
  .transform((value, ctx) => {
    const text = String(value ?? '').trim();
    if (text === '') return null;
    const id = parseId(text);
    if (id === null) ctx.addIssue({ code: 'custom', message: 'errors.invalid' });
    return id ?? z.NEVER;
  });

// Several rows picked (checkboxes, a multi-select of one name); bigId for bigserial ids.
export const idListField = manyOf(z.string().refine((v) => parseId(v) !== null, 'errors.invalid')).transform((v) =>
  v.map(Number),
);
export const bigIdListField = manyOf(z.string().refine((v) => parseBigId(v) !== null, 'errors.invalid'));
