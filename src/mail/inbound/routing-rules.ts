// Who may write into a case, and where a mail that names a case goes. Pure: ingest loads the
// facts, these decide (issue 15, items 3-5).

// The sender's standing on the case the mail names.
//   case_contact     the case's contact (its contact row's address, or the address on the case)
//   customer_contact a contact of the case's customer, or an address at one of its domains
//   seen_on_case     an address the case's mails already had as sender, To or Cc, in or out
//   staff            an active user's address
//   stranger         none of these: mallory@evil.example quoting a Message-ID, another customer
export type SenderStanding = 'case_contact' | 'customer_contact' | 'seen_on_case' | 'staff' | 'stranger';

export type SenderFacts = {
  // the From address; null: the mail named no sender
  sender: string | null;
  // the customer the sender belongs to (a contact there, or placed by its domain)
  senderCustomerId: number | null;
  isStaff: boolean;
  caseContactEmails: readonly (string | null)[];
  caseCustomerId: number | null;
  seenAddresses: readonly string[];
};

const same = (a: string | null | undefined, b: string) => Boolean(a) && (a as string).trim().toLowerCase() === b;

export function decideSenderStanding(facts: SenderFacts): SenderStanding {
  const sender = facts.sender?.trim().toLowerCase();
  if (!sender) return 'stranger';
  if (facts.caseContactEmails.some((email) => same(email, sender))) return 'case_contact';
  if (facts.caseCustomerId !== null && facts.senderCustomerId === facts.caseCustomerId) return 'customer_contact';
  if (facts.seenAddresses.some((address) => same(address, sender))) return 'seen_on_case';
  if (facts.isStaff) return 'staff';
  return 'stranger';
}

// Where a customer mail that names a case goes. (A staff member answering a notification mail we
// sent them never gets here: ingest posts it to the case's discussion, as them.)
//   stranger_case a sender the case does not know: a new case linked to it, flagged for triage;
//                 the named case is left as it was
//   possible_loop past the limit of mails an hour from this sender on this case: kept and marked,
//                 nothing else happens (no entry, no reopen, no notification, nothing answers it)
//   case          the case's thread, as decideReplyEffect says
export type CaseMailRoute = 'stranger_case' | 'possible_loop' | 'case';

export function decideCaseMailRoute(input: {
  standing: SenderStanding;
  // mails from this sender on this case in the hour before this one
  recentFromSender: number;
  loopLimitPerHour: number;
}): CaseMailRoute {
  if (input.standing === 'stranger') return 'stranger_case';
  if (input.recentFromSender >= input.loopLimitPerHour) return 'possible_loop';
  return 'case';
}
