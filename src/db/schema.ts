import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { SlaClock, SlaEventType } from '../service-levels/types.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type Role = 'admin' | 'agent';
export type Language = 'sv' | 'en';
export type StatusKind = 'open' | 'waiting' | 'work_order' | 'closed';
// A sender the case did not know wrote into it; their mail became a new case, flagged with this.
export type TriageReason = 'unknown_sender_on_case';

// What a case_events row records; the database checks the same list (case_events_kind). The
// lifecycle's own kinds are written by applyCaseEvent, the notes by recordCaseEvent (src/cases).
export type CaseEventKind =
  | 'created'
  | 'field_changed'
  | 'reopened'
  | 'kontroll_reminder'
  | 'kontroll_closed'
  | 'merged'
  | CaseNoteKind;
export type CaseNoteKind =
  | 'reply_added'
  | 'email_queued'
  | 'email_sent'
  | 'email_recalled'
  | 'mail_received'
  | 'auto_reply_received'
  | 'mail_bounced'
  | 'follow_up_created'
  | 'follows_case'
  | 'document_added'
  | 'document_version_added'
  | 'document_deleted'
  | 'discussion_post'
  | 'discussion_post_deleted'
  | 'internal_note_saved'
  | 'work_order_created'
  | 'triage_cleared'
  | 'sla_breached'
  | 'case_linked'
  | 'case_unlinked'
  | 'merged_in'
  | 'split_off'
  | 'split_from';

export interface UsersTable {
  id: Generated<number>;
  login: string;
  name: string;
  initials: string;
  email: string | null;
  role: Role;
  language: Language | null;
  active: Generated<boolean>;
  password_hash: string | null;
  session_generation: Generated<number>;
  email_on_mention: Generated<boolean>;
  email_on_assigned: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  sid: string;
  data: ColumnType<unknown, string, string>;
  user_id: number | null;
  expires_at: Timestamp;
}

export interface LoginAttemptsTable {
  id: Generated<string>;
  login: string;
  ip: string;
  // null while the password is being checked
  succeeded: boolean | null;
  created_at: Timestamp;
}

export interface AppSecretsTable {
  name: string;
  value: string;
  created_at: Timestamp;
}

