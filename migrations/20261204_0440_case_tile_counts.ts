import { type Kysely, sql } from 'kysely';

// The overview's statistic tiles (src/cases/tile-counts.ts) read these counters instead of counting
// the unfinished cases on every request: at 100,000 unfinished cases that count took 42-49 ms and,
// with the overview loaded twenty times a second, both cores.

// The counters' change for a set of case rows `changes(responsible_id, status_kind, due_date, n)`
// (n = +1 for a row that now is, -1 for one that was): one aggregated delta per counter, so a
// statement that closes 10,000 cases adds a few rows here, not 10,000. Zero deltas (a title edit,
// a search vector refresh) write nothing. Locked in key order, so two statements never wait on
// each other in opposite orders.
const addDeltas = (changes: string, slot: string) => `
    insert into case_tile_counts (tally, responsible_id, due_date, slot, n)
    select d.tally, d.responsible_id, d.due_date, ${slot}, d.n
    from (
      select 'responsible' as tally, c.responsible_id, null::date as due_date, sum(c.n)::integer as n
      from (${changes}) c where c.status_kind <> 'closed' group by c.responsible_id
      union all
      select 'waiting', null, null, sum(c.n)::integer
      from (${changes}) c where c.status_kind = 'waiting'
      union all
      select 'due', null, c.due_date, sum(c.n)::integer
      from (${changes}) c where c.status_kind <> 'closed' and c.due_date is not null group by c.due_date
    ) d
    where d.n <> 0
    order by d.tally, d.responsible_id, d.due_date
    on conflict (tally, responsible_id, due_date, slot) do update set n = case_tile_counts.n + excluded.n`;

const oldRows = 'select responsible_id, status_kind, due_date, -1 as n from old_rows';
const newRows = 'select responsible_id, status_kind, due_date, 1 as n from new_rows';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`
    -- Counts of cases for the tiles, kept by the statement trigger cases_count_tiles below:
    --   tally 'responsible': unfinished cases (status_kind <> 'closed') by responsible_id, null =
    --     unassigned (the tiles Mine and Unassigned);
    --   tally 'waiting': cases of status kind waiting (the tile Waiting);
    --   tally 'due': unfinished cases by due_date (the tile Overdue sums the dates before today, so
    --     it rolls over at midnight without a write; there are few distinct due dates).
    -- A count is the sum of its rows over slot. A writing transaction adds to the row of its own
    -- backend (slot = pg_backend_pid()), and no two running transactions share a backend, so
    -- agents' quick edits never wait for each other on a hot counter, nor deadlock. The job
    -- fold-tile-counts (src/jobs/schedule.ts) adds those rows into slot 0 every minute, so a count
    -- stays a few rows.
    create table case_tile_counts (
      tally text not null check (tally in ('responsible', 'waiting', 'due')),
      responsible_id integer,
      due_date date,
      slot integer not null,
      n integer not null,
      -- the upsert's conflict target; also serves each tile's lookup (tally, then responsible_id or,
      -- with responsible_id null, the range of due dates)
      constraint case_tile_counts_key unique nulls not distinct (tally, responsible_id, due_date, slot)
    );

    create function cases_count_tiles() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${addDeltas(newRows, 'pg_backend_pid()')};
      elsif tg_op = 'UPDATE' then
        -- Most updates touch none of the counted columns (activity, search vector, title): those
        -- leave at this cheap check rather than plan the deltas.
        if not exists (
          select from old_rows o join new_rows n on n.id = o.id
          where (o.responsible_id, o.status_kind, o.due_date) is distinct from (n.responsible_id, n.status_kind, n.due_date)
        ) then
          return null;
        end if;
        ${addDeltas(`${oldRows} union all ${newRows}`, 'pg_backend_pid()')};
      else
        ${addDeltas(oldRows, 'pg_backend_pid()')};
      end if;
      return null;
    end $$;
    comment on function cases_count_tiles() is
      'Mirror of the case lifecycle (src/cases/lifecycle.ts, applyCaseEvent) for the overview''s tiles: whatever writes cases.status_id (so status_kind), responsible_id or due_date moves case_tile_counts in the same transaction. See src/cases/tile-counts.ts.';

    -- Statement triggers with transition tables: one run per statement, whatever the rows it wrote.
    -- (A column list, update of status_id, ..., is not allowed with transition tables; updates of
    -- other columns leave at the function's first check and write nothing.)
    create trigger cases_count_tiles_insert after insert on cases
      referencing new table as new_rows for each statement execute function cases_count_tiles();
    create trigger cases_count_tiles_update after update on cases
      referencing old table as old_rows new table as new_rows for each statement execute function cases_count_tiles();
    create trigger cases_count_tiles_delete after delete on cases
      referencing old table as old_rows for each statement execute function cases_count_tiles();

    -- TRUNCATE fires no delete trigger: the counts go with the cases.
    create function cases_truncate_tile_counts() returns trigger language plpgsql as $$
    begin
      delete from case_tile_counts;
      return null;
    end $$;
    create trigger cases_truncate_tile_counts after truncate on cases
      for each statement execute function cases_truncate_tile_counts();

    -- Counts every case afresh: here, and after writers that bypass triggers (the synthetic seed and
    -- the Kontroll bench insert with session_replication_role = replica). Cases are locked against
    -- writers meanwhile, and the counters against the fold job, so nothing is counted twice.
    create function case_tile_counts_rebuild() returns void language plpgsql as $$
    begin
      lock table cases in share mode;
      lock table case_tile_counts in exclusive mode;
      delete from case_tile_counts;
      ${addDeltas("select responsible_id, status_kind, due_date, 1 as n from cases where status_kind <> 'closed'", '0')};
    end $$;

    -- Adds the backends' rows into slot 0 and drops counters that came to zero (a due date whose
    -- cases were all closed). Rows a running transaction holds are skipped (for update skip
    -- locked) and folded next time, so the fold never waits for an agent nor an agent long for it.
    create function case_tile_counts_fold() returns integer language plpgsql as $$
    declare
      folded integer;
    begin
      with taken as (
        select ctid from case_tile_counts where slot <> 0 for update skip locked
      ), moved as (
        delete from case_tile_counts c using taken where c.ctid = taken.ctid
        returning c.tally, c.responsible_id, c.due_date, c.n
      ), sums as (
        select tally, responsible_id, due_date, sum(n)::integer as n, count(*) as rows
        from moved group by tally, responsible_id, due_date
      ), added as (
        insert into case_tile_counts (tally, responsible_id, due_date, slot, n)
        select tally, responsible_id, due_date, 0, n from sums
        order by tally, responsible_id, due_date
        on conflict (tally, responsible_id, due_date, slot) do update set n = case_tile_counts.n + excluded.n
      )
      select coalesce(sum(rows), 0) into folded from sums;
      delete from case_tile_counts where slot = 0 and n = 0;
      return folded;
    end $$;

    select case_tile_counts_rebuild();
  `)
    .execute(db);
}
