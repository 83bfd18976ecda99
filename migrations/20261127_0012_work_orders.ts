import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A series serves one kind of number: cases take the first active 'cases' series, projects
    -- and work orders their own.
    alter table number_series add column purpose text not null default 'cases'
      check (purpose in ('cases', 'projects', 'work_orders'));
    insert into number_series (name, prefix, next_number, digits, purpose) values
      ('Projekt', 'P', 1, 4, 'projects'), ('Arbetsordrar', 'AO', 1, 5, 'work_orders')
    on conflict (name) do nothing;

    create table projects (
      id serial primary key,
      number text not null unique,
      name text not null,
      customer_id integer references customers (id),
      responsible_id integer references users (id),
      active boolean not null default true,
      version integer not null default 1,
      created_by integer references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index projects_customer_id on projects (customer_id);

    create table work_orders (
      id serial primary key,
      number text not null unique,
      name text not null,
      project_id integer not null references projects (id),
      responsible_id integer references users (id),
      status text not null default 'planned' check (status in ('planned', 'in_progress', 'done', 'cancelled')),
      -- sanitised rich text, like a case's thread
      description_html text not null default '',
      -- the case it was created from (H2), if any
      case_id integer references cases (id) on delete set null,
      version integer not null default 1,
      created_by integer references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index work_orders_project_id on work_orders (project_id);
    create index work_orders_responsible on work_orders (responsible_id, status);
    -- a case has at most one open work order made from it: a second "Create work order" finds it
    create unique index work_orders_one_open_per_case on work_orders (case_id)
      where case_id is not null and status in ('planned', 'in_progress');

    -- the case's side of the link, read by the case header and the overview row (O5)
    alter table cases add column work_order_id integer references work_orders (id) on delete set null;

    -- Documents lie on a case, a customer, a project or a work order (never more than one).
    alter table documents
      add column customer_id integer references customers (id) on delete cascade,
      add column project_id integer references projects (id) on delete cascade,
      add column work_order_id integer references work_orders (id) on delete cascade,
      add constraint documents_one_owner check (num_nonnulls(case_id, customer_id, project_id, work_order_id) <= 1);
    create index documents_customer_id on documents (customer_id) where deleted_at is null;
    create index documents_project_id on documents (project_id) where deleted_at is null;
    create index documents_work_order_id on documents (work_order_id) where deleted_at is null;
  `.execute(db);
}
