import { type KyselyPlugin, PostgresQueryCompiler } from 'kysely';
import type { Db } from '../db/database.ts';

// A handle on the same database that writes down the SQL of every statement run through it. It has
// no change feed (src/db/change-feed.ts), so nothing read through it is kept in the process: an
// app built on it runs every statement of every request, for a test to look at.
export function recordingStatements(db: Db): { db: Db; statements: string[] } {
  const compiler = new PostgresQueryCompiler();
  const statements: string[] = [];
  const recorder: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      statements.push(compiler.compileQuery(node, queryId).sql);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { db: db.withPlugin(recorder), statements };
}

// The tables a statement reads or writes, by name (from, join, into, update).
export function tablesNamedIn(statement: string): string[] {
  return [...statement.matchAll(/\b(?:from|join|into|update)\s+"?([a-z_]+)"?/gi)].map((m) => m[1] as string);
}
