import { type Insertable, sql, Transaction } from 'kysely';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { type Db, prepared, preparedAtEnd } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import { type Case, type CasesTable, caseColumns, type Database, type User } from '../db/schema.ts';
import {
  type FieldErrors,
  FormError,
  idField,
  optionalIdField,
  optionalMultiLine,
  optionalText,
  requiredText,
} from '../forms/form.ts';
import { notifyUser } from '../notifications/notifications.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';
import { slaEventsOf } from '../service-levels/clock.ts';
import { type FirstEntry, firstEntryInsertSql } from '../threads/entries.ts';
import { isNoneOrActiveUser } from '../users/queries.ts';
import { reconsiderCaseClock, startingClock } from './case-clock.ts';
import {
  applyCaseEventToLocked,
  type CaseActor,
  recordCaseEvent,
  type StatusKindCache,
  startingState,
} from './case-events.ts';
import { formatCaseNumber } from './number-series.ts';
import { listStatusesOfCases } from './statuses.ts';

const dueDate = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : null))
  .pipe(z.iso.date('errors.date').nullable());

// The header of a case: what the "New case" form and the in-place edit both carry.
export const caseHeaderSchema = z.object({
  title: requiredText(200),
  // Empty means unassigned; a new case needs someone (newCaseSchema).
  responsible_id: optionalIdField,
  customer_id: idField('errors.customer_required'),
  status_id: idField(),
  case_type_id: idField(),
  priority_id: optionalIdField,
  due_date: dueDate,
  contact_id: optionalIdField,
  contact_name: optionalText(200),
  contact_email: optionalText(200).pipe(z.email('errors.email').nullable()),
  contact_phone: optionalText(50),
});
export type CaseHeader = z.output<typeof caseHeaderSchema>;
// Cases from unknown senders have no customer until someone triages them.
export type CaseHeaderUpdate = Omit<CaseHeader, 'customer_id'> & { customer_id: number | null };

export const newCaseSchema = caseHeaderSchema.extend({
  responsible_id: idField(),
  body_html: optionalMultiLine(1_000_000).transform(sanitizeRichText),
});
export type NewCaseInput = z.output<typeof newCaseSchema>;

// Ids in the form must name rows that exist and may be used; checked in the same transaction.
// `changed`: an edit checks only the fields it changes (each check is a round trip, and a quick
// edit changes one field); what a case already holds was checked when it was written, and an
// inactive user or customer stays on the cases it is on. A contact is checked again when its
// customer changes.
async function checkReferences(
  trx: Transaction<Database>,
  input: CaseHeaderUpdate,
  opts: { newCase?: boolean; changed?: readonly HeaderField[] } = {},
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const check = (...fields: HeaderField[]) => !opts.changed || fields.some((f) => opts.changed?.includes(f));
  const ok = { id: 0, active: true };
  const [responsibleOk, customer, status, type, priority, contact] = await Promise.all([
    check('responsible_id') ? isNoneOrActiveUser(trx, input.responsible_id) : true,
    // An inactive customer stays on its old cases; new cases need an active one (checked below).
    !check('customer_id')
      ? ok
      : input.customer_id
        ? trx.selectFrom('customers').select(['id', 'active']).where('id', '=', input.customer_id).executeTakeFirst()
        : undefined,
    check('status_id') ? listStatusesOfCases(trx).then((all) => all.find((s) => s.id === input.status_id)) : ok,
    check('case_type_id')
      ? trx.selectFrom('case_types').select('id').where('id', '=', input.case_type_id).executeTakeFirst()
      : ok,
    input.priority_id && check('priority_id')
      ? trx.selectFrom('priorities').select('id').where('id', '=', input.priority_id).executeTakeFirst()
      : { id: 0 },
    !check('contact_id', 'customer_id')
      ? ok
      : input.contact_id && input.customer_id
        ? trx
            .selectFrom('contacts')
            .select('id')
            .where('id', '=', input.contact_id)
            .where('customer_id', '=', input.customer_id)
            .executeTakeFirst()
        : input.contact_id
          ? undefined
          : { id: 0 },
  ]);
  if (!responsibleOk) errors.responsible_id = 'errors.invalid';
  if (!customer || (opts.newCase && !customer.active)) errors.customer_id = 'errors.customer_required';
  if (!status) errors.status_id = 'errors.invalid';
  if (!type) errors.case_type_id = 'errors.invalid';
  if (!priority) errors.priority_id = 'errors.invalid';
  // the usual case: the customer was changed and the old customer's contact is still chosen
  if (!contact) errors.contact_id = 'cases.contact_not_of_customer';
  return errors;
}

