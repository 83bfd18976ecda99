import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

// One owner per table (STYLE.md, principle 7): the drafts table (the reply box's drafts before it)
// is read and written only by src/drafts/drafts.ts; the boxes' domains call its functions.
const test = suite('One owner of the drafts table');

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const touchesDrafts =
  /\.(selectFrom|insertInto|updateTable|deleteFrom)\(\s*'(reply_)?drafts\b|\b(from|into|update|join)\s+(reply_)?drafts\b/i;

test('only src/drafts/drafts.ts reads or writes drafts', async () => {
  const entries = await readdir(src, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(src, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  const touching: string[] = [];
  for (const file of files) {
    if (touchesDrafts.test(await readFile(path.join(src, file), 'utf8'))) touching.push(file);
  }
  assert.equal(touching, ['drafts/drafts.ts']);
});

test.run();
