// npm run mail:import -- [--json] FILE.eml …: runs the very pipeline Read mail runs (store the raw
// message, then process it) on files, for migration and testing, and says per file what happened.
// Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (the app's, while it runs), migrated
// to the latest first.

import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { errorMessage } from '../src/error-message.ts';
import { loadIngestSettings } from '../src/mail/inbound/ingest.ts';
import { type IngestResult, processInboundMessage } from '../src/mail/inbound/process.ts';
import { storeInboundRaw } from '../src/mail/inbound/store.ts';

function describe(result: IngestResult): string {
  const n = result.caseNumber ?? '?';
  switch (result.outcome) {
    case 'created':
      return `created case ${n}`;
    case 'appended':
      return `added to case ${n}`;
    case 'reopened':
      return `added to case ${n}, which was reopened`;
    case 'new_linked':
      return `created case ${n}, following up a closed case`;
    case 'stranger':
      return `created case ${n} for triage: the sender is not known on the case it names`;
    case 'discussion':
      return `added to the discussion of case ${n}`;
    case 'possible_loop':
      return `kept as a possible loop (case ${n}), not added`;
    case 'bounce':
      return result.caseNumber ? `ignored as bounce (noted in case ${n})` : 'ignored as bounce';
    case 'auto_reply':
      return result.caseNumber ? `ignored as auto-reply (noted in case ${n})` : 'ignored as auto-reply';
    case 'own':
      return 'ignored as our own mail';
    case 'duplicate':
      return result.caseNumber ? `already imported (case ${n})` : 'already imported';
    case 'failed':
      return `failed: ${result.error ?? 'unknown error'}`;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (!files.length) {
    console.error('usage: npm run mail:import -- [--json] FILE.eml …');
    return 2;
  }
  const config = loadConfig();
  const database = await openDatabase(config, (msg) => console.error(`[mail:import] ${msg}`), 2);
  let failed = 0;
  try {
    await migrateToLatest(database.db);
    // read once for the whole import, as Read mail does per run
    const settings = await loadIngestSettings(database.db);
    for (const file of files) {
      let result: IngestResult | { outcome: 'failed'; error: string; inboundId?: undefined; caseNumber?: undefined };
      try {
        const raw = await readFile(file);
        const stored = await storeInboundRaw(database.db, raw, { source: 'import' });
        result = await processInboundMessage(database.db, config, stored.id, { raw, settings });
      } catch (error) {
        // a file that cannot be read is never stored: there is nothing to retry
        result = { outcome: 'failed', error: errorMessage(error) };
      }
      if (result.outcome === 'failed') failed += 1;
      if (json) {
        console.log(
          JSON.stringify({
            file,
            inboundId: result.inboundId ?? null,
            outcome: result.outcome,
            caseNumber: result.caseNumber ?? null,
            error: result.error ?? null,
          }),
        );
      } else console.log(`${file}: ${describe(result as IngestResult)}`);
    }
  } finally {
    await database.close();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`[mail:import] failed: ${errorMessage(error)}`);
    process.exit(1);
  },
);
