import { type Kysely, sql } from 'kysely';

// A new case's search words are set as it is inserted (a BEFORE INSERT trigger) instead of by an
// update of the row just inserted. That update, with its exception block (a subtransaction) and
// every update trigger of cases run a second time, took 3.8 ms of the 5 ms an insert of a case
// took at a million cases; each creator holds the number series' row lock that long (issue 19:
// creating cases through the API, and Read mail, one case after the other). A case has no thread
// entries when it is inserted (they point at it), so its document is its head: number, title,
// customer and contact, as case_search_head_document makes it. A change of those fields, and
// every thread entry, update the vector as before.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function cases_search_on_insert() returns trigger language plpgsql as $$
    begin
      new.search_vector := case_search_head_document(new.number, new.title,
        (select cu.name from customers cu where cu.id = new.customer_id), new.contact_name);
      return new;
    end $$;
    create trigger cases_search_on_insert before insert on cases
      for each row execute function cases_search_on_insert();

    drop trigger cases_search_on_case on cases;
    create trigger cases_search_on_case after update of number, title, customer_id, contact_name on cases
      for each row execute function cases_refresh_search();
  `.execute(db);
}
