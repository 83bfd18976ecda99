import { type Kysely, sql } from 'kysely';

// A case created with its first entry in one statement (the New case form, the API) gets that
// entry's words as it is inserted, instead of from the entry's trigger updating the row just
// inserted. That update (a subtransaction for its exception block, a second version of the row
// with an entry in each of its indexes, every update trigger of cases once more) came after the
// number series' row was locked, so every other creator waited for it too (issue 19: creating
// cases at 200 a second).
// - thread_entry_search_document: an entry's words, as the entry's trigger adds them; the case's
//   insert and the trigger both use it.
// - cases_search_on_insert: a search vector given with the insert is the first entry's, appended
//   to the head document (nothing else inserts one; the seed's replica mode runs no triggers).
// - thread_entries_refresh_search skips the one entry whose statement says it is already in its
//   case's vector: the transaction-local setting casedesk.entry_indexed_with_case holds that
//   case's id (src/threads/entries.ts, firstEntrySql), and is emptied as it is used, so a later
//   entry of the same case in the same transaction is added as usual.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function thread_entry_search_document(body_html text) returns tsvector
      language sql immutable parallel safe as $$
      select setweight(to_tsvector('public.casedesk_search'::regconfig,
        left(regexp_replace(body_html, '<[^>]*>', ' ', 'g'), 100000)), 'C')
    $$;

    create or replace function cases_search_on_insert() returns trigger language plpgsql as $$
    begin
      new.search_vector := case_search_head_document(new.number, new.title,
          (select cu.name from customers cu where cu.id = new.customer_id), new.contact_name)
        || coalesce(new.search_vector, ''::tsvector);
      return new;
    end $$;

    create or replace function thread_entries_refresh_search() returns trigger language plpgsql as $$
    begin
      if current_setting('casedesk.entry_indexed_with_case', true) = new.case_id::text then
        perform set_config('casedesk.entry_indexed_with_case', '', true);
        return null;
      end if;
      -- the inner block's exception clause costs a subtransaction: not taken for a skipped entry
      begin
        update cases set search_vector = search_vector || thread_entry_search_document(new.body_html)
        where id = new.case_id;
      exception when program_limit_exceeded then
        null;
      end;
      return null;
    end $$;
  `.execute(db);
}