export interface CustomersTable {
  id: Generated<number>;
  number: string;
  name: string;
  email_domains: ColumnType<string[], string[] | undefined, string[]>;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ContactsTable {
  id: Generated<number>;
  customer_id: number;
  name: string;
  email: string | null;
  phone: string | null;
  // null: not known (Swedish is used)
  language: Generated<'sv' | 'en' | null>;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CaseTypesTable {
  id: Generated<number>;
  name: string;
  position: Generated<number>;
  active: Generated<boolean>;
  // types the system uses itself: 'document_approval'
  system_key: Generated<string | null>;
}

export interface CaseStatusesTable {
  id: Generated<number>;
  name: string;
  kind: StatusKind;
  position: Generated<number>;
  active: Generated<boolean>;
}

export interface PrioritiesTable {
  id: Generated<number>;
  name: string;
  rank: number;
  active: Generated<boolean>;
}

export interface NumberSeriesTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  next_number: number;
  digits: number;
  active: Generated<boolean>;
  purpose: Generated<NumberSeriesPurpose>;
}
export type NumberSeriesPurpose = 'cases' | 'projects' | 'work_orders';

export interface CannedRepliesTable {
  id: Generated<number>;
  title: string;
  body_html: string;
  active: Generated<boolean>;
}

export type ThreadSide = 'customer' | 'staff' | 'system';
export type Delivery = 'none' | 'to_send' | 'saved';

export interface CasesTable {
  id: Generated<number>;
  number: string;
  title: string;
  customer_id: number | null;
  contact_id: number | null;
  contact_name: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  responsible_id: number | null;
  status_id: number;
  case_type_id: number;
  priority_id: number | null;
  due_date: ColumnType<string | null, string | null | undefined, string | null>;
  source: Generated<'manual' | 'email'>;
  internal_note: Generated<string>;
  version: Generated<number>;
  internal_note_version: Generated<number>;
  // Set by a trigger from status_id (the kind of the status, for the overview's partial
  // indexes); never written by the app.
  status_kind: Generated<StatusKind>;
  // Set by a trigger from priority_id; never written by the app.
  priority_rank: Generated<number | null>;
  search_vector: Generated<string>;
  unknown_sender: Generated<boolean>;
  previous_case_id: number | null;
  // Why the case waits for a person's look (src/mail/inbound/routing-rules.ts); null: it does not.
  triage_reason: Generated<TriageReason | null>;
  // Start of the current waiting period (Kontroll's clock), null unless waiting; and when the case
  // was closed, null unless closed. Written by applyCaseEvent (src/cases/case-events.ts) only.
  waiting_since: Generated<Date | null>;
  closed_at: Generated<Date | null>;
  // the work order made from this case (H2, O5)
  work_order_id: Generated<number | null>;
  // The service-level clock (migration 20261204_1510): the policy it runs by, its state (SlaClock)
  // and the earliest running deadline with its warning point. Written by the case lifecycle only.
  sla_policy_id: Generated<number | null>;
  sla_clock: ColumnType<SlaClock | null, string | null | undefined, string | null>;
  sla_due_at: Generated<Date | null>;
  sla_warn_at: Generated<Date | null>;
  created_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_activity_at: Timestamp;
  // the case this one was merged into (issue 18): closed, its URL leads there
  merged_into_id: Generated<number | null>;
}

// One row per case for the reports (src/reports/), kept by triggers (migration 20261205_0500).
export interface CaseReportFactsTable {
  case_id: number;
  customer_id: number | null;
  case_type_id: number;
  priority_id: number | null;
  responsible_id: number | null;
  source: string;
  created_at: Date;
  closed_at: Date | null;
  first_response_at: Date | null;
  sla_policy_id: number | null;
  sla_breached: Generated<boolean>;
  // generated by the database from the instants above; never written
  first_response_hours: Generated<number | null>;
  resolution_hours: Generated<number | null>;
  // from the SLA clock, for cases with a service level (migration 20261205_0600)
  first_response_business_hours: number | null;
  resolution_business_hours: number | null;
}

// Counts of the reports' times, channels and closures per person per UTC month (migration 20261205_0700, src/reports/queries.ts),
// kept by a trigger on case_report_facts; nothing in the app writes them.
export interface CaseReportTimesTable {
  metric:
    | 'first_response'
    | 'first_response_business'
    | 'sla'
    | 'channel'
    | 'resolution'
    | 'resolution_business'
    | 'closed_by';
  month: Date;
  // tenths of an hour; for sla 0 kept, 1 breached; for closed_by the responsible; null: none
  value: number | null;
  // for channel, the cases' source
  label: string | null;
  // 0 once folded, else the PostgreSQL backend pid of the transactions that added it
  slot: number;
  n: number;
}

// A link between two cases (src/case-links/): related (peers; from is where it was added) or
// parent (from is the parent, to its child). One per pair of cases, whichever way round.
export type CaseLinkKind = 'related' | 'parent';
export interface CaseLinksTable {
  id: Generated<number>;
  kind: CaseLinkKind;
  from_case_id: number;
  to_case_id: number;
  created_by: number | null;
  created_at: Generated<Date>;
}

// Who has a case page open, and whether they are writing a reply (src/presence/): one row per
// case and user, upserted by the page's heartbeat; rows older than ~30 s count for nothing.
export interface CaseViewersTable {
  case_id: number;
  user_id: number;
  typing: Generated<boolean>;
  // the page load that sent the latest heartbeat; leaving removes the row only for that page
  page_id: string | null;
  seen_at: Timestamp;
}

// What the service-level clock heard on each case, in order (for replay); the lifecycle appends.
export interface CaseClockEventsTable {
  id: Generated<string>;
  case_id: number;
  type: SlaEventType;
  at: Timestamp;
}

export interface CaseEventsTable {
  id: Generated<string>;
  case_id: number;
  user_id: number | null;
  kind: CaseEventKind;
  field: string | null;
  old_value: string | null;
  new_value: string | null;
  created_at: Timestamp;
  // moved here by a merge from this case (issue 18)
  moved_from_case_id: Generated<number | null>;
}

export interface ThreadEntriesTable {
  id: Generated<string>;
  case_id: number;
  side: ThreadSide;
  user_id: number | null;
  author_name: string;
  author_email: string | null;
  body_html: string;
  delivery: Generated<Delivery>;
  message_id: string | null;
  inbound_message_id: string | null;
  // a system entry's sentences, shown in the reader's language (src/threads/system-text.ts)
  system_text: ColumnType<SystemText | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  // moved here by a merge from this case (issue 18)
  moved_from_case_id: Generated<number | null>;
}

// A system entry stored as what happened rather than as words: each line a message key of the
// catalogues with its parameters, or a link (href) whose text is the key's.
export type SystemTextLine = { key: string; params?: Record<string, string | number>; href?: string };
export type SystemText = { kind: string; lines: SystemTextLine[] };

export interface DiscussionPostsTable {
  id: Generated<string>;
  case_id: number;
  user_id: number;
  body_html: string;
  created_at: Timestamp;
  deleted_at: Date | null;
  // moved here by a merge from this case (issue 18)
  moved_from_case_id: Generated<number | null>;
}

export interface NotificationsTable {
  id: Generated<string>;
  user_id: number;
  actor_id: number | null;
  kind: string;
  case_id: number | null;
  summary: string;
  link: string;
  // sla_warning / sla_breached: which target (first_response, next_response, resolution)
  sla_target: string | null;
  read_at: Date | null;
  created_at: Timestamp;
}

export interface FilesTable {
  id: Generated<string>;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_by: number | null;
  created_at: Timestamp;
}

export interface FileChunksTable {
  file_id: string;
  seq: number;
  data: Buffer;
}

export interface DocumentFoldersTable {
  id: Generated<number>;
  name: string;
  system_key: string | null;
  position: Generated<number>;
  active: Generated<boolean>;
  // documents added to this category start this approval chain (A1, A2)
  approval_structure_id: Generated<number | null>;
}

export type DocumentApprovalState = 'none' | 'pending' | 'sent_back' | 'approved' | 'withdrawn';

export interface DocumentsTable {
  id: Generated<string>;
  // where it lies: at most one of these four
  case_id: Generated<number | null>;
  customer_id: Generated<number | null>;
  project_id: Generated<number | null>;
  work_order_id: Generated<number | null>;
  version: Generated<number>;
  approval_state: Generated<DocumentApprovalState>;
  folder_id: number;
  file_id: string;
  file_name: string;
  created_by: number | null;
  created_at: Timestamp;
  deleted_at: Date | null;
  // the received mail it came with (its .eml or an attachment)
  inbound_message_id: Generated<string | null>;
  // moved here by a merge from this case (issue 18)
  moved_from_case_id: Generated<number | null>;
}

export interface InlineImagesTable {
  id: Generated<string>;
  token: string;
  file_id: string;
  case_id: number | null;
  created_by: number | null;
  created_at: Timestamp;
}

// Counters behind the overview's tiles, kept by the trigger cases_count_tiles (migration
// 20261204_0440_case_tile_counts, src/cases/tile-counts.ts); nothing in the app writes them.
export interface CaseTileCountsTable {
  tally: 'responsible' | 'waiting' | 'due';
  responsible_id: number | null;
  due_date: string | null;
  // 0 once folded, else the PostgreSQL backend pid of the transactions that added it
  slot: number;
  n: number;
}

export interface SavedViewsTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  query: string;
  created_at: Timestamp;
}

