import { setTimeout } from 'node:timers/promises';
import { sql } from 'kysely';
import { applyCaseEvents } from '../cases/case-events.ts';
import type { Config } from '../config.ts';
import { withAdvisoryLock } from '../db/advisory-locks.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { loadSecret } from '../db/secrets.ts';
import { subjectWithTag } from '../mail/outbound/compose.ts';
import { createMessageId } from '../mail/outbound/message-id.ts';
import { enqueueMailsToCompose } from '../mail/outbound/outbox.ts';
import { threadingAfter } from '../mail/outbound/reply-mail.ts';
import { loadMailSettings, type MailSettings } from '../mail/outbound/settings.ts';
import { plainTextToHtml } from '../rich-text/escape.ts';
import { addThreadEntries } from '../threads/entries.ts';
import { daysWaited, decideKontroll, fillPlaceholders, kontrollThreshold } from './rules.ts';
import { type KontrollSettings, loadKontrollSettings } from './settings.ts';

// The job name in src/jobs/schedule.ts, and with it the advisory lock every run holds: a run on
// demand and the scheduled one (on any instance) never overlap.
export const kontrollJobName = 'kontroll';

export type KontrollCandidate = {
  id: number;
  number: string;
  title: string;
  waiting_since: Date;
  responsible_name: string | null;
  contact_name: string | null;
  action: 'remind' | 'close';
};

export type KontrollPreview = {
  now: Date;
  settings: KontrollSettings;
  remind: KontrollCandidate[];
  close: KontrollCandidate[];
};

// Waiting cases past the earliest limit, each with what Kontroll would do to it now. Oldest
// period first, so a run that stops half-way has handled the longest-waiting customers.
async function findKontrollCandidates(db: Db, settings: KontrollSettings, now: Date): Promise<KontrollCandidate[]> {
  const threshold = kontrollThreshold(settings, now);
  if (!threshold) return [];
  const types = settings.caseTypeIds;
  const rows = await db
    .selectFrom('cases as c')
    .leftJoin('users as u', 'u.id', 'c.responsible_id')
    .select([
      'c.id',
      'c.number',
      'c.title',
      'c.waiting_since',
      'c.case_type_id',
      'c.contact_name',
      'u.name as responsible_name',
    ])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('kontroll_actions as a')
            .select('a.id')
            .whereRef('a.case_id', '=', 'c.id')
            .whereRef('a.waiting_since', '=', 'c.waiting_since')
            .where('a.action', '=', 'remind'),
        )
        .as('reminded'),
    )
    .where('c.status_kind', '=', 'waiting')
    .where('c.waiting_since', '<=', threshold)
    .$if(types !== null, (qb) => qb.where('c.case_type_id', 'in', types?.length ? types : [0]))
    .orderBy('c.waiting_since')
    .orderBy('c.id')
    .execute();
  const candidates: KontrollCandidate[] = [];
  for (const row of rows) {
    const waitingSince = row.waiting_since as Date;
    const action = decideKontroll(
      { statusKind: 'waiting', waitingSince, caseTypeId: row.case_type_id, remindedThisPeriod: Boolean(row.reminded) },
      settings,
      now,
    );
    if (action === 'none') continue;
    candidates.push({
      id: row.id,
      number: row.number,
      title: row.title,
      waiting_since: waitingSince,
      responsible_name: row.responsible_name,
      contact_name: row.contact_name,
      action,
    });
  }
  return candidates;
}

// What a run at `now` would do, changing nothing.
export async function previewKontroll(db: Db, settings: KontrollSettings, now: Date): Promise<KontrollPreview> {
  const candidates = await findKontrollCandidates(db, settings, now);
  return {
    now,
    settings,
    remind: candidates.filter((c) => c.action === 'remind'),
    close: candidates.filter((c) => c.action === 'close'),
  };
}

export type KontrollRunOptions = {
  now?: Date;
  actor?: User | null;
  // cases per transaction: each batch locks its cases, re-checks them and writes set-wise
  batchSize?: number;
  // batches at once (each on its own connection)
  concurrency?: number;
  // after each batch, rest for this share of the time the batch took, so that a long run leaves
  // the database and the process room for the people working meanwhile
  restRatio?: number;
};

