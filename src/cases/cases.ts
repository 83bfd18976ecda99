import { type Insertable, sql, Transaction } from 'kysely';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { type Db, prepared, preparedAtEnd } from '../db/database.ts';
import { isFormKeyUsed, oncePerFormKey } from '../db/form-keys.ts';
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
import { type FirstEntry, firstEntrySql } from '../threads/entries.ts';
import { activeUserExists } from '../users/queries.ts';
import { reconsiderCaseClock, startingClock } from './case-clock.ts';
import {
  applyCaseEventToLocked,
  type CaseActor,
  recordCaseEvent,
  type StatusKindCache,
  startingState,
} from './case-events.ts';
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

// Ids in the form must name rows that exist and may be used; an edit checks them in its own
// transaction, a new case before its transaction begins (the foreign keys hold either way). One
// query for all of them (statuses come from the cache); with the chosen contact's name, which a
// new case's first entry is signed with.
// `changed`: an edit checks only the fields it changes; what a case already holds was checked
// when it was written, and an inactive user or customer stays on the cases it is on. A contact is
// checked again when its customer changes.
async function checkReferences(
  trx: Db,
  input: CaseHeaderUpdate,
  opts: { newCase?: boolean; changed?: readonly HeaderField[] } = {},
): Promise<{ errors: FieldErrors; contactName: string | null }> {
  const errors: FieldErrors = {};
  const check = (...fields: HeaderField[]) => !opts.changed || fields.some((f) => opts.changed?.includes(f));
  const { responsible_id, customer_id, case_type_id, priority_id, contact_id } = input;
  const checks = {
    responsible: check('responsible_id') && !!responsible_id,
    customer: check('customer_id') && !!customer_id,
    type: check('case_type_id'),
    priority: check('priority_id') && !!priority_id,
    contact: check('contact_id', 'customer_id') && !!contact_id && !!customer_id,
  };
  const [found, statuses] = await Promise.all([
    Object.values(checks).some(Boolean)
      ? trx
          .selectNoFrom((eb) => [
            (checks.responsible && responsible_id ? activeUserExists(eb, responsible_id) : eb.lit(true)).as(
              'responsible',
            ),
            // An inactive customer stays on its old cases; new cases need an active one (below).
            eb
              .selectFrom('customers')
              .select('active')
              .where('id', '=', checks.customer ? customer_id : null)
              .as('customer_active'),
            (checks.type ? eb.exists(eb.selectFrom('case_types').where('id', '=', case_type_id)) : eb.lit(true)).as(
              'type',
            ),
            (checks.priority && priority_id
              ? eb.exists(eb.selectFrom('priorities').where('id', '=', priority_id))
              : eb.lit(true)
            ).as('priority'),
            eb
              .selectFrom('contacts')
              .select('name')
              .where('id', '=', checks.contact ? contact_id : null)
              .where('customer_id', '=', customer_id)
              .as('contact_name'),
          ])
          // every new case and header edit asks it (a few texts, by which checks are needed)
          .modifyEnd(preparedAtEnd)
          .executeTakeFirstOrThrow()
      : undefined,
    check('status_id') ? listStatusesOfCases(trx) : undefined,
  ]);
  if (found && !found.responsible) errors.responsible_id = 'errors.invalid';
  if (check('customer_id')) {
    // null: no customer given, or none with that id
    const active = found?.customer_active ?? null;
    if (active === null || (opts.newCase && !active)) errors.customer_id = 'errors.customer_required';
  }
  if (statuses && !statuses.some((s) => s.id === input.status_id)) errors.status_id = 'errors.invalid';
  if (found && !found.type) errors.case_type_id = 'errors.invalid';
  if (found && !found.priority) errors.priority_id = 'errors.invalid';
  // the usual case: the customer was changed and the old customer's contact is still chosen
  const contactName = found?.contact_name ?? null;
  if (check('contact_id', 'customer_id') && contact_id && contactName === null) {
    errors.contact_id = 'cases.contact_not_of_customer';
  }
  return { errors, contactName };
}

// The next number of the case series, formatted in SQL as formatCaseNumber formats it
// (zero-padded to the series' digits, never cut). The UPDATE locks the series' row until its
// transaction ends, so concurrent creators queue and no number is given twice.
const nextCaseNumberSql = sql`update number_series set next_number = next_number + 1
    where id = (select id from number_series where active and purpose = 'cases' order by id limit 1)
    returning prefix || lpad((next_number - 1)::text, greatest(digits, length((next_number - 1)::text)), '0') as formatted`;

const noSeries = 'No active number series for cases; add one under Administration.';

