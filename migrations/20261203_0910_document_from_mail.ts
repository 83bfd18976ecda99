import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The received mail a document came with (its .eml or an attachment), so the mail's thread
    -- entry can list its attachments (issue 15, item 12). Older mail documents stay without it.
    alter table documents add column inbound_message_id bigint references inbound_messages(id) on delete set null;
    create index documents_inbound_message_idx on documents (inbound_message_id) where inbound_message_id is not null;
  `.execute(db);
}
