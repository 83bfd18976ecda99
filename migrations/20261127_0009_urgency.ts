import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The rank of the case's priority, copied onto the case (like status_kind) so "most urgent
    -- first" is answered from one index without visiting the priorities table.
    alter table cases add column priority_rank integer;
    update cases set priority_rank = p.rank from priorities p where p.id = cases.priority_id;

    create function cases_copy_priority_rank() returns trigger language plpgsql as $$
    begin
      new.priority_rank := (select rank from priorities where id = new.priority_id);
      return new;
    end $$;
    create trigger cases_priority_rank before insert or update of priority_id on cases
      for each row execute function cases_copy_priority_rank();

    create function priorities_propagate_rank() returns trigger language plpgsql as $$
    begin
      update cases set priority_rank = new.rank where priority_id = new.id;
      return null;
    end $$;
    create trigger priorities_rank after update of rank on priorities
      for each row when (old.rank is distinct from new.rank) execute function priorities_propagate_rank();

    -- serves the default overview ("my open cases", most urgent first) and its "anyone" variant
    -- as an index-only scan over unfinished cases: responsible, overdue, rank, activity
    create index cases_unfinished_urgency on cases
      (responsible_id, due_date, priority_rank, last_activity_at, id, status_kind)
      where status_kind <> 'closed';
  `.execute(db);
}
