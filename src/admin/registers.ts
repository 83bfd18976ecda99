import { type Kysely, type Selectable, sql } from 'kysely';
import { z } from 'zod';
import { formatCaseNumber } from '../cases/number-series.ts';
import { tablesChanged } from '../db/cached.ts';
import { uniqueViolation } from '../db/errors.ts';
import type { Database, Language, NumberSeriesPurpose, StatusKind } from '../db/schema.ts';
import { FormError, multiLine, requiredText, singleLine } from '../forms/form.ts';
import type { MessageKey } from '../i18n/en.ts';
import type { Translate } from '../i18n/i18n.ts';
import { seededName } from '../i18n/seeded-names.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';

// The small administration registers share one engine: each is described once below, and the
// generic functions build their SQL from the description's column names (checked against the
// schema types here, so no name from a request ever reaches the SQL).

export type RegisterTable = 'case_types' | 'case_statuses' | 'priorities' | 'number_series' | 'canned_replies';
// system_key marks rows the system itself relies on; no form sets it
type ColumnOf<T extends RegisterTable> = Exclude<
  keyof Selectable<Database[T]> & string,
  'id' | 'active' | 'system_key'
>;

export type RegisterValue = string | number | null;
export type RegisterValues = Record<string, RegisterValue>;
export type RegisterRow = { id: number; active: boolean; [column: string]: RegisterValue | boolean | undefined };
// What a form shows: the strings typed, or a stored row written out as strings.
export type FormValues = Record<string, string | undefined>;

export type RegisterField<C extends string = string> = {
  name: C;
  labelKey: MessageKey;
  type: 'text' | 'number' | 'select' | 'richtext';
  required: boolean;
  options?: readonly { value: string; labelKey: MessageKey }[];
};

export type ListColumn<C extends string = string> = {
  name: C;
  labelKey: MessageKey;
  // Defaults to the column's value as it is.
  text?: (row: RegisterRow, t: Translate) => string;
  // A name the migrations seeded in Swedish: an English reader sees it in English (seeded-names.ts).
  seeded?: boolean;
};

export type Register = {
  slug: string;
  titleKey: MessageKey;
  table: RegisterTable;
  fields: readonly RegisterField[];
  schema: z.ZodType<RegisterValues>;
  defaults: FormValues;
  columns: readonly ListColumn[];
  orderBy: readonly string[];
  // Unique constraint name → the field it concerns and the message shown beside it.
  uniqueErrors: Readonly<Record<string, { field: string; errorKey: MessageKey }>>;
  // A line under the form showing what the values typed will produce.
  preview?: { labelKey: MessageKey; text: (values: FormValues) => string | null };
};

type RegisterSpec<T extends RegisterTable> = Register & {
  table: T;
  fields: readonly RegisterField<ColumnOf<T>>[];
  schema: z.ZodType<Pick<Selectable<Database[T]>, ColumnOf<T>>>;
  defaults: Partial<Record<ColumnOf<T>, string>>;
  columns: readonly ListColumn<ColumnOf<T>>[];
  orderBy: readonly ColumnOf<T>[];
  uniqueErrors: Readonly<Record<string, { field: ColumnOf<T>; errorKey: MessageKey }>>;
};

const maxInteger = 2_147_483_647;

const integer = (min: number, max: number, belowKey: MessageKey, aboveKey: MessageKey) =>
  z
    .string('errors.required')
    .trim()
    .min(1, 'errors.required')
    .regex(/^-?\d+$/, 'errors.number')
    .transform(Number)
    .pipe(z.number().min(min, belowKey).max(max, aboveKey));

// Empty means 0: the order only matters between rows that have one.
const position = z
  .string()
  .trim()
  .optional()
  .transform((v) => v || '0')
  .pipe(integer(-maxInteger, maxInteger, 'errors.invalid', 'errors.invalid'));

const statusKinds = ['open', 'waiting', 'work_order', 'closed'] as const satisfies readonly StatusKind[];

const richText = multiLine()
  .max(100_000, 'errors.too_long')
  .transform(sanitizeRichText)
  .refine((html) => !isBlankRichText(html), 'errors.required');

const active = (row: RegisterRow, t: Translate) => t(row.active ? 'common.active' : 'common.inactive');

const caseTypes = {
  slug: 'case-types',
  titleKey: 'admin.case_types',
  table: 'case_types',
  fields: [
    { name: 'name', labelKey: 'registers.name', type: 'text', required: true },
    { name: 'position', labelKey: 'registers.position', type: 'number', required: false },
  ],
  schema: z.object({ name: requiredText(100), position }),
  defaults: { position: '0' },
  columns: [
    { name: 'name', labelKey: 'registers.name', seeded: true },
    { name: 'position', labelKey: 'registers.position' },
  ],
  orderBy: ['position', 'name'],
  uniqueErrors: { case_types_name_key: { field: 'name', errorKey: 'errors.name_taken' } },
} satisfies RegisterSpec<'case_types'>;