export type SmtpSecurity = 'none' | 'starttls' | 'tls';
export interface MailSettingsTable {
  id: Generated<number>;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_security: Generated<SmtpSecurity>;
  smtp_user: string | null;
  smtp_password_encrypted: string | null;
  from_name: Generated<string>;
  from_address: Generated<string>;
  reply_to_address: string | null;
  subject_tag: Generated<string>;
  updated_at: Timestamp;
}

export type OutboxStatus = 'draft' | 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled';
export interface OutboxTable {
  id: Generated<string>;
  kind: 'reply' | 'notification' | 'test' | 'system';
  case_id: number | null;
  thread_entry_id: string | null;
  // null: a system mail queued as what to write, given its Message-ID when the sender composes it
  message_id: string | null;
  envelope_from: string;
  envelope_to: string[];
  subject: string;
  // null until a mail queued as `compose` is composed by the sender
  raw: Buffer | null;
  // what to write, for a mail composed when it goes (outbox.ts, MailToCompose)
  compose: ColumnType<unknown, string | null | undefined, string | null>;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  give_up_at: Timestamp;
  locked_until: Date | null;
  // "Send now" held for Undo: not claimed before this time
  held_until: Date | null;
  last_error: string | null;
  sent_at: Date | null;
  created_by: number | null;
  created_at: Timestamp;
}

