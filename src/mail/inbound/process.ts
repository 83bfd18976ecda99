import { sql } from 'kysely';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { withoutNul } from '../../db/text.ts';
import { readFileContent } from '../../files/files.ts';
import { type IngestSettings, ingestInbound, loadIngestSettings } from './ingest.ts';
import type { IngestResult } from './outcome.ts';
import { NotAMailError, parseInbound } from './parse.ts';

export type { IngestOutcome, IngestResult } from './outcome.ts';

// Turns one stored inbound message into a case, a thread entry, or an ignored/failed mark.
// Idempotent: processing the same stored message again changes nothing.
// Never throws for a bad mail (or a database hiccup): the message is marked failed with the error,
// kept for a retry from Administration → Failed mail, and the caller goes on with the next one.
// prepared: what a reader has at hand (the raw bytes it just stored, the run's settings), so
// they are not read back.
export async function processInboundMessage(
  db: Db,
  config: Config,
  inboundId: string,
  prepared?: PreparedInbound,
): Promise<IngestResult> {
  try {
    return await processOnce(db, config, inboundId, prepared);
  } catch (error) {
    // The same mail (same Message-ID) stored twice and ingested at the same moment by two readers:
    // the loser's transaction rolled back; once more, it finds the winner's entry (a duplicate).
    if (uniqueViolation(error) === 'thread_entries_message_id') {
      try {
        return await processOnce(db, config, inboundId, prepared);
      } catch (again) {
        return fail(db, inboundId, again);
      }
    }
    return fail(db, inboundId, error);
  }
}

async function fail(db: Db, inboundId: string, error: unknown): Promise<IngestResult> {
  // an error may quote the mail, NUL and all, and must not fail its own recording
  const message = withoutNul(error instanceof Error ? error.message : String(error));
  // a file that is no mail is failed all the same; its outcome lets Failed mail say so
  const outcome = error instanceof NotAMailError ? 'not_mail' : 'failed';
  await markFailed(db, inboundId, message, outcome).catch(() => {});
  return { inboundId, outcome: 'failed', error: message };
}

export type PreparedInbound = { raw?: Buffer; settings: IngestSettings };

async function processOnce(
  db: Db,
  config: Config,
  inboundId: string,
  prepared?: PreparedInbound,
): Promise<IngestResult> {
  // ingestInbound locks the row and checks its status again before it writes anything.
  if (prepared?.raw) {
    const mail = await parseInbound(prepared.raw, { maxBytes: prepared.settings.maxInboundBytes });
    return await ingestInbound(db, config, inboundId, mail, prepared.settings);
  }
  const row = await db
    .selectFrom('inbound_messages')
    .select(['id', 'status', 'file_id', 'case_id'])
    .where('id', '=', inboundId)
    .executeTakeFirst();
  if (!row) return { inboundId, outcome: 'failed', error: `No stored inbound message ${inboundId}` };
  if (row.status === 'processed' || row.status === 'ignored') {
    const kase = row.case_id
      ? await db.selectFrom('cases').select('number').where('id', '=', row.case_id).executeTakeFirst()
      : undefined;
    return { inboundId, outcome: 'duplicate', ...(kase ? { caseNumber: kase.number } : {}) };
  }
  const settings = prepared?.settings ?? (await loadIngestSettings(db));
  const raw = await readFileContent(db, row.file_id);
  const mail = await parseInbound(raw, { maxBytes: settings.maxInboundBytes });
  return await ingestInbound(db, config, inboundId, mail, settings);
}

// A message that was processed meanwhile (by another reader) keeps its result.
async function markFailed(db: Db, inboundId: string, error: string, outcome: 'failed' | 'not_mail'): Promise<void> {
  await db
    .updateTable('inbound_messages')
    .set({ status: 'failed', outcome, error: error.slice(0, 4000), attempts: sql`attempts + 1` })
    .where('id', '=', inboundId)
    .where('status', 'in', ['pending', 'failed'])
    .execute();
}
