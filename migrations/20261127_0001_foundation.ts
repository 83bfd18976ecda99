import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id serial primary key,
      -- stored upper-case so KALLE and kalle are one user; unique by constraint
      login text not null unique check (login = upper(login) and login ~ '^[A-Z0-9_.-]{1,32}$'),
      name text not null,
      initials text not null,
      email text,
      role text not null check (role in ('admin', 'agent')),
      language text check (language in ('sv', 'en')),
      active boolean not null default true,
      password_hash text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table sessions (
      sid text primary key,
      data jsonb not null,
      user_id integer references users (id) on delete cascade,
      expires_at timestamptz not null
    );
    -- serves the periodic purge of expired sessions
    create index sessions_expires_at on sessions (expires_at);
    -- serves "log out everywhere" when a user is deactivated
    create index sessions_user_id on sessions (user_id);

    create table login_attempts (
      id bigserial primary key,
      login text not null,
      ip text not null,
      succeeded boolean not null,
      created_at timestamptz not null default now()
    );
    -- serves the rate limit: recent failures for one login, and for one address
    create index login_attempts_login on login_attempts (login, created_at);
    create index login_attempts_ip on login_attempts (ip, created_at);

    -- secrets generated on first start and shared by every app instance (session signing, mail HMAC)
    create table app_secrets (
      name text primary key,
      value text not null,
      created_at timestamptz not null default now()
    );

    create table customers (
      id serial primary key,
      number text not null unique check (number <> ''),
      name text not null,
      email_domains text[] not null default '{}',
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    -- serves the customer search by name
    create index customers_name on customers (lower(name) text_pattern_ops);
    -- serves matching an incoming sender's domain to a customer
    create index customers_email_domains on customers using gin (email_domains);

    create table contacts (
      id serial primary key,
      customer_id integer not null references customers (id),
      name text not null,
      email text,
      phone text,
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index contacts_customer_id on contacts (customer_id);
    -- serves finding the contact of an incoming sender
    create index contacts_email on contacts (lower(email));

    create table case_types (
      id serial primary key,
      name text not null unique,
      position integer not null default 0,
      active boolean not null default true
    );

    create table case_statuses (
      id serial primary key,
      name text not null unique,
      kind text not null check (kind in ('open', 'waiting', 'work_order', 'closed')),
      position integer not null default 0,
      active boolean not null default true
    );

    create table priorities (
      id serial primary key,
      name text not null unique,
      -- 1 is the most urgent; the overview sorts by it
      rank integer not null,
      active boolean not null default true
    );

    create table number_series (
      id serial primary key,
      name text not null unique,
      prefix text not null default '',
      next_number integer not null default 1 check (next_number > 0),
      digits integer not null default 5 check (digits between 1 and 12),
      active boolean not null default true
    );

    create table canned_replies (
      id serial primary key,
      title text not null unique,
      body_html text not null,
      active boolean not null default true
    );
  `.execute(db);

  const year = new Date().getFullYear();
  await sql`
    insert into case_statuses (name, kind, position) values
      ('Öppen', 'open', 1), ('Väntar på kund', 'waiting', 2), ('Till uppdrag', 'work_order', 3), ('Stängd', 'closed', 4);
    insert into case_types (name, position) values ('Support', 1), ('Fråga', 2), ('Reklamation', 3);
    insert into priorities (name, rank) values ('Hög', 1), ('Normal', 2), ('Låg', 3);
  `.execute(db);
  await sql`insert into number_series (name, prefix, next_number, digits) values ('Ärenden', ${`${year}-`}, 1, 5)`.execute(
    db,
  );
}
