import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Case types the system itself uses (document approval); they cannot be removed.
    alter table case_types add column system_key text unique;
    insert into case_types (name, position, system_key) values ('Dokumentattest', 90, 'document_approval')
    on conflict (name) do update set system_key = 'document_approval';

    -- A1: a named, ordered chain of approvers, linked to document categories (folders).
    create table approval_structures (
      id serial primary key,
      name text not null unique,
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create table approval_structure_steps (
      id serial primary key,
      structure_id integer not null references approval_structures (id) on delete cascade,
      position integer not null,
      -- any one of these users decides the step
      approver_ids integer[] not null check (cardinality(approver_ids) > 0),
      unique (structure_id, position)
    );
    alter table document_folders
      add column approval_structure_id integer references approval_structures (id) on delete set null;

    -- A document's content changes by new versions; the current one is documents.file_id.
    alter table documents
      add column version integer not null default 1,
      -- none: no chain; pending: locked in a running chain; sent_back: locked, waiting for the
      -- uploader's new version or withdrawal; approved: published after a chain; withdrawn
      add column approval_state text not null default 'none'
        check (approval_state in ('none', 'pending', 'sent_back', 'approved', 'withdrawn'));
    create table document_versions (
      id bigserial primary key,
      document_id bigint not null references documents (id) on delete cascade,
      version integer not null,
      file_id bigint not null references files (id),
      file_name text not null,
      created_by integer references users (id),
      created_at timestamptz not null default now(),
      unique (document_id, version)
    );

    -- A2–A4: one run of the chain for one version of a document. The structure's steps are
    -- copied in at submission, so editing the structure later does not touch a running chain.
    create table approval_chains (
      id bigserial primary key,
      document_id bigint not null references documents (id) on delete cascade,
      document_version integer not null,
      structure_id integer references approval_structures (id) on delete set null,
      structure_name text not null,
      -- [{ "approverIds": [3, 5] }, …] as it was at submission
      steps jsonb not null,
      -- 0-based index into steps
      current_step integer not null default 0,
      -- who may decide now: the step's approvers, or an admin when they were deactivated
      current_approver_ids integer[] not null default '{}',
      state text not null check (state in ('pending', 'approved', 'sent_back', 'withdrawn')),
      -- the document case (A3)
      case_id integer references cases (id) on delete set null,
      submitted_by integer references users (id),
      created_at timestamptz not null default now(),
      finished_at timestamptz
    );
    create unique index approval_chains_one_running on approval_chains (document_id) where state = 'pending';
    create index approval_chains_case_id on approval_chains (case_id);
    create index approval_chains_approvers on approval_chains using gin (current_approver_ids) where state = 'pending';

    -- A5: every decision, kept.
    create table approval_decisions (
      id bigserial primary key,
      chain_id bigint not null references approval_chains (id) on delete cascade,
      document_id bigint not null references documents (id) on delete cascade,
      document_version integer not null,
      step integer not null,
      user_id integer references users (id),
      decision text not null check (decision in ('approve', 'send_back', 'withdraw', 'reassign')),
      comment text not null default '',
      created_at timestamptz not null default now()
    );
    create index approval_decisions_document on approval_decisions (document_id, id);
  `.execute(db);
}
