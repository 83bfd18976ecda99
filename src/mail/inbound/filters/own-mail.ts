import { isOurMessageId } from '../../outbound/message-id.ts';
import type { ParsedInbound } from '../parse.ts';
import type { FilterContext, InboundFilter } from './types.ts';

// Mail we sent that came back to the mailbox we read (our own address in Cc, a forwarding loop):
// its Message-ID carries our signature, it is from our own address, or it carries the
// X-Casedesk-Case header that only our outgoing mail has (mail programs never copy it to a reply).
export function isOwnMail(mail: ParsedInbound, ctx: Pick<FilterContext, 'ownAddresses' | 'messageIdSecret'>): boolean {
  if (mail.messageId && isOurMessageId(mail.messageId, ctx.messageIdSecret)) return true;
  if (mail.from && ctx.ownAddresses.includes(mail.from.address.toLowerCase())) return true;
  return mail.headers.xCasedeskCase !== null;
}

export const ownMailFilter: InboundFilter = {
  name: 'own-mail',
  run: (mail, verdict, ctx) => (isOwnMail(mail, ctx) ? { ...verdict, kind: 'own', decided: true } : verdict),
};
