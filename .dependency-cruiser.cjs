// The layering rules `npm run lint` enforces (README, Architecture → Layers).
// Web-layer files: src/web/ itself, the app and server, route files, the case page shell, tests and
// their support. Everything else under src/ is domain code.
const webLayer = [
  '^src/web/',
  '^src/app\\.ts$',
  '^src/server\\.ts$',
  '(^|/)routes\\.ts$',
  '-routes\\.ts$',
  '^src/case-page/',
  '\\.test\\.ts$',
  '^src/test-support/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make load order matter and hide which part depends on which.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-to-web',
      comment: 'Domain code is called by routes, jobs, scripts and tests alike; HTTP plumbing stays in src/web/.',
      severity: 'error',
      from: { path: '^src/', pathNot: webLayer },
      to: { path: '^src/web/' },
    },
    {
      name: 'scripts-and-migrations-not-to-web',
      severity: 'error',
      from: { path: '^(scripts|migrations)/' },
      to: { path: '^src/web/' },
    },
    {
      name: 'pure-rules-import-only-types',
      comment:
        'The lifecycle tables and rule modules are pure: no database, no I/O, only types. ' +
        'The one value import allowed is the pure business calendar, which the SLA clock computes with.',
      severity: 'error',
      from: {
        path: '^src/(cases/lifecycle|case-links/rules|approvals/rules|kontroll/rules|work-orders/lifecycle|documents/access|service-levels/calendar|service-levels/clock|api/scopes|webhooks/backoff)\\.ts$',
      },
      to: { dependencyTypesNot: ['type-only'], pathNot: '^src/service-levels/calendar\\.ts$' },
    },
    {
      name: 'documents-not-to-approvals',
      comment:
        'Approvals is built on documents (chains lock documents, read their rows and call their writers); ' +
        'documents get the chain start handed in (StartApproval, wired in app.ts), so the dependency runs one way.',
      severity: 'error',
      from: { path: '^src/documents/' },
      to: { path: '^src/approvals/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still a cycle between modules.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
