import { sql } from 'kysely';
import type { Config } from '../config.ts';
import { withAdvisoryLock } from '../db/advisory-locks.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { queueReplyMail } from '../mail/outbound/reply-mail.ts';
import { loadMailSettings } from '../mail/outbound/settings.ts';
import { daysWaited, decideKontroll, fillPlaceholders, kontrollThreshold, plainTextToHtml } from './rules.ts';
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
  // cases per batch; each case still gets its own short transaction
  batchSize?: number;
  // transactions at once within a batch
  concurrency?: number;
};

export type KontrollRunTotals = { runId: string; reminded: number; closed: number; skipped: number; failed: number };
export type KontrollRunOutcome = ({ status: 'done' } & KontrollRunTotals) | { status: 'busy' };

// Kontroll on demand: under the job's advisory lock, so a second click, a second instance or
// the schedule at the same moment gets "busy" instead of a second run.
export async function runKontroll(db: Db, config: Config, opts: KontrollRunOptions = {}): Promise<KontrollRunOutcome> {
  const locked = await withAdvisoryLock(db, 'job', kontrollJobName, () => runKontrollHoldingLock(db, config, opts));
  return locked.acquired ? { status: 'done', ...locked.value } : { status: 'busy' };
}

// The run itself, for callers that already hold the job's lock (runJob in the schedule).
export async function runKontrollHoldingLock(
  db: Db,
  config: Config,
  opts: KontrollRunOptions & { source?: 'schedule' | 'manual' },
): Promise<KontrollRunTotals> {
  const now = opts.now ?? new Date();
  const actor = opts.actor ?? null;
  const batchSize = opts.batchSize ?? 500;
  const concurrency = opts.concurrency ?? 8;
  const run = await db
    .insertInto('kontroll_runs')
    .values({ source: opts.source ?? (actor ? 'manual' : 'schedule'), user_id: actor?.id ?? null, as_of: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  const totals: KontrollRunTotals = { runId: run.id, reminded: 0, closed: 0, skipped: 0, failed: 0 };
  let lastError: string | null = null;
  try {
    const settings = await loadKontrollSettings(db);
    const fromName = (await loadMailSettings(db, config)).fromName;
    const candidates = await findKontrollCandidates(db, settings, now);
    for (let start = 0; start < candidates.length; start += batchSize) {
      const batch = candidates.slice(start, start + batchSize);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < batch.length; i = next++) {
          const candidate = batch[i] as KontrollCandidate;
          try {
            const done = await applyKontroll(db, config, candidate.id, { settings, now, runId: run.id, fromName });
            if (done === 'remind') totals.reminded += 1;
            else if (done === 'close') totals.closed += 1;
            else totals.skipped += 1;
          } catch (error) {
            totals.failed += 1;
            lastError = `${candidate.number}: ${error instanceof Error ? error.message : String(error)}`;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
      // progress, so a long run shows how far it got
      await recordTotals(db, totals, lastError, null);
    }
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

// One case in its own short transaction: the row locked, its state decided afresh (the customer
// may have answered, an agent changed the status or another run handled it since the candidates
// were read), the period's action recorded, then the mail, the entry, the event and the status.
export async function applyKontroll(
  db: Db,
  config: Config,
  caseId: number,
  ctx: { settings: KontrollSettings; now: Date; runId: string | null; fromName: string },
): Promise<'remind' | 'close' | 'skipped'> {
  const { settings, now } = ctx;
  return db.transaction().execute(async (trx) => {
    // The lock makes an incoming customer mail (ingest) or an agent's edit wait for this
    // transaction, or this one for theirs; either way the re-check below sees the truth.
    const kase = await trx
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
        'version',
      ])
      .where('id', '=', caseId)
      .forUpdate()
      .executeTakeFirst();
    if (!kase?.waiting_since) return 'skipped';
    const waitingSince = kase.waiting_since;
    const reminded = await trx
      .selectFrom('kontroll_actions')
      .select('id')
      .where('case_id', '=', kase.id)
      .where('waiting_since', '=', waitingSince)
      .where('action', '=', 'remind')
      .executeTakeFirst();
    const action = decideKontroll(
      {
        statusKind: kase.status_kind,
        waitingSince,
        caseTypeId: kase.case_type_id,
        remindedThisPeriod: Boolean(reminded),
      },
      settings,
      now,
    );
    if (action === 'none') return 'skipped';
    const closeStatusId = settings.closeStatusId;
    if (action === 'close' && !closeStatusId) throw new Error('no status for closed cases in the settings');
    // The period's record first: should anything have slipped past the lock, the unique key stops it.
    const recorded = await trx
      .insertInto('kontroll_actions')
      .values({ case_id: kase.id, waiting_since: waitingSince, action, run_id: ctx.runId })
      .onConflict((oc) => oc.columns(['case_id', 'waiting_since', 'action']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!recorded) return 'skipped';

    const [contact, responsible] = await Promise.all([
      kase.contact_id
        ? trx.selectFrom('contacts').select(['name', 'email']).where('id', '=', kase.contact_id).executeTakeFirst()
        : undefined,
      kase.responsible_id
        ? trx.selectFrom('users').select('name').where('id', '=', kase.responsible_id).executeTakeFirst()
        : undefined,
    ]);
    const to = kase.contact_email ?? contact?.email ?? null;
    // Contacts carry no language yet; the English texts wait for one. Swedish until then.
    const texts = settings.texts[action].sv;
    const values = {
      case_number: kase.number,
      title: kase.title,
      contact_name: kase.contact_name ?? contact?.name ?? '',
      responsible_name: responsible?.name ?? ctx.fromName,
      days: String(daysWaited(waitingSince, now)),
    };
    const entry = await trx
      .insertInto('thread_entries')
      .values({
        case_id: kase.id,
        side: 'system',
        user_id: null,
        author_name: ctx.fromName,
        body_html: plainTextToHtml(fillPlaceholders(texts.text, values)),
        // without an address the entry stays in the thread and no mail leaves
        delivery: to ? 'to_send' : 'none',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (to) {
      await queueReplyMail(trx, config, {
        caseId: kase.id,
        entryId: entry.id,
        addressing: { to: [to], cc: [], documentIds: [] },
        actorId: null,
        status: 'queued',
        subject: fillPlaceholders(texts.subject, values),
        autoSubmitted: true,
      });
    }
    await trx
      .updateTable('kontroll_actions')
      .set({ thread_entry_id: entry.id })
      .where('id', '=', recorded.id)
      .execute();

    if (action === 'remind') {
      await trx
        .insertInto('case_events')
        .values({ case_id: kase.id, user_id: null, kind: 'kontroll_reminder', new_value: to })
        .execute();
      await trx.updateTable('cases').set({ last_activity_at: new Date() }).where('id', '=', kase.id).execute();
      return 'remind';
    }
    const statuses = await trx
      .selectFrom('case_statuses')
      .select(['id', 'name'])
      .where('id', 'in', [kase.status_id, closeStatusId as number])
      .execute();
    const nameOf = (id: number) => statuses.find((s) => s.id === id)?.name ?? String(id);
    await trx
      .updateTable('cases')
      .set({
        status_id: closeStatusId as number,
        // an agent's form opened before this is refused as stale rather than reopening the case
        version: kase.version + 1,
        updated_at: new Date(),
        last_activity_at: new Date(),
      })
      .where('id', '=', kase.id)
      .execute();
    await trx
      .insertInto('case_events')
      .values({
        case_id: kase.id,
        user_id: null,
        kind: 'kontroll_closed',
        old_value: nameOf(kase.status_id),
        new_value: nameOf(closeStatusId as number),
      })
      .execute();
    return 'close';
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
  return { run, reminded, closed };
}
