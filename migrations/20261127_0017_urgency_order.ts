import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- "Most urgent first" reads overdue and other unfinished cases each in this order and stops
    -- at the page's end (src/cases/overview.ts), for one responsible or for anyone. Replaces
    -- cases_unfinished_urgency, which could only feed a sort of every match.
    create index cases_unfinished_rank_resp on cases (responsible_id, priority_rank, last_activity_at desc, id desc)
      include (due_date) where status_kind <> 'closed';
    create index cases_unfinished_rank on cases (priority_rank, last_activity_at desc, id desc)
      include (due_date, responsible_id) where status_kind <> 'closed';
    create index cases_unfinished_due on cases (due_date) include (responsible_id, priority_rank, last_activity_at)
      where status_kind <> 'closed' and due_date is not null;
    drop index cases_unfinished_urgency;

    -- The system's own thread entries (Kontroll's reminders and closings, approval decisions) are
    -- the same few sentences on thousands of cases: in the search they would only make every
    -- reminded case match "påminnelse", and each would cost a second rewrite of the case row.
    drop trigger thread_entries_search on thread_entries;
    create trigger thread_entries_search after insert on thread_entries
      for each row when (new.side <> 'system') execute function thread_entries_refresh_search();

    -- The language a contact reads (Kontroll's texts); null: not known, Swedish is used.
    alter table contacts add column language text check (language in ('sv', 'en'));

    -- After a send-back the uploader's answer is part of the chain's history too: a new version
    -- (resubmit) as well as a withdrawal.
    alter table approval_decisions drop constraint approval_decisions_decision_check;
    alter table approval_decisions add constraint approval_decisions_decision_check
      check (decision in ('approve', 'send_back', 'withdraw', 'reassign', 'resubmit'));
  `.execute(db);
}