// The next number of the case series. The UPDATE locks the series row until the creating
// transaction ends, so concurrent creators queue, and a rolled-back creation leaves no gap.
// Takes any handle so other domains (the document case) can call it inside their own transaction.
export async function allocateCaseNumber(trx: Db): Promise<string> {
  const row = await sql<{ prefix: string; number: number; digits: number }>`
    update number_series set next_number = next_number + 1
    where id = (select id from number_series where active and purpose = 'cases' order by id limit 1)
    returning prefix, next_number - 1 as number, digits`
    .execute(trx)
    .then((r) => r.rows[0]);
  if (!row) throw new Error('No active number series for cases; add one under Administration.');
  return formatCaseNumber(row.prefix, row.number, row.digits);
}

// allocateCaseNumber's update, formatted in SQL as formatCaseNumber formats it (zero-padded to
// the series' digits, never cut).
const nextCaseNumberSql = sql`update number_series set next_number = next_number + 1
    where id = (select id from number_series where active and purpose = 'cases' order by id limit 1)
    returning prefix || lpad((next_number - 1)::text, greatest(digits, length((next_number - 1)::text)), '0') as formatted`;

export type NewCaseRecord = Omit<
  Insertable<CasesTable>,
  | 'id'
  | 'number'
  | 'status_id'
  | 'status_kind'
  | 'waiting_since'
  | 'closed_at'
  | 'version'
  | 'search_vector'
  | 'sla_policy_id'
  | 'sla_clock'
  | 'sla_due_at'
  | 'sla_warn_at'
> & { status_id?: number | null };

// The one place cases are inserted (the New case form, mail, the document case): a number from
// the series, the status the lifecycle starts it in (the given one, else the first open) with its
// clocks, and the 'created' history row.
export async function createCaseRecord(
  trx: Db,
  values: NewCaseRecord,
  actor: CaseActor,
  // firstEntry: the case's first thread entry, written by the same statement (see insertCase)
  opts: { via?: 'email'; statusKinds?: StatusKindCache; firstEntry?: FirstEntry } = {},
): Promise<Case> {
  const now = new Date();
  const start = await startingState(trx, values.status_id ?? null, opts.via, now, opts.statusKinds);
  const heard = slaEventsOf({ event: 'created', before: null, after: start.statusKind }, now.toISOString());
  const clock = await startingClock(
    trx,
    {
      customer_id: values.customer_id ?? null,
      priority_id: values.priority_id ?? null,
      case_type_id: values.case_type_id,
    },
    heard,
  );
  // The number (as allocateCaseNumber takes it, formatted as formatCaseNumber does), the case and
  // its history row in one statement: mail ingest creates cases one after the other.
  const statement = trx
    .with('series', () => sql<{ formatted: string }>`(${nextCaseNumberSql})`)
    .with('inserted', (qc) =>
      qc
        .insertInto('cases')
        .values({
          ...values,
          number: sql<string>`(select formatted from series)`,
          status_id: start.statusId,
          waiting_since: start.waitingSince,
          closed_at: start.closedAt,
          ...clock,
          sla_clock: clock.sla_clock ? JSON.stringify(clock.sla_clock) : null,
        })
        .returning(caseColumns),
    )
    // what the service-level clock heard, for a later replay (case-clock.ts)
    .with(
      'clock_events',
      () =>
        sql`(insert into case_clock_events (case_id, type, at)
        select inserted.id, v.type, v.at from inserted,
          unnest(${heard.map((e) => e.type)}::text[], ${heard.map((e) => e.at)}::timestamptz[]) with ordinality as v(type, at, n)
        order by v.n)`,
    )
    .with('created_event', (qc) =>
      qc
        .insertInto('case_events')
        .columns(['case_id', 'user_id', 'kind', 'new_value'])
        .expression((eb) =>
          eb
            .selectFrom('inserted')
            .select([
              'inserted.id',
              eb.val(actor?.id ?? null).as('user_id'),
              eb.val('created' as const).as('kind'),
              eb.val(start.note).as('new_value'),
            ]),
        ),
    );
  const firstEntry = opts.firstEntry;
  const withEntry = (
    firstEntry
      ? statement.with('first_entry', () => sql`(${firstEntryInsertSql(sql`select id from inserted`, firstEntry)})`)
      : statement
  ) as typeof statement;
  const created = await withEntry
    .selectFrom('inserted')
    .selectAll()
    // prepared once per connection: Read mail creates cases one after the other
    .modifyEnd(preparedAtEnd)
    .executeTakeFirst()
    .catch((error: unknown) => {
      // the number is null when there is no series: say so rather than "null value in number"
      const e = error as { code?: string; column?: string };
      if (e.code === '23502' && e.column === 'number') {
        throw new Error('No active number series for cases; add one under Administration.');
      }
      throw error;
    });
  if (!created) throw new Error('The case was not stored');
  return created;
}

