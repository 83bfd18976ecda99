import { type Kysely, sql } from 'kysely';

// Sorting the overview by customer (issue 16): the customers walked in name order, as the
// overview shows them (lower(name) in the database's collation). customers_name is for prefix
// searches (text_pattern_ops) and cannot give that order. The cases without a customer come
// apart, newest first.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index customers_name_order on customers (lower(name), id);
    create index cases_no_customer on cases (id desc) where customer_id is null;
  `.execute(db);
}
