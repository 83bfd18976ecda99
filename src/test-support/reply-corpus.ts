import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from 'htmlparser2';
import { suite } from 'uvu';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { mailBodyHtml } from '../mail/inbound/body.ts';
import { parseInbound } from '../mail/inbound/parse.ts';
import { testConfig } from './app.ts';
import { createTestDatabase } from './database.ts';
import { receiveMail } from './inbound.ts';
import { seedAcme } from './seeds.ts';

// A corpus of real replies under test-mail/: each folder's manifest.json says where each mail
// comes from, which of the sender's own lines must stay in sight and one quoted line that must
// be folded away. The quote folding tests read them through these helpers.
export type Reply = {
  file: string;
  source: string;
  client: string;
  style: 'top' | 'bottom' | 'interleaved';
  language: string;
  written?: boolean;
  // the body the mail programs show is HTML
  html?: boolean;
  licence?: string;
  own: string[];
  quoted: string;
};

export type ReplyCorpus = { dir: string; replies: Reply[] };

export function loadReplyCorpus(folder: string): ReplyCorpus {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-mail', folder);
  return { dir, replies: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Reply[] };
}

// A .txt fixture is a body only, as its source kept it: sent as a plain-text mail.
export function rawReply(corpus: ReplyCorpus, reply: Reply): Buffer {
  const data = readFileSync(path.join(corpus.dir, reply.file));
  if (!reply.file.endsWith('.txt')) return data;
  const head = 'From: sender@example.com\r\nTo: support@casedesk.test\r\nSubject: Re: test\r\n';
  return Buffer.concat([
    Buffer.from(`${head}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`),
    data,
  ]);
}

const blockTags = new Set(['p', 'div', 'br', 'blockquote', 'li', 'tr', 'pre', 'hr', 'summary']);
export const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

// What a reader sees of stored body HTML without opening anything, and what is folded away.
export function readBody(html: string): { shown: string; folded: string } {
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
export async function foldingFault(corpus: ReplyCorpus, reply: Reply): Promise<string | null> {
  const parsed = await parseInbound(rawReply(corpus, reply));
  const { html } = mailBodyHtml({ html: parsed.html, text: parsed.text });
  if (!/^[\s\S]*<details class="quoted"><summary>/.test(html)) return 'nothing folded';
  const { shown, folded } = readBody(html);
  const hidden = reply.own.filter((line) => !shown.includes(squash(line)));
  if (hidden.length > 0) return `own lines hidden: ${hidden.map((l) => JSON.stringify(l)).join(', ')}`;
  if (!folded.includes(squash(reply.quoted))) return `quoted line shown: ${JSON.stringify(reply.quoted)}`;
  return null;
}

export type FoldingScore = {
  right: number;
  all: number;
  perStyle: Map<string, { right: number; all: number }>;
  faults: string[];
};

// How many replies of a corpus fold right, in all and per style, with what went wrong.
export async function scoreFolding(corpus: ReplyCorpus): Promise<FoldingScore> {
  const faults: string[] = [];
  const perStyle = new Map<string, { right: number; all: number }>();
  for (const reply of corpus.replies) {
    const fault = await foldingFault(corpus, reply);
    const tally = perStyle.get(reply.style) ?? { right: 0, all: 0 };
    tally.all += 1;
    if (fault) faults.push(`${reply.file} (${reply.style}, ${reply.client}): ${fault}`);
    else tally.right += 1;
    perStyle.set(reply.style, tally);
  }
  return { right: corpus.replies.length - faults.length, all: corpus.replies.length, perStyle, faults };
}

export function describeScore(name: string, score: FoldingScore): string {
  const styles = [...score.perStyle].map(([style, t]) => `${style} ${t.right}/${t.all}`).join(', ');
  return [
    `  ${name}: ${score.right} of ${score.all} folded right (${styles})`,
    ...score.faults.map((f) => `    ${f}`),
  ].join('\n');
}

// Imports one reply of a corpus through the real pipeline (stored raw, then processed as a mail
// from outside) and reads the thread entry it became, as agents see it.
export async function importReply(db: Db, config: Config, corpus: ReplyCorpus, file: string) {
  const reply = corpus.replies.find((r) => r.file === file);
  if (!reply) throw new Error(`${file} is not in ${corpus.dir}/manifest.json`);
  const result = await receiveMail(db, config, rawReply(corpus, reply));
  if (!result.caseNumber) throw new Error(`${file}: ${result.outcome} ${result.error ?? ''}`);
  const entry = await db
    .selectFrom('thread_entries')
    .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
    .select('thread_entries.body_html')
    .where('cases.number', '=', result.caseNumber)
    .orderBy('thread_entries.id', 'desc')
    .executeTakeFirstOrThrow();
  return { reply, ...readBody(entry.body_html) };
}

// A suite with a test database of its own (seeded with Acme) that imports replies of one corpus
// through the pipeline.
export function importingSuite(name: string, corpus: ReplyCorpus) {
  const ctx = {} as { db: Db; drop: () => Promise<void>; config: Config };
  const importing = suite(name);
  importing.before(async () => {
    const t = await createTestDatabase();
    Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
    await seedAcme(ctx.db);
  });
  importing.after(async () => {
    await ctx.drop();
  });
  return { suite: importing, importReply: (file: string) => importReply(ctx.db, ctx.config, corpus, file) };
}