// What a user typed in a case's reply, discussion or internal-note box and has not sent or saved
// yet (src/drafts/drafts.ts); a reply taken back by Undo is one too.
export type DraftBox = 'reply' | 'discussion' | 'internal';
export interface DraftsTable {
  case_id: number;
  user_id: number;
  box: DraftBox;
  body_html: string;
  to_addresses: string;
  cc_addresses: string;
  document_ids: string[];
  set_waiting: boolean;
  recalled_entry_id: string | null;
  note_version: number | null;
  updated_at: Timestamp;
}

export interface ThreadEntryAttachmentsTable {
  thread_entry_id: string;
  document_id: string;
}

export type MailSecurity = 'tls' | 'starttls' | 'none';
export interface MailboxesTable {
  id: Generated<number>;
  name: string;
  imap_host: string;
  imap_port: Generated<number>;
  imap_security: Generated<MailSecurity>;
  imap_user: string;
  imap_password_encrypted: string | null;
  folder: Generated<string>;
  after_read: Generated<'seen' | 'move'>;
  move_to_folder: string | null;
  default_case_type_id: number | null;
  default_status_id: number | null;
  default_responsible_id: number | null;
  default_priority_id: number | null;
  active: Generated<boolean>;
  last_read_at: Date | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type InboundStatus = 'pending' | 'processed' | 'ignored' | 'failed';
export interface InboundMessagesTable {
  id: Generated<string>;
  source: 'imap' | 'import';
  mailbox_id: number | null;
  uid_validity: number | null;
  uid: number | null;
  message_id: string | null;
  file_id: string;
  size_bytes: number;
  status: Generated<InboundStatus>;
  outcome: string | null;
  case_id: number | null;
  thread_entry_id: string | null;
  error: string | null;
  attempts: Generated<number>;
  received_at: Timestamp;
  processed_at: Date | null;
  // lower-cased; null on mails from before 20261203 and on mails without a From
  from_address: string | null;
  // From, To and Cc, lower-cased: the addresses a case has seen
  addresses: Generated<string[]>;
}

export interface InboundFetchFailuresTable {
  mailbox_id: number;
  uid_validity: number;
  uid: number;
  attempts: Generated<number>;
  error: string;
  last_failed_at: Timestamp;
}

export interface CaseSettingsTable {
  id: Generated<number>;
  reopen_closed_within_days: Generated<number>;
  read_mail_every_minutes: Generated<number>;
  max_inbound_mb: Generated<number>;
  undo_send_seconds: Generated<number>;
  loop_limit_per_hour: Generated<number>;
  kontroll_remind_enabled: Generated<boolean>;
  kontroll_remind_days: Generated<number>;
  kontroll_remind_subject_sv: Generated<string>;
  kontroll_remind_text_sv: Generated<string>;
  kontroll_remind_subject_en: Generated<string>;
  kontroll_remind_text_en: Generated<string>;
  kontroll_close_enabled: Generated<boolean>;
  kontroll_close_days: Generated<number>;
  kontroll_close_subject_sv: Generated<string>;
  kontroll_close_text_sv: Generated<string>;
  kontroll_close_subject_en: Generated<string>;
  kontroll_close_text_en: Generated<string>;
  kontroll_close_status_id: number | null;
  kontroll_case_type_ids: number[] | null;
  kontroll_run_at: Generated<string>;
  updated_at: Timestamp;
}

// One mailbox's part of an on-demand Read mail (src/mail/inbound/read-mail.ts); report is
// fetch.ts's ReadReport once the mailbox is done.
export type MailReadMailbox = {
  mailbox: { id: number; name: string };
  state: 'waiting' | 'reading' | 'done';
  report: {
    created: number;
    appended: number;
    ignored: number;
    failed: number;
    duplicates: number;
    busy?: true;
    error?: string;
  } | null;
};
export type MailReadState = 'running' | 'done' | 'abandoned';
export interface MailReadsTable {
  id: Generated<string>;
  started_by: number | null;
  state: Generated<MailReadState>;
  mailboxes: ColumnType<MailReadMailbox[], string | undefined, string>;
  error: string | null;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
  finished_at: Date | null;
}

export interface KontrollRunsTable {
  id: Generated<string>;
  source: 'schedule' | 'manual';
  user_id: number | null;
  as_of: Date;
  started_at: Timestamp;
  finished_at: Date | null;
  reminded: Generated<number>;
  closed: Generated<number>;
  skipped: Generated<number>;
  failed: Generated<number>;
  error: string | null;
}

export interface KontrollActionsTable {
  id: Generated<string>;
  case_id: number;
  waiting_since: Date;
  action: 'remind' | 'close';
  run_id: string | null;
  thread_entry_id: string | null;
  created_at: Timestamp;
}

export interface JobsTable {
  name: string;
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_duration_ms: number | null;
  last_status: 'running' | 'ok' | 'failed' | null;
  last_error: string | null;
  last_summary: string | null;
  runs: Generated<number>;
}

export interface ProjectsTable {
  id: Generated<number>;
  number: string;
  name: string;
  customer_id: number | null;
  responsible_id: number | null;
  active: Generated<boolean>;
  version: Generated<number>;
  created_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type WorkOrderStatus = 'planned' | 'in_progress' | 'done' | 'cancelled';

export interface WorkOrdersTable {
  id: Generated<number>;
  number: string;
  name: string;
  project_id: number;
  responsible_id: number | null;
  status: Generated<WorkOrderStatus>;
  description_html: Generated<string>;
  case_id: number | null;
  version: Generated<number>;
  created_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApprovalStructuresTable {
  id: Generated<number>;
  name: string;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApprovalStructureStepsTable {
  id: Generated<number>;
  structure_id: number;
  position: number;
  approver_ids: number[];
}

export interface DocumentVersionsTable {
  id: Generated<string>;
  document_id: string;
  version: number;
  file_id: string;
  file_name: string;
  created_by: number | null;
  created_at: Timestamp;
}

export type ApprovalChainState = 'pending' | 'approved' | 'sent_back' | 'withdrawn';
export type ApprovalChainStep = { approverIds: number[] };

export interface ApprovalChainsTable {
  id: Generated<string>;
  document_id: string;
  document_version: number;
  structure_id: number | null;
  structure_name: string;
  steps: ColumnType<ApprovalChainStep[], string, string>;
  current_step: Generated<number>;
  current_approver_ids: Generated<number[]>;
  state: ApprovalChainState;
  case_id: number | null;
  submitted_by: number | null;
  created_at: Timestamp;
  finished_at: Date | null;
}

export type ApprovalDecisionKind = 'approve' | 'send_back' | 'withdraw' | 'reassign' | 'resubmit';

export interface ApprovalDecisionsTable {
  id: Generated<string>;
  chain_id: string;
  document_id: string;
  document_version: number;
  step: number;
  user_id: number | null;
  decision: ApprovalDecisionKind;
  comment: Generated<string>;
  created_at: Timestamp;
}

// One-time keys of the create forms (src/db/form-keys.ts).
export interface FormSubmissionsTable {
  key: string;
  user_id: number;
  form: string;
  fingerprint: string | null;
  // JSON text going in, parsed by pg coming out
  result: ColumnType<unknown, string | null | undefined, string>;
  created_at: Timestamp;
}

// Service levels (migration 20261204_1500): business calendars and the ordered SLA policies.
// Written by src/service-levels/policies.ts only.
export interface BusinessCalendarsTable {
  id: Generated<number>;
  name: string;
  time_zone: Generated<string>;
  // BusinessCalendar.week: Monday first, [open, close) minutes; JSON text going in
  week: ColumnType<[number, number][][], string, string>;
  swedish_holidays: Generated<boolean>;
  closed_eves: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BusinessCalendarClosedDaysTable {
  id: Generated<number>;
  calendar_id: number;
  // 'YYYY-MM-DD' (src/db/database.ts keeps dates as text)
  date: string;
  note: Generated<string>;
}

export interface SlaPoliciesTable {
  id: Generated<number>;
  name: string;
  position: number;
  active: Generated<boolean>;
  calendar_id: number;
  // conditions; null: any
  customer_id: number | null;
  priority_id: number | null;
  case_type_id: number | null;
  // business minutes; null: no such target
  first_response_minutes: number | null;
  next_response_minutes: number | null;
  resolution_minutes: number | null;
  pause_while_waiting: Generated<boolean>;
  warn_percent: Generated<number>;
  escalation_user_id: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SlaAlertsTable {
  case_id: number;
  target: 'first_response' | 'next_response' | 'resolution';
  due_at: Date;
  // when the target was first owed (the timer's owedSince); null on rows from before it was kept
  owed_since: Date | null;
  level: 'warning' | 'breached';
  created_at: Timestamp;
}

// The public API (migration 20261206_0100, src/api/): personal access tokens and the shared
// rate-limit counters; written by src/api/tokens.ts and src/api/rate-limit-store.ts only.
export type ApiScope = 'read' | 'write' | 'admin';
export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: Buffer;
  prefix: string;
  scopes: ApiScope[];
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Timestamp;
}

export interface ApiRateLimitsTable {
  key: string;
  hits: number;
  resets_at: Date;
}

// Webhooks and their delivery queue (src/webhooks/); deliveries are queued by database triggers.
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';
export interface WebhooksTable {
  id: Generated<number>;
  url: string;
  events: string[];
  secret: string;
  active: Generated<boolean>;
  description: Generated<string>;
  created_by: number | null;
  created_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  webhook_id: number;
  event_id: Generated<string>;
  event: string;
  payload: ColumnType<unknown, string, string>;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  locked_until: Date | null;
  give_up_at: Timestamp;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Timestamp;
}

export interface Database {
  api_tokens: ApiTokensTable;
  api_rate_limits: ApiRateLimitsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  sla_alerts: SlaAlertsTable;
  form_submissions: FormSubmissionsTable;
  business_calendars: BusinessCalendarsTable;
  business_calendar_closed_days: BusinessCalendarClosedDaysTable;
  sla_policies: SlaPoliciesTable;
  drafts: DraftsTable;
  projects: ProjectsTable;
  work_orders: WorkOrdersTable;
  approval_structures: ApprovalStructuresTable;
  approval_structure_steps: ApprovalStructureStepsTable;
  document_versions: DocumentVersionsTable;
  approval_chains: ApprovalChainsTable;
  approval_decisions: ApprovalDecisionsTable;
  kontroll_runs: KontrollRunsTable;
  mail_reads: MailReadsTable;
  kontroll_actions: KontrollActionsTable;
  jobs: JobsTable;
  mailboxes: MailboxesTable;
  inbound_messages: InboundMessagesTable;
  inbound_fetch_failures: InboundFetchFailuresTable;
  case_settings: CaseSettingsTable;
  mail_settings: MailSettingsTable;
  outbox: OutboxTable;
  thread_entry_attachments: ThreadEntryAttachmentsTable;
  saved_views: SavedViewsTable;
  case_tile_counts: CaseTileCountsTable;
  cases: CasesTable;
  case_clock_events: CaseClockEventsTable;
  case_links: CaseLinksTable;
  case_report_facts: CaseReportFactsTable;
  case_report_times: CaseReportTimesTable;
  case_viewers: CaseViewersTable;
  case_events: CaseEventsTable;
  thread_entries: ThreadEntriesTable;
  discussion_posts: DiscussionPostsTable;
  notifications: NotificationsTable;
  files: FilesTable;
  file_chunks: FileChunksTable;
  document_folders: DocumentFoldersTable;
  documents: DocumentsTable;
  inline_images: InlineImagesTable;
  users: UsersTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  app_secrets: AppSecretsTable;
  customers: CustomersTable;
  contacts: ContactsTable;
  case_types: CaseTypesTable;
  case_statuses: CaseStatusesTable;
  priorities: PrioritiesTable;
  number_series: NumberSeriesTable;
  canned_replies: CannedRepliesTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Customer = Selectable<CustomersTable>;
export type Contact = Selectable<ContactsTable>;
// search_vector is for the database's own search; the app never reads it.
export type Case = Omit<Selectable<CasesTable>, 'search_vector'>;
export const caseColumns = [
  'id',
  'number',
  'title',
  'customer_id',
  'contact_id',
  'contact_name',
  'contact_email',
  'contact_phone',
  'responsible_id',
  'status_id',
  'case_type_id',
  'priority_id',
  'due_date',
  'source',
  'internal_note',
  'version',
  'internal_note_version',
  'status_kind',
  'priority_rank',
  'unknown_sender',
  'previous_case_id',
  'triage_reason',
  'waiting_since',
  'closed_at',
  'work_order_id',
  'sla_policy_id',
  'sla_clock',
  'sla_due_at',
  'sla_warn_at',
  'created_by',
  'created_at',
  'updated_at',
  'last_activity_at',
  'merged_into_id',
] as const satisfies readonly (keyof Case)[];
export type ThreadEntry = Selectable<ThreadEntriesTable>;
