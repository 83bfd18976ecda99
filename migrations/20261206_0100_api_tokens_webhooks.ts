import { type Kysely, sql } from 'kysely';

// The public REST API (issue 19): personal access tokens, the rate-limit counters, and webhooks
// with their durable delivery queue.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table api_tokens (
      id serial primary key,
      user_id integer not null references users (id),
      name text not null check (length(name) between 1 and 100),
      -- SHA-256 of the token: the token itself is shown once and never stored. A plain hash is
      -- enough for 256 random bits (nothing to guess), and a lookup by it is one index probe.
      token_hash bytea not null unique,
      -- the token's first characters, shown in the list so a user can tell tokens apart
      prefix text not null,
      scopes text[] not null check (cardinality(scopes) > 0 and scopes <@ array['read', 'write', 'admin']),
      expires_at timestamptz not null,
      revoked_at timestamptz,
      -- moved at most once a minute (src/api/tokens.ts), so a busy token costs no write per request
      last_used_at timestamptz,
      created_at timestamptz not null default now()
    );
    -- My settings lists a user's tokens; deactivating a user finds theirs
    create index api_tokens_user on api_tokens (user_id);

    -- Requests per token (or per address, before a token is known) in the current window, shared by
    -- every instance. Unlogged: a count is worth nothing after a crash, and it is written on every
    -- API request, so it skips the WAL.
    create unlogged table api_rate_limits (
      key text primary key,
      hits integer not null,
      resets_at timestamptz not null
    );

    create table webhooks (
      id serial primary key,
      url text not null check (length(url) between 1 and 2000),
      events text[] not null check (cardinality(events) > 0),
      -- the HMAC key the receiver verifies with; needed in clear to sign, shown to admins only
      secret text not null,
      active boolean not null default true,
      description text not null default '',
      created_by integer references users (id),
      created_at timestamptz not null default now()
    );

    -- The durable queue: a delivery is written by the triggers below in the transaction of the
    -- change it tells of, so a change that commits is told and one that rolls back is not.
    create table webhook_deliveries (
      id bigserial primary key,
      webhook_id integer not null references webhooks (id) on delete cascade,
      -- the event's own id: the same for a redelivery, so a receiver can drop what it has seen
      event_id uuid not null default gen_random_uuid(),
      event text not null,
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      -- a sender claims a delivery for a while; one that died holding it is taken again after
      locked_until timestamptz,
      -- retried with backoff until then, then failed (24 h after the event)
      give_up_at timestamptz not null default now() + interval '24 hours',
      last_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default now()
    );
    -- the sender's claim: pending deliveries that are due
    create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
    -- a webhook's delivery log, newest first
    create index webhook_deliveries_log on webhook_deliveries (webhook_id, id desc);

    -- One delivery per active webhook that wants the event. Cheap when there are none: a scan of
    -- a table of a handful of rows.
    create function webhook_enqueue(event_name text, data jsonb) returns void
    language sql as $$
      insert into webhook_deliveries (webhook_id, event, payload)
      select w.id, event_name, jsonb_build_object('event', event_name, 'occurred_at', now(), 'data', data)
        from webhooks w
       where w.active and event_name = any (w.events)
    $$;

    -- A case as a webhook tells of it: the same fields, by the same names, as the API's case.
    create function webhook_case(c cases) returns jsonb
    language sql stable as $$
      select jsonb_build_object(
        'number', c.number, 'title', c.title, 'status_id', c.status_id, 'status_kind', c.status_kind,
        'case_type_id', c.case_type_id, 'priority_id', c.priority_id, 'responsible_id', c.responsible_id,
        'customer_id', c.customer_id, 'source', c.source, 'version', c.version,
        'created_at', c.created_at, 'updated_at', c.updated_at, 'closed_at', c.closed_at)
    $$;

    -- case.created and case.updated from the case's history: one event per case per statement
    -- (a header save writes a row per changed field in one statement). Only kinds that change the
    -- case itself; a note or a mail has its own event or none.
    create function webhook_case_events() returns trigger
    language plpgsql as $$
    begin
      if not exists (select 1 from webhooks where active) then return null; end if;
      perform webhook_enqueue(
        case when e.created then 'case.created' else 'case.updated' end,
        jsonb_build_object('case', webhook_case(c)))
      from (
        select case_id, bool_or(kind = 'created') as created
          from new_events
         where kind in ('created', 'field_changed', 'reopened', 'kontroll_closed', 'merged', 'triage_cleared')
         group by case_id
      ) e
      join cases c on c.id = e.case_id;
      return null;
    end $$;
    create trigger case_events_webhooks after insert on case_events
      referencing new table as new_events
      for each statement execute function webhook_case_events();

    create function webhook_case_closed() returns trigger
    language plpgsql as $$
    begin
      perform webhook_enqueue('case.closed', jsonb_build_object('case', webhook_case(new)));
      return null;
    end $$;
    create trigger cases_closed_webhooks after update on cases
      for each row when (new.status_kind = 'closed' and old.status_kind is distinct from 'closed')
      execute function webhook_case_closed();

    -- A message from the customer (by mail; staff typing on the customer's side has a user).
    create function webhook_customer_message() returns trigger
    language plpgsql as $$
    begin
      perform webhook_enqueue('thread.customer_message', jsonb_build_object(
        'case', webhook_case(c),
        'entry', jsonb_build_object('id', new.id, 'author_name', new.author_name,
          'author_email', new.author_email, 'created_at', new.created_at)))
      from cases c where c.id = new.case_id;
      return null;
    end $$;
    create trigger thread_entries_customer_webhooks after insert on thread_entries
      for each row when (new.side = 'customer' and new.user_id is null and new.system_text is null)
      execute function webhook_customer_message();

    create function webhook_reply_sent() returns trigger
    language plpgsql as $$
    begin
      perform webhook_enqueue('thread.reply_sent', jsonb_build_object(
        'case', webhook_case(c),
        'entry', jsonb_build_object('id', new.thread_entry_id, 'to', to_jsonb(new.envelope_to),
          'sent_at', new.sent_at)))
      from cases c where c.id = new.case_id;
      return null;
    end $$;
    create trigger outbox_reply_sent_webhooks after update on outbox
      for each row when (new.kind = 'reply' and new.status = 'sent' and old.status is distinct from 'sent')
      execute function webhook_reply_sent();

    create function webhook_approval_decided() returns trigger
    language plpgsql as $$
    begin
      perform webhook_enqueue('approval.decided', jsonb_build_object(
        'case', (select webhook_case(c) from approval_chains ch join cases c on c.id = ch.case_id where ch.id = new.chain_id),
        'decision', jsonb_build_object('id', new.id, 'document_id', new.document_id,
          'document_version', new.document_version, 'step', new.step, 'user_id', new.user_id,
          'decision', new.decision, 'comment', new.comment, 'created_at', new.created_at)));
      return null;
    end $$;
    create trigger approval_decisions_webhooks after insert on approval_decisions
      for each row execute function webhook_approval_decided();

    create function webhook_work_order_created() returns trigger
    language plpgsql as $$
    begin
      perform webhook_enqueue('work_order.created', jsonb_build_object(
        'work_order', jsonb_build_object('id', new.id, 'number', new.number, 'name', new.name,
          'project_id', new.project_id, 'responsible_id', new.responsible_id, 'status', new.status,
          'created_at', new.created_at),
        'case', (select webhook_case(c) from cases c where c.id = new.case_id)));
      return null;
    end $$;
    create trigger work_orders_webhooks after insert on work_orders
      for each row execute function webhook_work_order_created();
  `.execute(db);
}