export type KontrollRunTotals = { runId: string; reminded: number; closed: number; skipped: number; failed: number };
export type KontrollRunOutcome = ({ status: 'done' } & KontrollRunTotals) | { status: 'busy' };

// Kontroll on demand: under the job's advisory lock, so a second click, a second instance or
// the schedule at the same moment gets "busy" instead of a second run.
export async function runKontroll(db: Db, config: Config, opts: KontrollRunOptions = {}): Promise<KontrollRunOutcome> {
  const locked = await withAdvisoryLock(db, 'job', kontrollJobName, () => runKontrollHoldingLock(db, config, opts));
  return locked.acquired ? { status: 'done', ...locked.value } : { status: 'busy' };
}

// What every batch of a run shares, read once per run rather than once per case.
export type KontrollRunContext = {
  settings: KontrollSettings;
  now: Date;
  runId: string | null;
  mail: MailSettings;
  messageIdSecret: string;
};

export async function loadKontrollRunContext(
  db: Db,
  config: Config,
  now: Date,
  runId: string | null,
): Promise<KontrollRunContext> {
  const [settings, mail, messageIdSecret] = await Promise.all([
    loadKontrollSettings(db),
    loadMailSettings(db, config),
    loadSecret(db, 'message-id'),
  ]);
  return { settings, now, runId, mail, messageIdSecret };
}