const statuses = {
  slug: 'statuses',
  titleKey: 'admin.statuses',
  table: 'case_statuses',
  fields: [
    { name: 'name', labelKey: 'registers.name', type: 'text', required: true },
    {
      name: 'kind',
      labelKey: 'registers.kind',
      type: 'select',
      required: true,
      options: statusKinds.map((kind) => ({ value: kind, labelKey: `registers.kind.${kind}` as const })),
    },
    { name: 'position', labelKey: 'registers.position', type: 'number', required: false },
  ],
  schema: z.object({ name: requiredText(100), kind: z.enum(statusKinds, 'errors.required'), position }),
  defaults: { kind: 'open', position: '0' },
  columns: [
    { name: 'name', labelKey: 'registers.name', seeded: true },
    { name: 'kind', labelKey: 'registers.kind', text: (row, t) => t(`registers.kind.${row.kind}`) },
    { name: 'position', labelKey: 'registers.position' },
  ],
  orderBy: ['position', 'name'],
  uniqueErrors: { case_statuses_name_key: { field: 'name', errorKey: 'errors.name_taken' } },
} satisfies RegisterSpec<'case_statuses'>;

const priorities = {
  slug: 'priorities',
  titleKey: 'admin.priorities',
  table: 'priorities',
  fields: [
    { name: 'name', labelKey: 'registers.name', type: 'text', required: true },
    { name: 'rank', labelKey: 'registers.rank', type: 'number', required: true },
  ],
  schema: z.object({ name: requiredText(100), rank: integer(1, maxInteger, 'errors.positive', 'errors.too_large') }),
  defaults: {},
  columns: [
    { name: 'name', labelKey: 'registers.name', seeded: true },
    { name: 'rank', labelKey: 'registers.rank' },
  ],
  orderBy: ['rank', 'name'],
  uniqueErrors: { priorities_name_key: { field: 'name', errorKey: 'errors.name_taken' } },
} satisfies RegisterSpec<'priorities'>;

// The preview is shown while typing too, so it must survive values that do not validate.
function nextNumberExample(values: FormValues): string | null {
  const next = values.next_number?.trim() ?? '';
  const digits = values.digits?.trim() ?? '';
  if (!/^\d{1,15}$/.test(next) || !/^\d{1,2}$/.test(digits)) return null;
  const [n, d] = [Number(next), Number(digits)];
  if (n < 1 || d < 1 || d > 12) return null;
  return formatCaseNumber(values.prefix?.trim() ?? '', n, d);
}

const seriesPurposes = ['cases', 'projects', 'work_orders'] as const satisfies readonly NumberSeriesPurpose[];

const numberSeries = {
  slug: 'number-series',
  titleKey: 'admin.number_series',
  table: 'number_series',
  fields: [
    { name: 'name', labelKey: 'registers.name', type: 'text', required: true },
    { name: 'prefix', labelKey: 'registers.prefix', type: 'text', required: false },
    { name: 'next_number', labelKey: 'registers.next_number', type: 'number', required: true },
    { name: 'digits', labelKey: 'registers.digits', type: 'number', required: true },
    {
      name: 'purpose',
      labelKey: 'registers.purpose',
      type: 'select',
      required: true,
      options: seriesPurposes.map((purpose) => ({ value: purpose, labelKey: `registers.purpose.${purpose}` as const })),
    },
  ],
  schema: z.object({
    name: requiredText(100),
    prefix: singleLine()
      .max(20, 'errors.too_long')
      .optional()
      .transform((v) => v ?? ''),
    next_number: integer(1, maxInteger, 'errors.positive', 'errors.too_large'),
    digits: integer(1, 12, 'errors.digits_range', 'errors.digits_range'),
    purpose: z.enum(seriesPurposes, 'errors.required'),
  }),
  defaults: { next_number: '1', digits: '5', purpose: 'cases' },
  columns: [
    { name: 'name', labelKey: 'registers.name', seeded: true },
    { name: 'purpose', labelKey: 'registers.purpose', text: (row, t) => t(`registers.purpose.${row.purpose}`) },
    { name: 'prefix', labelKey: 'registers.prefix' },
    {
      name: 'next_number',
      labelKey: 'registers.example',
      text: (row) => formatCaseNumber(String(row.prefix ?? ''), Number(row.next_number), Number(row.digits)),
    },
  ],
  orderBy: ['name'],
  uniqueErrors: { number_series_name_key: { field: 'name', errorKey: 'errors.name_taken' } },
  preview: { labelKey: 'registers.example', text: nextNumberExample },
} satisfies RegisterSpec<'number_series'>;