// With the config, notifications also go out by e-mail (see notifyUser).
export type NotifyingOptions = { config?: Config };

// With the form's one-time key, a second submit of the same "New case" form gets the first case.
export async function createCase(
  db: Db,
  input: NewCaseInput,
  actor: User,
  opts: NotifyingOptions & { formKey?: string | null } = {},
): Promise<Case> {
  return db.transaction().execute(async (trx) => {
    const submit = { key: opts.formKey, userId: actor.id, form: 'case', content: input };
    // The new row as inserted; a repeat of the form (its key) reads the first one's row.
    let created: Case | undefined;
    const { id } = await oncePerFormKey(trx, submit, async () => {
      created = await insertCase(trx, input, actor, opts);
      return { id: created.id };
    });
    return created ?? trx.selectFrom('cases').select(caseColumns).where('id', '=', id).executeTakeFirstOrThrow();
  });
}

// Everything that can be read is read before the case's number is taken: from then until the
// commit, the number series' row is locked and every other creator waits (allocateCaseNumber).
async function insertCase(trx: Transaction<Database>, input: NewCaseInput, actor: User, opts: NotifyingOptions) {
  const [errors, contact] = await Promise.all([
    checkReferences(trx, input, { newCase: true }),
    input.contact_name ? null : contactName(trx, input.contact_id),
  ]);
  if (isBlankRichText(input.body_html)) errors.body_html = 'errors.required';
  if (Object.keys(errors).length) throw new FormError(errors);

  const { body_html, ...header } = input;
  // the description is the case's first entry, written with the case: the number series' lock is
  // held for one round trip less
  const firstEntry: FirstEntry = {
    side: 'customer',
    user_id: actor.id,
    author_name: input.contact_name ?? contact ?? actor.name,
    author_email: input.contact_email,
    body_html,
  };
  const created = await createCaseRecord(trx, { ...header, created_by: actor.id }, actor, { firstEntry });
  if (created.responsible_id && created.responsible_id !== actor.id) {
    await notifyUser(
      trx,
      {
        userId: created.responsible_id,
        actorId: actor.id,
        kind: 'assigned',
        caseId: created.id,
        summary: `${created.number} ${created.title}`,
        link: `/cases/${created.number}`,
      },
      { config: opts.config },
    );
  }
  return created;
}

async function contactName(trx: Transaction<Database>, contactId: number | null): Promise<string | null> {
  if (!contactId) return null;
  const row = await trx.selectFrom('contacts').select('name').where('id', '=', contactId).executeTakeFirst();
  return row?.name ?? null;
}

export class StaleEditError extends Error {
  constructor(readonly current: Case) {
    super('The case was changed by someone else');
  }
}

const headerFields = [
  'title',
  'responsible_id',
  'customer_id',
  'status_id',
  'case_type_id',
  'priority_id',
  'due_date',
  'contact_id',
  'contact_name',
  'contact_email',
  'contact_phone',
] as const satisfies readonly (keyof CaseHeader & keyof Case)[];
type HeaderField = (typeof headerFields)[number];

const asText = (value: unknown) => (value === null || value === undefined || value === '' ? null : String(value));

type HeaderOptions = NotifyingOptions & { allowNoCustomer?: boolean };

// Saves the header if nobody saved since `version`; writes one history event per changed field.
export async function updateCaseHeader(
  db: Db,
  caseId: number,
  version: number,
  input: CaseHeaderUpdate,
  actor: User,
  // An existing case without a customer (unknown sender) may keep having none.
  opts: HeaderOptions = {},
): Promise<Case> {
  return db.transaction().execute(async (trx) => {
    const current = await lockCaseForHeader(trx, caseId);
    if (current.version !== version) throw new StaleEditError(current);
    return writeCaseHeader(trx, current, input, actor, opts);
  });
}