// The run itself, for callers that already hold the job's lock (runJob in the schedule).
export async function runKontrollHoldingLock(
  db: Db,
  config: Config,
  opts: KontrollRunOptions & { source?: 'schedule' | 'manual' },
): Promise<KontrollRunTotals> {
  const now = opts.now ?? new Date();
  const actor = opts.actor ?? null;
  // 100 cases a transaction, two at a time, resting as long as each batch took. The reminders
  // are composed by the sender when they go (outbox.compose), so a batch is database work and a
  // little JS. Measured here (`npm run bench -- kontroll`, 2 cores, 20 overview requests a
  // second), 20,000 actions: resting 0.3 of a batch's time, 10-14 s with the overview's p99 at
  // 149-167 ms; 0.5, 13-16 s and 168-172 ms; 1.0, 17-25 s and 117-154 ms (its p99 with no run is
  // 75-90 ms); one batch at a time was slower for the same p99. The batches hold disjoint cases, each
  // locked in id order, so they cannot deadlock.
  const batchSize = opts.batchSize ?? 100;
  const concurrency = opts.concurrency ?? 2;
  const restRatio = opts.restRatio ?? 1;
  const run = await db
    .insertInto('kontroll_runs')
    .values({ source: opts.source ?? (actor ? 'manual' : 'schedule'), user_id: actor?.id ?? null, as_of: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  const totals: KontrollRunTotals = { runId: run.id, reminded: 0, closed: 0, skipped: 0, failed: 0 };
  let lastError: string | null = null;
  try {
    const ctx = await loadKontrollRunContext(db, config, now, run.id);
    const candidates = await findKontrollCandidates(db, ctx.settings, now);
    const batches: KontrollCandidate[][] = [];
    for (let start = 0; start < candidates.length; start += batchSize) {
      batches.push(candidates.slice(start, start + batchSize));
    }
    let next = 0;
    let sinceRecorded = 0;
    const worker = async () => {
      for (let i = next++; i < batches.length; i = next++) {
        const batch = batches[i] as KontrollCandidate[];
        const batchStarted = performance.now();
        try {
          const done = await applyKontrollBatch(
            db,
            batch.map((c) => c.id),
            ctx,
          );
          totals.reminded += done.reminded;
          totals.closed += done.closed;
          totals.skipped += done.skipped;
        } catch (error) {
          // The batch rolled back as a whole; the next run picks its cases up again.
          totals.failed += batch.length;
          lastError = `${batch[0]?.number}…: ${error instanceof Error ? error.message : String(error)}`;
        }
        if (restRatio > 0 && i + 1 < batches.length) {
          await setTimeout(Math.round((performance.now() - batchStarted) * restRatio));
        }
        // progress every few thousand cases, so a long run shows how far it got
        sinceRecorded += batch.length;
        if (sinceRecorded >= 2000) {
          sinceRecorded = 0;
          await recordTotals(db, totals, lastError, null);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await recordTotals(db, totals, lastError, new Date());
    throw error;
  }
  await recordTotals(db, totals, lastError, new Date());
  return totals;
}

async function recordTotals(db: Db, t: KontrollRunTotals, error: string | null, finishedAt: Date | null) {
  await db
    .updateTable('kontroll_runs')
    .set({
      reminded: t.reminded,
      closed: t.closed,
      skipped: t.skipped,
      failed: t.failed,
      error: error?.slice(0, 2000) ?? null,
      ...(finishedAt ? { finished_at: finishedAt } : {}),
    })
    .where('id', '=', t.runId)
    .execute();
}

// One case, as a batch of one (tests and callers outside a run).
export async function applyKontroll(
  db: Db,
  caseId: number,
  ctx: KontrollRunContext,
): Promise<'remind' | 'close' | 'skipped'> {
  const done = await applyKontrollBatch(db, [caseId], ctx);
  return done.reminded ? 'remind' : done.closed ? 'close' : 'skipped';
}

type PlannedAction = {
  kase: {
    id: number;
    number: string;
    title: string;
    status_id: number;
    waiting_since: Date;
    contact_name: string | null;
    contact_email: string | null;
    contact_id: number | null;
    responsible_id: number | null;
  };
  action: 'remind' | 'close';
};

// A batch of cases in one transaction. The rows are locked (in id order, so two runs cannot
// deadlock) and decided afresh: the customer may have answered, an agent changed the status or
// another run handled a case since the candidates were read. Then, set-wise: the period's
// record, the thread entry, the composed mail in the outbox, the event and the case itself.
export async function applyKontrollBatch(
  db: Db,
  caseIds: number[],
  ctx: KontrollRunContext,
): Promise<{ reminded: number; closed: number; skipped: number }> {
  if (!caseIds.length) return { reminded: 0, closed: 0, skipped: 0 };
  const { settings, now } = ctx;
  return db.transaction().execute(async (trx) => {
    const locked = await trx
      .selectFrom('cases')
      .select([
        'id',
        'number',
        'title',
        'status_id',
        'status_kind',
        'waiting_since',
        'case_type_id',
        'contact_id',
        'contact_name',
        'contact_email',
        'responsible_id',
      ])
      .where('id', 'in', caseIds)
      .orderBy('id')
      .forUpdate()
      .execute();
    const remindedPeriods = new Set(
      (
        await trx
          .selectFrom('kontroll_actions')
          .select(['case_id', 'waiting_since'])
          .where('case_id', 'in', caseIds)
          .where('action', '=', 'remind')
          .execute()
      ).map((a) => `${a.case_id}@${a.waiting_since.getTime()}`),
    );
    const planned: PlannedAction[] = [];
    for (const kase of locked) {
      if (!kase.waiting_since) continue;
      const waitingSince = kase.waiting_since;
      const action = decideKontroll(
        {
          statusKind: kase.status_kind,
          waitingSince,
          caseTypeId: kase.case_type_id,
          remindedThisPeriod: remindedPeriods.has(`${kase.id}@${waitingSince.getTime()}`),
        },
        settings,
        now,
      );
      if (action !== 'none') planned.push({ kase: { ...kase, waiting_since: waitingSince }, action });
    }
    const skippedBefore = caseIds.length - planned.length;
    if (!planned.length) return { reminded: 0, closed: 0, skipped: skippedBefore };
    const closeStatusId = settings.closeStatusId;
    if (planned.some((p) => p.action === 'close') && !closeStatusId) {
      throw new Error('no status for closed cases in the settings');
    }

    // The period's record first: should anything have slipped past the lock, the unique key stops it.
    const recorded = await trx
      .insertInto('kontroll_actions')
      .values(
        planned.map((p) => ({
          case_id: p.kase.id,
          waiting_since: p.kase.waiting_since,
          action: p.action,
          run_id: ctx.runId,
        })),
      )
      .onConflict((oc) => oc.columns(['case_id', 'waiting_since', 'action']).doNothing())
      .returning(['id', 'case_id'])
      .execute();
    const actionIdOf = new Map(recorded.map((r) => [r.case_id, r.id]));
    const todo = planned.filter((p) => actionIdOf.has(p.kase.id));
    if (!todo.length) return { reminded: 0, closed: 0, skipped: caseIds.length };

    const contactIds = [...new Set(todo.map((p) => p.kase.contact_id).filter((id) => id !== null))];
    const userIds = [...new Set(todo.map((p) => p.kase.responsible_id).filter((id) => id !== null))];
    const [contacts, users, earlier] = await Promise.all([
      contactIds.length
        ? trx.selectFrom('contacts').select(['id', 'name', 'email', 'language']).where('id', 'in', contactIds).execute()
        : [],
      userIds.length ? trx.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute() : [],
      trx
        .selectFrom('thread_entries')
        .select(['case_id', 'message_id', 'side'])
        .where(
          'case_id',
          'in',
          todo.map((p) => p.kase.id),
        )
        .where('message_id', 'is not', null)
        .orderBy('case_id')
        .orderBy('id')
        .execute(),
    ]);
    const contactOf = new Map(contacts.map((c) => [c.id, c]));
    const userNameOf = new Map(users.map((u) => [u.id, u.name]));
    const earlierOf = new Map<number, { message_id: string | null; side: string }[]>();
    for (const e of earlier) {
      const list = earlierOf.get(e.case_id) ?? [];
      list.push(e);
      earlierOf.set(e.case_id, list);
    }

    const mails = todo.map((p) => {
      const { kase, action } = p;
      const contact = kase.contact_id ? contactOf.get(kase.contact_id) : undefined;
      const to = kase.contact_email ?? contact?.email ?? null;
      // the contact's language when known, else Swedish
      const texts = settings.texts[action][contact?.language ?? 'sv'];
      const values = {
        case_number: kase.number,
        title: kase.title,
        contact_name: kase.contact_name ?? contact?.name ?? '',
        responsible_name: (kase.responsible_id && userNameOf.get(kase.responsible_id)) || ctx.mail.fromName,
        days: String(daysWaited(kase.waiting_since, now)),
      };
      const text = fillPlaceholders(texts.text, values);
      return {
        ...p,
        to,
        text,
        bodyHtml: plainTextToHtml(text),
        subject: subjectWithTag(ctx.mail.subjectTag, kase.number, fillPlaceholders(texts.subject, values)),
        // without an address the entry stays in the thread and no mail leaves
        messageId: to ? createMessageId(ctx.mail.messageIdDomain, ctx.messageIdSecret) : null,
      };
    });

    const entries = await addThreadEntries(
      trx,
      mails.map((m) => ({
        case_id: m.kase.id,
        side: 'system' as const,
        user_id: null,
        author_name: ctx.mail.fromName,
        body_html: m.bodyHtml,
        delivery: m.to ? ('to_send' as const) : ('none' as const),
        message_id: m.messageId,
      })),
    );
    const entryOf = new Map(entries.map((e) => [e.case_id, e.id]));

    // Queued as what to write: the sender composes each reminder when it goes (outbox.ts), so
    // the run's transactions hold no CPU-bound work and the overview keeps answering meanwhile.
    await enqueueMailsToCompose(
      trx,
      mails
        .filter((m) => m.to && m.messageId)
        .map((m) => {
          const { references, inReplyTo } = threadingAfter(earlierOf.get(m.kase.id) ?? []);
          return {
            kind: 'reply' as const,
            case_id: m.kase.id,
            thread_entry_id: entryOf.get(m.kase.id) ?? null,
            message_id: m.messageId as string,
            envelope_from: ctx.mail.fromAddress,
            status: 'queued' as const,
            created_by: null,
            compose: {
              to: [m.to as string],
              subject: m.subject,
              bodyHtml: m.bodyHtml,
              text: m.text,
              inReplyTo: inReplyTo ?? null,
              references: references ?? [],
              caseNumber: m.kase.number,
              autoSubmitted: true,
            },
          };
        }),
    );

    await sql`
      update kontroll_actions a set thread_entry_id = v.entry_id
      from unnest(${recorded.map((r) => r.id)}::bigint[], ${recorded.map((r) => entryOf.get(r.case_id) ?? null)}::bigint[])
        as v(action_id, entry_id)
      where a.id = v.action_id`.execute(trx);

    const reminded = mails.filter((m) => m.action === 'remind');
    const closed = mails.filter((m) => m.action === 'close');
    // The lifecycle writes the status, the clocks (closed_at, waiting_since), the version (an
    // agent's form opened before this is refused as stale rather than reopening the case) and the
    // history, set-wise for the batch.
    await applyCaseEvents(
      trx,
      mails.map((m) => ({
        caseId: m.kase.id,
        event:
          m.action === 'remind'
            ? { type: 'kontroll_reminded' as const, to: m.to }
            : { type: 'kontroll_closed' as const, status: closeStatusId as number },
      })),
      null,
    );
    return { reminded: reminded.length, closed: closed.length, skipped: caseIds.length - mails.length };
  });
}

// The schedule's check, every minute: is it past today's run time (config.timeZone) and has no
// scheduled run happened since? Read under the job's lock, so two instances cannot both say yes.
export async function isScheduledKontrollDue(db: Db, config: Config, now = new Date()): Promise<boolean> {
  const { runAt, remind, close } = await loadKontrollSettings(db);
  if (!remind.enabled && !close.enabled) return false;
  const { rows } = await sql<{ due: boolean }>`
    select (${now}::timestamptz at time zone ${config.timeZone})::time >= ${runAt}::time
      and not exists (
        select 1 from kontroll_runs
        where source = 'schedule'
          and as_of >= (((${now}::timestamptz at time zone ${config.timeZone})::date + ${runAt}::time)
                        at time zone ${config.timeZone})
      ) as due`.execute(db);
  return rows[0]?.due ?? false;
}

// The scheduled run (inside runJob, which holds the lock): a line for the job's log.
export async function runScheduledKontroll(db: Db, config: Config, now = new Date()): Promise<string | undefined> {
  const t = await runKontrollHoldingLock(db, config, { now, source: 'schedule' });
  if (!t.reminded && !t.closed && !t.failed) return undefined;
  return `${t.reminded} reminded, ${t.closed} closed, ${t.failed} failed`;
}

export type KontrollRunSummary = {
  run: {
    id: string;
    source: 'schedule' | 'manual';
    as_of: Date;
    finished_at: Date | null;
    reminded: number;
    closed: number;
    skipped: number;
    failed: number;
    error: string | null;
    user_name: string | null;
  };
  // the cases it handled, as they are now (at most `limit` of each)
  reminded: { number: string; title: string; status_name: string }[];
  closed: { number: string; title: string; status_name: string }[];
};

export async function findKontrollRun(db: Db, runId: string, limit = 500): Promise<KontrollRunSummary | null> {
  const run = await db
    .selectFrom('kontroll_runs')
    .leftJoin('users', 'users.id', 'kontroll_runs.user_id')
    .select([
      'kontroll_runs.id',
      'kontroll_runs.source',
      'kontroll_runs.as_of',
      'kontroll_runs.finished_at',
      'kontroll_runs.reminded',
      'kontroll_runs.closed',
      'kontroll_runs.skipped',
      'kontroll_runs.failed',
      'kontroll_runs.error',
      'users.name as user_name',
    ])
    .where('kontroll_runs.id', '=', runId)
    .executeTakeFirst();
  if (!run) return null;
  const handled = (action: 'remind' | 'close') =>
    db
      .selectFrom('kontroll_actions as a')
      .innerJoin('cases as c', 'c.id', 'a.case_id')
      .innerJoin('case_statuses as s', 's.id', 'c.status_id')
      .select(['c.number', 'c.title', 's.name as status_name'])
      .where('a.run_id', '=', runId)
      .where('a.action', '=', action)
      .orderBy('a.id')
      .limit(limit)
      .execute();
  const [reminded, closed] = await Promise.all([handled('remind'), handled('close')]);
  if (!run.finished_at) {
    // still running, or its process died: its totals are written now and then, its actions at once
    const counts = await db
      .selectFrom('kontroll_actions')
      .select([
        sql<number>`count(*) filter (where action = 'remind')::int`.as('reminded'),
        sql<number>`count(*) filter (where action = 'close')::int`.as('closed'),
      ])
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    return { run: { ...run, ...counts }, reminded, closed };
  }
  return { run, reminded, closed };
}
