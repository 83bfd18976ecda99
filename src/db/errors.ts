// PostgreSQL reports a broken unique constraint with SQLSTATE 23505 and the constraint's name.
export function uniqueViolation(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && 'code' in error && error.code === '23505') {
    const constraint = 'constraint' in error ? error.constraint : undefined;
    return typeof constraint === 'string' ? constraint : '';
  }
  return null;
}
