import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from 'htmlparser2';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { seedAcme } from '../../test-support/seeds.ts';
import { mailBodyHtml } from './body.ts';
import { parseInbound } from './parse.ts';
import { processInboundMessage } from './process.ts';
import { storeInboundRaw } from './store.ts';

// Real replies from public test sets and mailing lists, and a few Swedish ones written from how
// the mail programs format them; test-mail/replies/manifest.json says where each comes from, which
// of the sender's own lines must stay in sight and one quoted line that must be folded away.
const repliesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-mail/replies');

type Reply = {
  file: string;
  source: string;
  client: string;
  style: 'top' | 'bottom' | 'interleaved';
  language: string;
  written?: boolean;
  own: string[];
  quoted: string;
};

const replies = JSON.parse(readFileSync(path.join(repliesDir, 'manifest.json'), 'utf8')) as Reply[];

// A .txt fixture is a body only, as its source kept it: sent as a plain-text mail.
function rawMail(reply: Reply): Buffer {
  const data = readFileSync(path.join(repliesDir, reply.file));
  if (!reply.file.endsWith('.txt')) return data;
  const head = 'From: sender@example.com\r\nTo: support@casedesk.test\r\nSubject: Re: test\r\n';
  return Buffer.concat([
    Buffer.from(`${head}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`),
    data,
  ]);
}

const blockTags = new Set(['p', 'div', 'br', 'blockquote', 'li', 'tr', 'pre', 'hr', 'summary']);
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

// What a reader sees of stored body HTML without opening anything, and what is folded away.
function readBody(html: string): { shown: string; folded: string } {
  let depth = 0;
  let shown = '';
  let folded = '';
  const add = (text: string) => {
    if (depth > 0) folded += text;
    else shown += text;
  };
  const parser = new Parser(
    {
      onopentag(tag) {
        if (tag === 'details') depth += 1;
        if (blockTags.has(tag)) add('\n');
      },
      onclosetag(tag) {
        if (blockTags.has(tag)) add('\n');
        if (tag === 'details') depth -= 1;
      },
      ontext(text) {
        add(text);
      },
    },
    { decodeEntities: true },
  );
  parser.end(html);
  return { shown: squash(shown), folded: squash(folded) };
}

// Why a reply is not folded right, or null when it is.
async function foldingFault(reply: Reply): Promise<string | null> {
  const parsed = await parseInbound(rawMail(reply));
  const { html } = mailBodyHtml({ html: parsed.html, text: parsed.text });
  if (!/^[\s\S]*<details class="quoted"><summary>/.test(html)) return 'nothing folded';
  const { shown, folded } = readBody(html);
  const hidden = reply.own.filter((line) => !shown.includes(squash(line)));
  if (hidden.length > 0) return `own lines hidden: ${hidden.map((l) => JSON.stringify(l)).join(', ')}`;
  if (!folded.includes(squash(reply.quoted))) return `quoted line shown: ${JSON.stringify(reply.quoted)}`;
  return null;
}

// The share this code reaches on the corpus; a change that folds fewer right fails here.
const required = 1;

const corpus = suite('Quoted history in real replies');

corpus('the corpus holds at least 45 real replies of each style, Swedish and English', () => {
  assert.ok(replies.length >= 45, `${replies.length} replies`);
  assert.ok(replies.filter((r) => !r.written).length >= 30, 'mostly collected, not written');
  for (const style of ['top', 'bottom', 'interleaved']) {
    assert.ok(replies.filter((r) => r.style === style).length >= 5, `at least five ${style}-posted`);
  }
  assert.ok(replies.filter((r) => r.language === 'sv').length >= 10, 'Swedish replies');
});

corpus('each reply folds its quote and keeps every line the sender wrote in sight', async () => {
  const faults: string[] = [];
  const styles = new Map<string, { right: number; all: number }>();
  for (const reply of replies) {
    const fault = await foldingFault(reply);
    const tally = styles.get(reply.style) ?? { right: 0, all: 0 };
    tally.all += 1;
    if (fault) faults.push(`${reply.file} (${reply.style}, ${reply.client}): ${fault}`);
    else tally.right += 1;
    styles.set(reply.style, tally);
  }
  const right = replies.length - faults.length;
  const perStyle = [...styles].map(([style, t]) => `${style} ${t.right}/${t.all}`).join(', ');
  console.log(`  quote folding: ${right} of ${replies.length} folded right (${perStyle})`);
  for (const fault of faults) console.log(`    ${fault}`);
  assert.ok(right / replies.length >= required, `${right} of ${replies.length} folded right:\n${faults.join('\n')}`);
});

corpus.run();

// Through the real pipeline: the stored thread entry is what agents read.
const ctx = {} as { db: Db; drop: () => Promise<void>; config: Config };
const pipeline = suite('Replies imported through the pipeline');

pipeline.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
  await seedAcme(ctx.db);
});
pipeline.after(async () => {
  await ctx.drop();
});

async function importReply(file: string) {
  const reply = replies.find((r) => r.file === file) as Reply;
  const stored = await storeInboundRaw(ctx.db, rawMail(reply), { source: 'import' });
  const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
  assert.ok(result.caseNumber, `${file}: ${result.outcome} ${result.error ?? ''}`);
  const entry = await ctx.db
    .selectFrom('thread_entries')
    .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
    .select('thread_entries.body_html')
    .where('cases.number', '=', result.caseNumber as string)
    .orderBy('thread_entries.id', 'desc')
    .executeTakeFirstOrThrow();
  return { reply, ...readBody(entry.body_html) };
}

pipeline('a bottom-posted Swedish reply shows the answer under the folded quote', async () => {
  const { shown, folded } = await importReply('zimbra-sv-bottom-timestamps.eml');
  assert.match(shown, 'Not sure any laws were passed on Feb 30th 1712 in sweden');
  assert.match(shown, '-- robin');
  assert.match(folded, '----- Ursprungligt meddelande -----');
  assert.match(folded, "One example I've heard is someone wanting to throw the history");
  assert.not.match(shown, 'Ursprungligt meddelande');
});

pipeline('an interleaved reply keeps each answer in sight and folds each quoted question', async () => {
  const { shown, folded } = await importReply('sv-thunderbird-text-interleaved.eml');
  assert.match(shown, 'Torsdag passar bra, helst före lunch.');
  assert.match(shown, 'Ja, två platser för besökare.');
  assert.match(folded, 'Passar det med service på torsdag?');
  assert.match(folded, 'Finns det parkering vid entrén?');
  assert.not.match(shown, 'Finns det parkering');
  assert.ok(shown.indexOf('Torsdag passar') < shown.indexOf('Ja, två platser'), 'in the order written');
});

pipeline.run();
