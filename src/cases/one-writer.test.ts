import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

// One owner per state (STYLE.md, principle 7): only src/cases/ writes a case's status, closed_at
// and waiting_since, and the history rows; cases are inserted there and thread entries in
// src/threads/. Everyone else calls their functions. A scan of the source, so a new writer
// anywhere fails here before it can skip the lifecycle.
const test = suite('One writer of a case’s state');

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Bulk generators that write 100,000 rows set-wise with triggers off (the demo's synthetic data,
// the benchmarks' seeds): they set the lifecycle's columns themselves, as a migration would.
const bulkGenerators = ['demo/synthetic-data.ts', 'bench/'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(src, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

const stateColumns = /\b(status_id|closed_at|waiting_since)\b/;

// The statement starting at `start`: a Kysely chain up to its execute, or SQL up to the end of
// its template literal.
function statementAt(code: string, start: number): string {
  const rest = code.slice(start);
  const end = rest.search(/\.execute(TakeFirst(OrThrow)?)?\(|`/);
  return end < 0 ? rest : rest.slice(0, end);
}

function findStateWrites(code: string): string[] {
  const found: string[] = [];
  for (const m of code.matchAll(/\.updateTable\(\s*'cases(?: as \w+)?'\s*\)|\bupdate\s+cases\b/gi)) {
    const statement = statementAt(code, (m.index ?? 0) + m[0].length);
    const column = stateColumns.exec(statement);
    if (column) found.push(`${m[0].trim()} … ${column[1]}`);
  }
  for (const m of code.matchAll(/\.insertInto\(\s*'case_events'\s*\)|\binsert\s+into\s+case_events\b/gi))
    found.push(m[0]);
  return found;
}

const insertsCases = /\.insertInto\(\s*'cases'\s*\)|\binsert\s+into\s+cases\b/gi;
const insertsEntries = /\.insertInto\(\s*'thread_entries'\s*\)|\binsert\s+into\s+thread_entries\b/gi;

test('the scan sees the ways a case’s state can be written', () => {
  const samples = [
    "db.updateTable('cases').set({ status_id: 3, version: 2 }).where('id', '=', 1).execute()",
    "trx.updateTable('cases').set((eb) => ({ waiting_since: null })).execute()",
    'await sql`UPDATE cases SET closed_at = now() WHERE id = 1`.execute(db)',
    "db.insertInto('case_events').values({ kind: 'created' })",
  ];
  for (const sample of samples) assert.is(findStateWrites(sample).length, 1, sample);
  assert.equal(findStateWrites("db.updateTable('cases').set({ last_activity_at: new Date() }).execute()"), []);
});

test('no module outside src/cases/ writes status_id, closed_at, waiting_since or history rows', async () => {
  const offenders: string[] = [];
  for (const file of await sourceFiles(src)) {
    if (file.startsWith('cases/') || bulkGenerators.some((g) => file.startsWith(g))) continue;
    const code = await readFile(path.join(src, file), 'utf8');
    for (const write of findStateWrites(code)) offenders.push(`${file}: ${write}`);
  }
  assert.equal(offenders, [], 'call applyCaseEvent / recordCaseEvent (src/cases/case-events.ts) instead');
});

test('cases are inserted in src/cases/ only, thread entries in src/threads/ only', async () => {
  const offenders: string[] = [];
  for (const file of await sourceFiles(src)) {
    if (bulkGenerators.some((g) => file.startsWith(g))) continue;
    const code = await readFile(path.join(src, file), 'utf8');
    if (!file.startsWith('cases/') && insertsCases.test(code)) offenders.push(`${file}: inserts cases`);
    if (!file.startsWith('threads/') && insertsEntries.test(code)) offenders.push(`${file}: inserts thread_entries`);
    insertsCases.lastIndex = 0;
    insertsEntries.lastIndex = 0;
  }
  assert.equal(offenders, [], 'call createCaseRecord (src/cases/cases.ts) / addThreadEntry (src/threads/entries.ts)');
});

test.run();
