import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The reply box's draft (a reply taken back by Undo) becomes every box's draft: what a user
    -- typed in a case's reply, discussion or internal-note box and has not sent or saved yet,
    -- stored as they type so it survives a tab switch, a reload and a change of browser.
    alter table reply_drafts rename to drafts;
    alter table drafts rename constraint reply_drafts_pkey to drafts_pkey;
    alter table drafts rename constraint reply_drafts_case_id_fkey to drafts_case_id_fkey;
    alter table drafts rename constraint reply_drafts_user_id_fkey to drafts_user_id_fkey;
    alter table drafts add column box text not null default 'reply'
      check (box in ('reply', 'discussion', 'internal'));
    alter table drafts alter column box drop default;
    -- the internal note's version the draft was typed over, so saving it later still meets the
    -- note's stale-edit check instead of overwriting a colleague's newer note
    alter table drafts add column note_version integer;
    -- one draft per box, user and case; the key's order serves the case page's lookup
    alter table drafts drop constraint drafts_pkey;
    alter table drafts add primary key (case_id, user_id, box);
  `.execute(db);
}