// The row lock makes a concurrent edit wait, so the version (or field) check below sees its result.
function lockCaseForHeader(trx: Transaction<Database>, caseId: number): Promise<Case> {
  return trx.selectFrom('cases').select(caseColumns).where('id', '=', caseId).forUpdate().executeTakeFirstOrThrow();
}

// No case has the number a request named (a quick edit locks by number: no lookup before).
export class CaseNotFoundError extends Error {}

async function writeCaseHeader(
  trx: Transaction<Database>,
  current: Case,
  input: CaseHeaderUpdate,
  actor: User,
  opts: HeaderOptions,
): Promise<Case> {
  const caseId = current.id;
  const changed = headerFields.filter((field) => asText(current[field]) !== asText(input[field]));
  const errors = await checkReferences(trx, input, { changed });
  if (errors.customer_id && opts.allowNoCustomer && !input.customer_id && !current.customer_id)
    delete errors.customer_id;
  if (Object.keys(errors).length) throw new FormError(errors);
  if (!changed.length) return current;
  // The status goes through the lifecycle (its clocks, its history row); the rest is the header's.
  const afterStatus = changed.includes('status_id')
    ? await applyCaseEventToLocked(trx, current, { type: 'status_set', status: input.status_id }, actor)
    : current;
  const { status_id: _status, ...fields } = input;
  const others = changed.filter((field) => field !== 'status_id');
  // The lifecycle already bumped the version and the activity for a status change; a second
  // update of the row (a new row version, the triggers on cases) would change nothing more.
  const updated = !others.length
    ? afterStatus
    : await trx
        .updateTable('cases')
        .set({ ...fields, version: current.version + 1, updated_at: new Date(), last_activity_at: new Date() })
        .where('id', '=', caseId)
        .returning(caseColumns)
        .executeTakeFirstOrThrow();
  if (others.length)
    await trx
      .insertInto('case_events')
      .values(
        others.map((field) => ({
          case_id: caseId,
          user_id: actor.id,
          kind: 'field_changed' as const,
          field,
          old_value: asText(current[field]),
          new_value: asText(input[field]),
        })),
      )
      .execute();
  // what picks the service-level policy changed: the clock follows (replayed when the policy did)
  if (others.some((field) => field === 'customer_id' || field === 'priority_id' || field === 'case_type_id'))
    await reconsiderCaseClock(trx, caseId);
  if (changed.includes('responsible_id') && updated.responsible_id && updated.responsible_id !== actor.id) {
    await notifyUser(
      trx,
      {
        userId: updated.responsible_id,
        actorId: actor.id,
        kind: 'assigned',
        caseId,
        summary: `${updated.number} ${updated.title}`,
        link: `/cases/${updated.number}`,
      },
      { config: opts.config },
    );
  }
  return updated;
}

// The fields the overview edits in place, one at a time.
export const quickEditFields = ['status_id', 'priority_id', 'case_type_id', 'responsible_id'] as const;
export type QuickEditField = (typeof quickEditFields)[number];

// One header field changed from the overview; same rules and history as the page. A row edits one
// field, so it conflicts only with a change to that field: with `loaded` (the value the row showed)
// a newer version is fine while the field still holds that value, and the other fields keep what
// others saved since. Without it, any change since `version` is stale, as on the case page.
export async function quickEditCase(
  db: Db,
  caseRef: number | { number: string },
  version: number,
  field: QuickEditField,
  value: string,
  actor: User,
  opts: NotifyingOptions & { loaded?: string } = {},
): Promise<Case> {
  // inside the caller's transaction when given one (a bulk change edits many cases in one)
  if (db instanceof Transaction) return quickEditIn(db, caseRef, version, field, value, actor, opts);
  return db.transaction().execute((trx) => quickEditIn(trx, caseRef, version, field, value, actor, opts));
}

