import type { ApiScope } from '../db/schema.ts';

// What a token may do, as a level: each includes the ones below it (write can read; admin can
// read, write and use the admin routes). Pure.
export type AccessLevel = ApiScope;
const levels: readonly ApiScope[] = ['read', 'write', 'admin'];

export function scopesOfLevel(level: AccessLevel): ApiScope[] {
  return levels.slice(0, levels.indexOf(level) + 1);
}

export function levelOfScopes(scopes: readonly ApiScope[]): AccessLevel {
  return [...levels].reverse().find((level) => scopes.includes(level)) ?? 'read';
}

// The scope a route needs: its own, else read for a safe method and write for the rest.
export function requiredScope(method: string, routeScope: ApiScope | undefined): ApiScope {
  if (routeScope) return routeScope;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

export function hasScope(scopes: readonly ApiScope[], needed: ApiScope): boolean {
  return scopes.includes(needed);
}
