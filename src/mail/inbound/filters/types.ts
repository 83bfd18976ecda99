import type { Db } from '../../../db/database.ts';
import type { ParsedInbound } from '../parse.ts';

// What the filters need to know about us, loaded once per message.
export type FilterContext = {
  db: Db;
  // our From and Reply-To addresses, lower-cased: mail from them is our own come back
  ownAddresses: string[];
  // mail_settings.subject_tag, e.g. "[#{number}]"
  subjectTag: string;
  // the secret our Message-IDs are signed with (loadSecret(db, 'message-id'))
  messageIdSecret: string;
};

export type CaseMatch = { caseId: number; number: string; by: 'subject' | 'reference' | 'returned_headers' };

// Who wrote, and where they belong. newContact: the sender matched a customer by domain only;
// ingest creates the contact under it.
export type SenderMatch = {
  email: string | null;
  name: string;
  customerId: number | null;
  contactId: number | null;
  newContact: { customerId: number; name: string; email: string } | null;
};

export type BounceReport = {
  // the Message-ID of the mail that bounced, as found in the returned message or headers
  originalMessageId: string | null;
  reason: string;
  // a "still trying" notice (Action: delayed), not a failure
  delayed: boolean;
};

// The filters' running decision. kind 'customer' is ordinary mail from a person; the others are
// never answered, never reopen anything and never create a case.
export type Verdict = {
  kind: 'customer' | 'own' | 'bounce' | 'auto_reply';
  // set by a filter that has decided; later filters are skipped
  decided: boolean;
  bounce: BounceReport | null;
  match: CaseMatch | null;
  sender: SenderMatch | null;
};

// A filter decides (sets decided) or enriches the verdict. Filters only read; ingest writes.
export type InboundFilter = {
  name: string;
  run: (mail: ParsedInbound, verdict: Verdict, ctx: FilterContext) => Verdict | Promise<Verdict>;
};