async function quickEditIn(
  trx: Transaction<Database>,
  caseRef: number | { number: string },
  version: number,
  field: QuickEditField,
  value: string,
  actor: User,
  opts: NotifyingOptions & { loaded?: string },
): Promise<Case> {
  const parsed = caseHeaderSchema.shape[field].safeParse(value);
  const current =
    typeof caseRef === 'number'
      ? await lockCaseForHeader(trx, caseRef)
      : // prepared: the same text at every quick edit, parsed and planned once (src/db/database.ts)
        (
          await sql<Case>`${prepared}select ${sql.join(caseColumns.map((c) => sql.ref(c)))}
              from cases where number = ${caseRef.number} for update`.execute(trx)
        ).rows[0];
  if (!current) throw new CaseNotFoundError();
  // the field already holds what this edit asks for: a second copy of an edit that was saved (a
  // double click, a retried request) is answered as saved, not as someone else's change
  const alreadyAsked = parsed.success && asText(current[field]) === asText(parsed.data);
  if (current.version !== version && !isFieldUnchanged(current, field, opts.loaded) && !alreadyAsked)
    throw new StaleEditError(current);
  if (!parsed.success) throw new FormError({ [field]: parsed.error.issues[0]?.message ?? 'errors.invalid' });
  const header: CaseHeaderUpdate = {
    title: current.title,
    responsible_id: current.responsible_id,
    customer_id: current.customer_id,
    status_id: current.status_id,
    case_type_id: current.case_type_id,
    priority_id: current.priority_id,
    due_date: current.due_date,
    contact_id: current.contact_id,
    contact_name: current.contact_name,
    contact_email: current.contact_email,
    contact_phone: current.contact_phone,
    [field]: parsed.data,
  };
  return writeCaseHeader(trx, current, header, actor, { config: opts.config, allowNoCustomer: true });
}

// Whether the field still holds the value a row was rendered with (no loaded value: unknown, so no).
export function isFieldUnchanged(current: Case, field: QuickEditField, loaded: string | undefined): boolean {
  return loaded !== undefined && asText(current[field]) === asText(loaded);
}

// Header fields another domain sets on a case it follows (the document case's approver and
// title): the same version bump and history rows as an agent's edit. The status is not among
// them; that goes through applyCaseEvent.
export async function changeCaseFields(
  db: Db,
  caseId: number,
  change: { responsible_id?: number | null; title?: string },
  actor: CaseActor,
): Promise<Case> {
  const current = await db
    .selectFrom('cases')
    .select(caseColumns)
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const changed = (Object.keys(change) as (keyof typeof change)[]).filter(
    (field) => change[field] !== undefined && asText(change[field]) !== asText(current[field]),
  );
  if (!changed.length) return current;
  const now = new Date();
  const updated = await db
    .updateTable('cases')
    .set({ ...change, version: current.version + 1, updated_at: now, last_activity_at: now })
    .where('id', '=', caseId)
    .returning(caseColumns)
    .executeTakeFirstOrThrow();
  await db
    .insertInto('case_events')
    .values(
      changed.map((field) => ({
        case_id: caseId,
        user_id: actor?.id ?? null,
        kind: 'field_changed' as const,
        field,
        old_value: asText(current[field]),
        new_value: asText(change[field]),
      })),
    )
    .execute();
  return updated;
}

// The case's link to the work order made from it (H2); its "To work order" status is the
// lifecycle's ('work_order_created').
// Something happened on the case (an entry, a post, a document): the overview's "latest activity"
// moves. The cases table has one writer, so other domains call this instead of updating it.
export async function markCaseActive(db: Db, caseId: number): Promise<void> {
  await db.updateTable('cases').set({ last_activity_at: new Date() }).where('id', '=', caseId).execute();
}

export async function linkCaseToWorkOrder(db: Db, caseId: number, workOrderId: number): Promise<void> {
  await db
    .updateTable('cases')
    .set({ work_order_id: workOrderId, last_activity_at: new Date() })
    .where('id', '=', caseId)
    .execute();
}

// An agent looked at a case flagged for triage (a stranger's mail about another case) and
// cleared the flag. False when it was not flagged (cleared meanwhile by a colleague).
export async function clearCaseTriage(db: Db, caseId: number, actor: { id: number }): Promise<boolean> {
  const cleared = await db
    .updateTable('cases')
    .set({ triage_reason: null, updated_at: new Date() })
    .where('id', '=', caseId)
    .where('triage_reason', 'is not', null)
    .returning('triage_reason')
    .executeTakeFirst();
  if (!cleared) return false;
  await recordCaseEvent(db, caseId, 'triage_cleared', actor);
  return true;
}
