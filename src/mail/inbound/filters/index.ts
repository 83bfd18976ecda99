import type { ParsedInbound } from '../parse.ts';
import { autoReplyFilter } from './auto-reply.ts';
import { bounceFilter } from './bounce.ts';
import { caseMatchFilter } from './case-match.ts';
import { ownMailFilter } from './own-mail.ts';
import { senderFilter } from './sender.ts';
import type { FilterContext, InboundFilter, Verdict } from './types.ts';

// THE order: what is ours or a delivery report stops at once; an automatic answer is marked and
// still matched to its case; then the case, then the sender.
export const inboundFilters: readonly InboundFilter[] = [
  ownMailFilter,
  bounceFilter,
  autoReplyFilter,
  caseMatchFilter,
  senderFilter,
];

export async function runInboundFilters(mail: ParsedInbound, ctx: FilterContext): Promise<Verdict> {
  let verdict: Verdict = { kind: 'customer', decided: false, bounce: null, match: null, sender: null };
  for (const filter of inboundFilters) {
    verdict = await filter.run(mail, verdict, ctx);
    if (verdict.decided) break;
  }
  return verdict;
}
