import { type Kysely, sql } from 'kysely';

// Live updates (issue 18, part 2): whatever writes cases or notifications (an agent on any
// instance, mail ingest, Kontroll, a script) tells every instance which, on the channel
// casedesk_live, when its transaction commits; each instance's one listening connection
// (src/db/change-feed.ts) hands it to the browsers it streams to (src/live/). Ids only: a
// notification's payload is limited to 8000 bytes, and each instance renders what its users
// may see. With each case its version: a page that shows that version already (the user's own
// quick edit answered with the row) need not fetch it again. A statement over more than 100
// cases (a Kontroll batch) says "all" instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function casedesk_live_cases() returns trigger language plpgsql as $$
    declare
      ids json;
      versions json;
      n integer;
    begin
      select count(*), json_agg(id), json_agg(version) into n, ids, versions
        from (select id, version from new_rows limit 101) x;
      if n > 100 then
        perform pg_notify('casedesk_live', '{"all":true}');
      elsif n > 0 then
        perform pg_notify('casedesk_live', json_build_object('c', ids, 'v', versions)::text);
      end if;
      return null;
    end $$;
    create trigger cases_live_insert after insert on cases
      referencing new table as new_rows for each statement execute function casedesk_live_cases();
    create trigger cases_live_update after update on cases
      referencing new table as new_rows for each statement execute function casedesk_live_cases();

    -- a user's bell: a notification for them, or one they read (on another tab or instance)
    create function casedesk_live_notifications() returns trigger language plpgsql as $$
    declare
      users json;
    begin
      select json_agg(distinct user_id) into users from new_rows;
      if users is not null then
        perform pg_notify('casedesk_live', json_build_object('u', users)::text);
      end if;
      return null;
    end $$;
    create trigger notifications_live_insert after insert on notifications
      referencing new table as new_rows for each statement execute function casedesk_live_notifications();
    create trigger notifications_live_update after update on notifications
      referencing new table as new_rows for each statement execute function casedesk_live_notifications();
  `.execute(db);
}
