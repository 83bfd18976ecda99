import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { en } from './en.ts';
import { catalogues, languages, translator } from './i18n.ts';
import { sv } from './sv.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const test = suite('Message catalogues');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

// Literal keys only: t('a.b') or t("a.b") closed by ")" or followed by ",". A key built with +
// or a template string is dynamic and cannot be checked here.
const literalKey = /\bt\(\s*(['"])([^'"\\]+)\1\s*[,)]/g;

function keysUsedIn(files: string[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const match of text.matchAll(literalKey)) {
      const key = match[2] as string;
      const line = text.slice(0, match.index).split('\n').length;
      used.set(key, [...(used.get(key) ?? []), `${file}:${line}`]);
    }
  }
  return used;
}

function missingFrom(used: Map<string, string[]>): string[] {
  return [...used]
    .filter(([key]) => languages.some((lang) => !(key in catalogues[lang])))
    .map(([key, where]) => `${key} (${where.join(', ')})`);
}

// {name} and the argument of {name, plural, …}
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)[,}]/g)].map((m) => m[1]).sort();

test('sv and en hold exactly the same keys', () => {
  const svKeys = Object.keys(sv);
  const enKeys = Object.keys(en);
  assert.equal(
    svKeys.filter((k) => !(k in en)),
    [],
    'keys only in sv',
  );
  assert.equal(
    enKeys.filter((k) => !(k in sv)),
    [],
    'keys only in en',
  );
  assert.ok(enKeys.length > 50);
});

test('no text is empty and both languages use the same {placeholders}', () => {
  for (const lang of languages) {
    const empty = Object.entries(catalogues[lang]).filter(([, text]) => text.trim() === '');
    assert.equal(
      empty.map(([key]) => key),
      [],
      `empty texts in ${lang}`,
    );
  }
  const mismatched = Object.keys(en).filter(
    (key) => placeholders(en[key as keyof typeof en]).join() !== placeholders(sv[key as keyof typeof sv] ?? '').join(),
  );
  assert.equal(mismatched, [], 'placeholders differ between sv and en');
});

test("counts take the plural form of the reader's language: 1 dag, 2 dagar; 1 day, 21 days", () => {
  const sv = translator('sv');
  const en = translator('en');
  assert.is(sv('kontroll.rule_remind', { days: 1 }), 'Påminnelse efter 1 dag utan svar.');
  assert.is(sv('kontroll.rule_remind', { days: 7 }), 'Påminnelse efter 7 dagar utan svar.');
  assert.is(en('kontroll.rule_close', { days: 1 }), 'Closing after 1 day.');
  assert.is(en('kontroll.rule_close', { days: 21 }), 'Closing after 21 days.');
  assert.is(
    sv('kontroll.preview_counts', { remind: 1, close: 0 }),
    'Om du kör Kontroll nu får 1 ärende en påminnelse och 0 ärenden stängs.',
  );
  assert.is(
    en('kontroll.preview_counts', { remind: 1, close: 2 }),
    'If you run Kontroll now, 1 case gets a reminder and 2 cases are closed.',
  );
  assert.is(sv('nav.notifications_unread', { count: 1 }), '1 oläst notis');
  assert.is(en('nav.notifications_unread', { count: 3 }), '3 unread notifications');
  // a text without plural forms keeps its braces-free words and apostrophes as written
  assert.is(en('kontroll.more', { count: 2 }), '…and 2 more.');
});

test('every key a view asks for with it.t(...) exists', () => {
  const views = filesUnder('views', '.eta');
  assert.ok(views.includes(path.join('views', 'layout.eta')), 'found the views');
  const used = keysUsedIn(views);
  assert.ok(used.has('nav.cases'), 'the scan sees keys in the layout');
  assert.equal(missingFrom(used), [], 'keys used in views but missing from a catalogue');
});

test('every key the code asks for with t(...) exists', () => {
  // Test files are left out: they may ask for unknown keys on purpose.
  const sources = filesUnder('src', '.ts').filter((file) => !file.endsWith('.test.ts'));
  const used = keysUsedIn(sources);
  assert.ok(used.has('login.invalid'), 'the scan sees keys in routes');
  assert.equal(missingFrom(used), [], 'keys used in src but missing from a catalogue');
});

test('the key scan skips dynamic keys and finds literal ones', () => {
  const sample = `t('a.b') t("c.d", { n: 1 }) t('e.' + kind) t(\`f.\${kind}\`) it.t(r.titleKey) test('x y')`;
  assert.equal(
    [...sample.matchAll(literalKey)].map((m) => m[2]),
    ['a.b', 'c.d'],
  );
});

test.run();
