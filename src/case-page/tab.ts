import type { CaseView } from '../cases/queries.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';

// The tab type has a file of its own: each domain's tab imports it, and the page shell imports the
// tabs, so keeping it in the shell made every tab an import cycle.
export type TabContext = { db: Db; kase: CaseView; user: User };
// A tab of the case page: its URL segment, its label, and the data its fragment
// template views/cases/show/_<name>.eta needs. Each domain keeps its own tab.
export type CaseTab = { name: string; labelKey: string; load: (ctx: TabContext) => Promise<Record<string, unknown>> };
