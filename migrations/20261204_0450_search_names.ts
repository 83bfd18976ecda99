import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The overview's search finds what people type (issue 16): contact and customer names, e-mail
    -- addresses, a part of a case number, names typed without accents. Both extensions ship with
    -- the system PostgreSQL and with the embedded one from npm.
    create extension if not exists unaccent with schema public;

    -- Swedish stemming after accents are taken off, so "orjan" finds "Örjan" and "akesson" "Åkesson".
    create text search configuration casedesk_search (copy = swedish);
    alter text search configuration casedesk_search
      alter mapping for hword, hword_part, word with public.unaccent, swedish_stem;

    -- The documents below are expressions over a row's own columns, so their indexes are kept by
    -- PostgreSQL itself: no trigger, and no rewrite of a million cases' search_vector. A case
    -- number's parts and an address's parts become words ("2026-00019" → 2026, 00019;
    -- "fatima@kanelbullen.se" → fatima, kanelbullen, se) so a typed part matches as a prefix.
    create function case_search_head(number text, title text, contact_name text, contact_email text)
      returns tsvector language sql immutable parallel safe as $$
      select to_tsvector('public.casedesk_search'::regconfig,
        translate(number, '-/', '  ') || ' ' || title || ' ' || coalesce(contact_name, '') || ' '
        || coalesce(translate(contact_email, '@.', '  '), ''))
    $$;
    create function customer_search_document(number text, name text, email_domains text[])
      returns tsvector language sql immutable parallel safe as $$
      select to_tsvector('public.casedesk_search'::regconfig,
        number || ' ' || name || ' ' || translate(array_to_string(email_domains, ' '), '.', ' '))
    $$;
    create function contact_search_document(name text, email text)
      returns tsvector language sql immutable parallel safe as $$
      select to_tsvector('public.casedesk_search'::regconfig, name || ' ' || coalesce(translate(email, '@.', '  '), ''))
    $$;

    -- serve the overview's search (src/cases/overview.ts, searchCondition): a case's own title,
    -- number and contact; and the customers and contacts whose cases a search word also finds
    create index cases_search_head on cases using gin (case_search_head(number, title, contact_name, contact_email));
    create index customers_search on customers using gin (customer_search_document(number, name, email_domains));
    create index contacts_search on contacts using gin (contact_search_document(name, email));
    -- the cases of the contacts a search found
    create index cases_contact_id on cases (contact_id) where contact_id is not null;
    -- The overview searches unfinished cases unless told otherwise: a few percent of all cases.
    -- A common word ("skrivaren") is in tens of thousands of cases; over the unfinished ones alone
    -- these indexes read a thirtieth of that.
    create index cases_unfinished_search on cases using gin (search_vector) where status_kind <> 'closed';
    create index cases_unfinished_search_head on cases
      using gin (case_search_head(number, title, contact_name, contact_email)) where status_kind <> 'closed';
    create index cases_unfinished_customer on cases (customer_id) where status_kind <> 'closed';
    create index cases_unfinished_contact on cases (contact_id) where status_kind <> 'closed' and contact_id is not null;
  `.execute(db);
}