const cannedReplies = {
  slug: 'canned-replies',
  titleKey: 'admin.canned_replies',
  table: 'canned_replies',
  fields: [
    { name: 'title', labelKey: 'registers.title', type: 'text', required: true },
    { name: 'body_html', labelKey: 'registers.body', type: 'richtext', required: true },
  ],
  schema: z.object({ title: requiredText(200), body_html: richText }),
  defaults: {},
  columns: [{ name: 'title', labelKey: 'registers.title' }],
  orderBy: ['title'],
  uniqueErrors: { canned_replies_title_key: { field: 'title', errorKey: 'errors.title_taken' } },
} satisfies RegisterSpec<'canned_replies'>;

export const registers: readonly Register[] = [caseTypes, statuses, priorities, numberSeries, cannedReplies];

export function findRegister(slug: string): Register | undefined {
  return registers.find((register) => register.slug === slug);
}

// The list's cells as text, in the order of register.columns; the status column comes last.
export function listCells(register: Register, row: RegisterRow, t: Translate, lang: Language): string[] {
  const cells = register.columns.map((column) =>
    column.text
      ? column.text(row, t)
      : column.seeded && typeof row[column.name] === 'string'
        ? seededName(row[column.name] as string, lang)
        : String(row[column.name] ?? t('common.none')),
  );
  return [...cells, active(row, t)];
}

export function rowFormValues(register: Register, row: RegisterRow): FormValues {
  const values: FormValues = { active: row.active ? '1' : '0' };
  for (const field of register.fields) values[field.name] = String(row[field.name] ?? '');
  return values;
}

// The typed values shown again beside their errors. Rich text is shown sanitised, like everywhere.
export function typedFormValues(register: Register, body: FormValues): FormValues {
  const values: FormValues = {};
  for (const field of register.fields) {
    const value = body[field.name];
    values[field.name] = field.type === 'richtext' && value !== undefined ? sanitizeRichText(value) : value;
  }
  return values;
}

function columnsOf(register: Register) {
  return register.fields.map((field) => field.name);
}

function selection(register: Register) {
  return sql.join(['id', ...columnsOf(register), 'active'].map((column) => sql.ref(column)));
}

function uniqueError(register: Register, error: unknown): FormError | null {
  const constraint = uniqueViolation(error);
  const mapped = constraint ? register.uniqueErrors[constraint] : undefined;
  return mapped ? new FormError({ [mapped.field]: mapped.errorKey }) : null;
}

export async function listRegisterRows(
  db: Kysely<Database>,
  register: Register,
  { includeInactive = false }: { includeInactive?: boolean } = {},
): Promise<RegisterRow[]> {
  const where = includeInactive ? sql`` : sql`where active`;
  const orderBy = sql.join([...register.orderBy, 'id'].map((column) => sql.ref(column)));
  const { rows } = await sql<RegisterRow>`
    select ${selection(register)} from ${sql.table(register.table)} ${where} order by ${orderBy}
  `.execute(db);
  return rows;
}

export async function findRegisterRow(
  db: Kysely<Database>,
  register: Register,
  id: number,
): Promise<RegisterRow | undefined> {
  const { rows } = await sql<RegisterRow>`
    select ${selection(register)} from ${sql.table(register.table)} where id = ${id}
  `.execute(db);
  return rows[0];
}

export async function createRegisterRow(
  db: Kysely<Database>,
  register: Register,
  values: RegisterValues,
): Promise<RegisterRow> {
  const columns = columnsOf(register);
  try {
    const { rows } = await sql<RegisterRow>`
      insert into ${sql.table(register.table)} (${sql.join(columns.map((column) => sql.ref(column)))})
      values (${sql.join(columns.map((column) => values[column] ?? null))})
      returning ${selection(register)}
    `.execute(db);
    const [row] = rows;
    if (!row) throw new Error(`Insert into ${register.table} returned no row`);
    tablesChanged(db, register.table);
    return row;
  } catch (error) {
    throw uniqueError(register, error) ?? error;
  }
}

export async function updateRegisterRow(
  db: Kysely<Database>,
  register: Register,
  id: number,
  values: RegisterValues,
): Promise<RegisterRow | undefined> {
  const assignments = columnsOf(register).map((column) => sql`${sql.ref(column)} = ${values[column] ?? null}`);
  try {
    const { rows } = await sql<RegisterRow>`
      update ${sql.table(register.table)} set ${sql.join(assignments)} where id = ${id}
      returning ${selection(register)}
    `.execute(db);
    tablesChanged(db, register.table);
    return rows[0];
  } catch (error) {
    throw uniqueError(register, error) ?? error;
  }
}

// Rows are never deleted: cases keep pointing at a deactivated type, status or priority.
export async function setRegisterRowActive(
  db: Kysely<Database>,
  register: Register,
  id: number,
  isActive: boolean,
): Promise<void> {
  await sql`update ${sql.table(register.table)} set active = ${isActive} where id = ${id}`.execute(db);
  tablesChanged(db, register.table);
}
