import { type Kysely, sql } from 'kysely';

// Links between cases (issue 18, part 6): "related" (symmetric) and parent/child (directed). Their
// own table, written only by src/case-links/; each add and removal is told in both cases' history.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table case_links (
      id serial primary key,
      -- related: the two cases are peers, from_case_id is the one the link was added on;
      -- parent: from_case_id is the parent, to_case_id its child
      kind text not null check (kind in ('related', 'parent')),
      from_case_id integer not null references cases (id) on delete cascade,
      to_case_id integer not null references cases (id) on delete cascade,
      created_by integer references users (id) on delete set null,
      created_at timestamptz not null default now(),
      check (from_case_id <> to_case_id)
    );
    -- one link per pair of cases, whichever way round and of whichever kind: a second click, or
    -- a related link added from the other case, meets this (and a parent/child pair cannot be
    -- made both ways, the shortest cycle)
    create unique index case_links_pair on case_links (least(from_case_id, to_case_id), greatest(from_case_id, to_case_id));
    -- serve the case page's "Linked cases" (both directions) and the cycle check's walk down
    create index case_links_from on case_links (from_case_id);
    create index case_links_to on case_links (to_case_id);

    -- the kept case page hears of its changes like the other tables it reads
    -- (migration 20261204_1800_kept_pages_notify_change)
    create trigger case_links_notify_change
      after insert or update or delete or truncate on case_links
      for each statement execute function casedesk_notify_change();

    -- the history's lines for a link added or removed (one on each case)
    alter table case_events drop constraint case_events_kind;
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created', 'triage_cleared', 'sla_breached',
      'case_linked', 'case_unlinked')) not valid;
  `.execute(db);
  // validated apart: the check scans every history row, under a lock that lets writers go on
  await sql`alter table case_events validate constraint case_events_kind`.execute(db);
}
