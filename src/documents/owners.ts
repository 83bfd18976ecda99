import type { Db } from '../db/database.ts';
import { parseId } from '../forms/form.ts';
import type { MessageKey } from '../i18n/en.ts';

// Where a document lies: a case, a customer, a project or a work order (documents_one_owner
// allows at most one). All staff may see and add documents in every one of them.
export const documentOwnerKinds = ['case', 'customer', 'project', 'work_order'] as const;
export type DocumentOwnerKind = (typeof documentOwnerKinds)[number];
export type DocumentOwner = { kind: DocumentOwnerKind; id: number };

export type OwnerColumn = 'case_id' | 'customer_id' | 'project_id' | 'work_order_id';

const columns: Record<DocumentOwnerKind, OwnerColumn> = {
  case: 'case_id',
  customer: 'customer_id',
  project: 'project_id',
  work_order: 'work_order_id',
};

export const ownerKindLabels: Record<DocumentOwnerKind, MessageKey> = {
  case: 'documents.owner.case',
  customer: 'documents.owner.customer',
  project: 'documents.owner.project',
  work_order: 'documents.owner.work_order',
};

export function ownerColumn(kind: DocumentOwnerKind): OwnerColumn {
  return columns[kind];
}

// The owner columns of a documents row as one value, or null for a document that lies nowhere.
export function ownerOf(row: {
  case_id: number | null;
  customer_id: number | null;
  project_id: number | null;
  work_order_id: number | null;
}): DocumentOwner | null {
  for (const kind of documentOwnerKinds) {
    const id = row[columns[kind]];
    if (id !== null) return { kind, id };
  }
  return null;
}

// The owner named by a form's owner_kind and owner_id fields; null for anything else.
export function parseOwner(kind: unknown, id: unknown): DocumentOwner | null {
  if (typeof kind !== 'string' || !(documentOwnerKinds as readonly string[]).includes(kind)) return null;
  const ownerId = parseId(id);
  return ownerId === null ? null : { kind: kind as DocumentOwnerKind, id: ownerId };
}

// What the user sees of where a document lies: "K-2026-0001 Skrivaren fastnar", linked.
export type OwnerPlace = { owner: DocumentOwner; kindKey: MessageKey; label: string; href: string };

export function ownerHref(kind: DocumentOwnerKind, key: { id: number; number: string }): string {
  if (kind === 'case') return `/cases/${encodeURIComponent(key.number)}`;
  if (kind === 'customer') return `/customers/${key.id}`;
  if (kind === 'project') return `/projects/${encodeURIComponent(key.number)}`;
  return `/work-orders/${encodeURIComponent(key.number)}`;
}

// The owner as a place, or undefined when it does not exist (which is also the rights check:
// every user may reach every existing owner).
export async function findOwnerPlace(db: Db, owner: DocumentOwner): Promise<OwnerPlace | undefined> {
  const row = await findOwnerRow(db, owner);
  if (!row) return undefined;
  return {
    owner,
    kindKey: ownerKindLabels[owner.kind],
    label: `${row.number} ${row.name}`,
    href: ownerHref(owner.kind, { id: owner.id, number: row.number }),
  };
}

async function findOwnerRow(db: Db, owner: DocumentOwner): Promise<{ number: string; name: string } | undefined> {
  switch (owner.kind) {
    case 'case':
      return db.selectFrom('cases').select(['number', 'title as name']).where('id', '=', owner.id).executeTakeFirst();
    case 'customer':
      return db.selectFrom('customers').select(['number', 'name']).where('id', '=', owner.id).executeTakeFirst();
    case 'project':
      return db.selectFrom('projects').select(['number', 'name']).where('id', '=', owner.id).executeTakeFirst();
    case 'work_order':
      return db.selectFrom('work_orders').select(['number', 'name']).where('id', '=', owner.id).executeTakeFirst();
  }
}
