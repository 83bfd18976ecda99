// What a statement's plan read, from EXPLAIN (ANALYZE, FORMAT JSON): the cost tests bound the rows
// a query takes from a table rather than its time, which a busy machine would make flaky.
export type PlanNode = {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
};

// Rows the plan read from the table: those its scans returned and those their filters dropped.
export function rowsReadFrom(node: PlanNode, table: string): number {
  const own =
    node['Relation Name'] === table
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 0)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsReadFrom(child, table), 0);
}