// A number taken in a statement of its own, before the creating transaction begins (createCase):
// the series' row is locked for that statement only, not for the whole creation up to its commit,
// so creators no longer take turns (issue 19: 200 cases a second through the API; inside the
// creation the lock was held 4-5 ms a case, the whole of that figure). The price: a creation that
// fails after this (a database error, a kill) leaves a gap in the series. A refused form, and a
// repeat of a form already sent, take none.
// Its commit does not wait for the disk: a case that uses the number commits after it, and a
// commit that is on disk has everything before it there too.
export async function takeCaseNumber(db: Db): Promise<string> {
  // inside a transaction the lock would be held to its end, and the setting would be that
  // transaction's: createCaseRecord takes its number in its own statement there
  if (db.isTransaction) throw new Error('takeCaseNumber runs outside a transaction');
  const row = await sql<{ formatted: string }>`${prepared}with taken as (${nextCaseNumberSql})
    select formatted, set_config('synchronous_commit', 'off', true) from taken`
    .execute(db)
    .then((r) => r.rows[0]);
  if (!row) throw new Error(noSeries);
  return row.formatted;
}

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
  // firstEntry: the case's first thread entry, written by the same statement (see insertCase);
  // number: taken by takeCaseNumber, else the statement takes the next one (and the series' row
  // stays locked until the caller's transaction ends)
  opts: { via?: 'email'; statusKinds?: StatusKindCache; firstEntry?: FirstEntry; number?: string } = {},
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
  // The number, the case and its history row in one statement: mail ingest creates cases one
  // after the other.
  const firstEntry = opts.firstEntry && firstEntrySql(sql`select id from inserted`, opts.firstEntry);
  const statement = trx
    .with('series', () =>
      opts.number === undefined
        ? sql<{ formatted: string }>`(${nextCaseNumberSql})`
        : sql<{ formatted: string }>`(select ${opts.number}::text as formatted)`,
    )
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
          ...(firstEntry && { search_vector: firstEntry.caseSearch }),
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
  const withEntry = (
    firstEntry ? statement.with('first_entry', () => sql`(${firstEntry.insert})`) : statement
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
        throw new Error(noSeries);
      }
      throw error;
    });
  if (!created) throw new Error('The case was not stored');
  return created;
}

// With the config, notifications also go out by e-mail (see notifyUser).
export type NotifyingOptions = { config?: Config };

// With the form's one-time key, a second submit of the same "New case" form gets the first case.
// The form is checked, and the number taken (takeCaseNumber), before the transaction begins.
export async function createCase(
  db: Db,
  input: NewCaseInput,
  actor: User,
  opts: NotifyingOptions & { formKey?: string | null } = {},
): Promise<Case> {
  const [{ errors, contactName }, repeat] = await Promise.all([
    checkReferences(db, input, { newCase: true }),
    opts.formKey ? isFormKeyUsed(db, opts.formKey) : false,
  ]);
  if (isBlankRichText(input.body_html)) errors.body_html = 'errors.required';
  if (Object.keys(errors).length) throw new FormError(errors);
  // A repeat of a submit already stored gets the first case and takes no number (should its key be
  // gone by the time it is claimed, the case takes its number inside the transaction). Two submits
  // at once both take one, and the second's is left unused.
  const number = repeat ? undefined : await takeCaseNumber(db);
  const insert = (handle: Db) => insertCase(handle, input, actor, { ...opts, contactName, number });
  // Without a key and with nobody else to tell, the case is one statement, which needs no
  // transaction around it (its BEGIN and COMMIT were two of the API's ten round trips a case).
  if (!opts.formKey && !notifiesResponsible(input, actor)) return insert(db);
  return db.transaction().execute(async (trx) => {
    const submit = { key: opts.formKey, userId: actor.id, form: 'case', content: input };
    // The new row as inserted; a repeat of the form (its key) reads the first one's row.
    let created: Case | undefined;
    const { id } = await oncePerFormKey(trx, submit, async () => {
      created = await insert(trx);
      return { id: created.id };
    });
    return created ?? trx.selectFrom('cases').select(caseColumns).where('id', '=', id).executeTakeFirstOrThrow();
  });
}

// A case made for someone else tells them (insertCase).
const notifiesResponsible = (input: NewCaseInput, actor: User) =>
  !!input.responsible_id && input.responsible_id !== actor.id;

async function insertCase(
  db: Db,
  input: NewCaseInput,
  actor: User,
  opts: NotifyingOptions & { contactName: string | null; number: string | undefined },
) {
  const { body_html, ...header } = input;
  // the description is the case's first entry, written with the case in one statement
  const firstEntry: FirstEntry = {
    side: 'customer',
    user_id: actor.id,
    author_name: input.contact_name ?? opts.contactName ?? actor.name,
    author_email: input.contact_email,
    body_html,
  };
  const created = await createCaseRecord(db, { ...header, created_by: actor.id }, actor, {
    firstEntry,
    number: opts.number,
  });
  if (notifiesResponsible(input, actor) && created.responsible_id) {
    await notifyUser(
      db,
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
  const { errors } = await checkReferences(trx, input, { changed });
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
