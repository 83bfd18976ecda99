import type { CaseLinkKind } from '../db/schema.ts';

// How the other case stands to this one: what the form offers ("Parent of this case") and what
// the panel shows beside its number.
export const linkRoles = ['related', 'parent', 'child'] as const;
export type LinkRole = (typeof linkRoles)[number];

export type StoredLink = { kind: CaseLinkKind; from_case_id: number; to_case_id: number };

// The row that says "other is <role> of this case": a parent link runs from parent to child.
export function storedLinkOf(caseId: number, otherId: number, role: LinkRole): StoredLink {
  if (role === 'parent') return { kind: 'parent', from_case_id: otherId, to_case_id: caseId };
  return { kind: role === 'child' ? 'parent' : 'related', from_case_id: caseId, to_case_id: otherId };
}

// The other case's role as seen from caseId (the inverse of storedLinkOf).
export function roleOf(link: StoredLink, caseId: number): LinkRole {
  if (link.kind === 'related') return 'related';
  return link.to_case_id === caseId ? 'parent' : 'child';
}

export const otherCaseOf = (link: StoredLink, caseId: number): number =>
  link.from_case_id === caseId ? link.to_case_id : link.from_case_id;

// Whether a parent link parent → child closes a loop: the parent is the child itself or already
// one of its descendants. edges: parent links, at least those below the child.
export function closesParentLoop(
  parentId: number,
  childId: number,
  edges: readonly { parent: number; child: number }[],
): boolean {
  const below = new Map<number, number[]>();
  for (const e of edges) below.set(e.parent, [...(below.get(e.parent) ?? []), e.child]);
  const seen = new Set<number>();
  const todo = [childId];
  while (todo.length) {
    const at = todo.pop() as number;
    if (at === parentId) return true;
    if (seen.has(at)) continue;
    seen.add(at);
    todo.push(...(below.get(at) ?? []));
  }
  return false;
}

export type LinkRefusal = 'self' | 'duplicate' | 'cycle';

// Whether a new link may be made. pairLinked: the two cases are linked already, either way round
// and of either kind (one link per pair). edges: the parent links below the new child.
export function decideNewLink(input: {
  caseId: number;
  otherId: number;
  role: LinkRole;
  pairLinked: boolean;
  edges: readonly { parent: number; child: number }[];
}): { ok: true; link: StoredLink } | { ok: false; reason: LinkRefusal } {
  if (input.caseId === input.otherId) return { ok: false, reason: 'self' };
  if (input.pairLinked) return { ok: false, reason: 'duplicate' };
  const link = storedLinkOf(input.caseId, input.otherId, input.role);
  if (link.kind === 'parent' && closesParentLoop(link.from_case_id, link.to_case_id, input.edges)) {
    return { ok: false, reason: 'cycle' };
  }
  return { ok: true, link };
}
