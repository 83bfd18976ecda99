// What became of one inbound message; its own file, as both ingest and process name it.
export type IngestOutcome =
  | 'created' // a new case
  | 'appended' // a customer entry in an existing case's thread
  | 'reopened' // appended to a closed case, which opened again
  | 'new_linked' // a reply to a long-closed case: a new case linked to the old one
  | 'stranger' // a sender the named case does not know: a new case linked to it, flagged for triage
  | 'discussion' // a staff member answering a notification mail: a post in the case's discussion
  | 'possible_loop' // past the hourly limit of mails from this sender on this case: kept, nothing more
  | 'bounce' // a delivery failure report, attached to the case whose mail bounced
  | 'auto_reply' // out-of-office and other automatic answers: kept, never answered
  | 'own' // mail we sent ourselves, come back
  | 'duplicate' // this message was processed before
  | 'failed'; // kept in the failed-mail list with the error

export type IngestResult = { inboundId: string; outcome: IngestOutcome; caseNumber?: string; error?: string };
