import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Mail ingest and the outbox filed documents (a mail's .eml and attachments, a sent reply's
    -- copy) without their version 1 row, which the versions list and /versions/1 read (issue 14,
    -- bug 2). A document still at version 1 gets that row from itself.
    insert into document_versions (document_id, version, file_id, file_name, created_by, created_at)
    select d.id, 1, d.file_id, d.file_name, d.created_by, d.created_at
    from documents d
    where d.version = 1 and not exists (select from document_versions v where v.document_id = d.id);

    -- One that has had a new version since lost its first file from documents.file_id. That file
    -- was stored in the transaction that filed the document, so it has the document's created_at
    -- (now() is the transaction's start), no uploader, and nothing refers to it any more. A mail's
    -- documents share one transaction: the nth such file and the nth such document of it, in
    -- order, belong together, and the name is that of the nth 'document_added' event of that
    -- moment (a sent copy has none: it keeps its current name). A transaction whose counts do not
    -- match is left alone rather than guessed.
    with missing as (
      select d.id, d.case_id, d.created_at, d.file_name,
        row_number() over (partition by d.created_at order by d.id) as n,
        count(*) over (partition by d.created_at) as of_moment
      from documents d
      where d.created_by is null and d.case_id is not null and d.version > 1
        and not exists (select from document_versions v where v.document_id = d.id and v.version = 1)
    ), orphans as (
      select f.id, f.created_at,
        row_number() over (partition by f.created_at order by f.id) as n,
        count(*) over (partition by f.created_at) as of_moment
      from files f
      where f.created_by is null and f.created_at in (select created_at from missing)
        and not exists (select from documents d where d.file_id = f.id)
        and not exists (select from document_versions v where v.file_id = f.id)
        and not exists (select from inline_images i where i.file_id = f.id)
        and not exists (select from inbound_messages m where m.file_id = f.id)
    ), moment as (
      select created_at from missing group by created_at having count(distinct case_id) = 1
    ), mail_documents as (
      select d.id, row_number() over (partition by d.created_at order by d.id) as n, d.created_at, d.case_id
      from documents d
      where d.created_by is null and d.created_at in (select created_at from moment)
    ), added as (
      select e.case_id, e.created_at, e.new_value,
        row_number() over (partition by e.case_id, e.created_at order by e.id) as n
      from case_events e
      where e.kind = 'document_added' and e.user_id is null and e.created_at in (select created_at from moment)
    )
    insert into document_versions (document_id, version, file_id, file_name, created_by, created_at)
    select m.id, 1, o.id, coalesce(a.new_value, m.file_name), null, m.created_at
    from missing m
    join moment using (created_at)
    join orphans o on o.created_at = m.created_at and o.n = m.n and o.of_moment = m.of_moment
    join mail_documents md on md.id = m.id
    left join added a on a.case_id = m.case_id and a.created_at = m.created_at and a.n = md.n;
  `.execute(db);
}
