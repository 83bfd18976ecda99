import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { type LinkRole, roleOf } from './rules.ts';

export type LinkedCase = {
  linkId: number;
  role: LinkRole;
  number: string;
  title: string;
  statusName: string;
  statusKind: string;
};

// The case page's "Linked cases": each link of the case with the other case's number, title and
// status, parents first, then children, then related, each oldest link first.
export async function listLinkedCases(db: Db, caseId: number): Promise<LinkedCase[]> {
  const rows = await db
    .selectFrom('case_links')
    // the other case of each link: the one that is not caseId
    .innerJoin('cases', (join) =>
      join.on((eb) =>
        eb.or([
          eb.and([eb('case_links.from_case_id', '=', caseId), eb('cases.id', '=', eb.ref('case_links.to_case_id'))]),
          eb.and([eb('case_links.to_case_id', '=', caseId), eb('cases.id', '=', eb.ref('case_links.from_case_id'))]),
        ]),
      ),
    )
    .innerJoin('case_statuses', 'case_statuses.id', 'cases.status_id')
    .select([
      'case_links.id',
      'case_links.kind',
      'case_links.from_case_id',
      'case_links.to_case_id',
      'cases.number',
      'cases.title',
      'case_statuses.name as status_name',
      'case_statuses.kind as status_kind',
    ])
    .where((eb) => eb.or([eb('case_links.from_case_id', '=', caseId), eb('case_links.to_case_id', '=', caseId)]))
    .orderBy('case_links.id')
    .execute();
  const order: Record<LinkRole, number> = { parent: 0, child: 1, related: 2 };
  return rows
    .map((r) => ({
      linkId: r.id,
      role: roleOf(r, caseId),
      number: r.number,
      title: r.title,
      statusName: r.status_name,
      statusKind: r.status_kind,
    }))
    .sort((a, b) => order[a.role] - order[b.role] || a.linkId - b.linkId);
}

// The parent links below a case (its children, theirs, and so on), for the loop check.
export async function listParentLinksBelow(db: Db, caseId: number): Promise<{ parent: number; child: number }[]> {
  const { rows } = await sql<{ parent: number; child: number }>`
    with recursive below (parent, child) as (
      select from_case_id, to_case_id from case_links where kind = 'parent' and from_case_id = ${caseId}
      union
      select l.from_case_id, l.to_case_id
        from case_links l join below b on l.from_case_id = b.child
       where l.kind = 'parent'
    )
    select parent, child from below`.execute(db);
  return rows;
}

// Whether two cases are linked already, either way round and of either kind.
export async function arePairLinked(db: Db, a: number, b: number): Promise<boolean> {
  const row = await db
    .selectFrom('case_links')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('from_case_id', '=', a), eb('to_case_id', '=', b)]),
        eb.and([eb('from_case_id', '=', b), eb('to_case_id', '=', a)]),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}
