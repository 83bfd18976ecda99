import { sql } from 'kysely';
import type { Db } from '../../../db/database.ts';
import { isOurMessageId } from '../../outbound/message-id.ts';
import type { CaseMatch, InboundFilter } from './types.ts';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The case numbers tagged in a subject, in the format of mail_settings.subject_tag:
// "[#{number}]" finds 2026-00042 in "SV: Re: [#2026-00042] Skrivaren".
export function caseNumbersInSubject(subject: string, tagFormat: string): string[] {
  const [before = '', after = ''] = tagFormat.split('{number}');
  const pattern = new RegExp(
    `${escapeRegExp(before)}\\s*([A-Za-z0-9][A-Za-z0-9_./-]{0,39}?)\\s*${after ? escapeRegExp(after) : '(?=\\s|$)'}`,
    'g',
  );
  return [...subject.matchAll(pattern)].map((m) => m[1] as string);
}

// Looks like one of ours ("<cd.….…@…>"): then only a valid signature makes it trusted.
const oursInForm = /^<?cd\.[^@]*@/;

// The references to follow, most recent first: In-Reply-To, then References from the end.
// A reference dressed as ours whose signature fails is dropped: someone made it up.
export function trustedReferences(inReplyTo: string | null, references: string[], secret: string): string[] {
  const ids = [...(inReplyTo ? [inReplyTo] : []), ...[...references].reverse()];
  return [...new Set(ids)].filter((id) => !oursInForm.test(id) || isOurMessageId(id, secret)).slice(0, 50);
}

async function caseByNumber(db: Db, number: string) {
  return db
    .selectFrom('cases')
    .select(['id', 'number', 'merged_into_id'])
    .where('number', '=', number)
    .executeTakeFirst();
}

// The first of the ids that a thread entry or a sent mail of ours carries (an entry before a
// sent mail with the same id), both asked in one round trip.
async function caseByMessageIds(db: Db, ids: string[]) {
  if (!ids.length) return undefined;
  const rows = await db
    .selectFrom('thread_entries')
    .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
    .select([
      'thread_entries.message_id',
      'cases.id',
      'cases.number',
      'cases.merged_into_id',
      sql<number>`0`.as('rank'),
    ])
    .where('thread_entries.message_id', 'in', ids)
    .unionAll((eb) =>
      eb
        .selectFrom('outbox')
        .innerJoin('cases', 'cases.id', 'outbox.case_id')
        .select(['outbox.message_id', 'cases.id', 'cases.number', 'cases.merged_into_id', sql<number>`1`.as('rank')])
        .where('outbox.message_id', 'in', ids),
    )
    .execute();
  const byId = new Map<string | null, (typeof rows)[number]>();
  for (const row of rows) {
    const known = byId.get(row.message_id);
    if (!known || row.rank < known.rank) byId.set(row.message_id, row);
  }
  for (const id of ids) {
    const row = byId.get(id);
    if (row) return row;
  }
  return undefined;
}

// A case merged into another carries on there (src/cases/merge.ts): mail answering it, by its tag
// or by a message of its thread, belongs to the case it was merged into, and that one's, if it
// was merged again.
async function carriedOn(db: Db, kase: { id: number; number: string }): Promise<{ id: number; number: string }> {
  let current = kase;
  for (let hops = 0; hops < 20; hops++) {
    const next = await db
      .selectFrom('cases as merged')
      .innerJoin('cases as into', 'into.id', 'merged.merged_into_id')
      .select(['into.id', 'into.number'])
      .where('merged.id', '=', current.id)
      .executeTakeFirst();
    if (!next) return current;
    current = next;
  }
  return current;
}

// M4: the case tag in the subject first, then the Message-IDs the mail answers.
export const caseMatchFilter: InboundFilter = {
  name: 'case-match',
  run: async (mail, verdict, ctx) => {
    for (const number of caseNumbersInSubject(mail.subject, ctx.subjectTag)) {
      const tagged = await caseByNumber(ctx.db, number);
      if (!tagged) continue;
      const kase = tagged.merged_into_id === null ? tagged : await carriedOn(ctx.db, tagged);
      return { ...verdict, match: { caseId: kase.id, number: kase.number, by: 'subject' } satisfies CaseMatch };
    }
    const ids = trustedReferences(mail.inReplyTo, mail.references, ctx.messageIdSecret);
    const answered = await caseByMessageIds(ctx.db, ids);
    if (!answered) return verdict;
    const kase = answered.merged_into_id === null ? answered : await carriedOn(ctx.db, answered);
    return { ...verdict, match: { caseId: kase.id, number: kase.number, by: 'reference' } };
  },
};
