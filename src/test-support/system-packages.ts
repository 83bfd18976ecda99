import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'uvu';

// The system programs some tests drive for real. A fresh machine has neither, and `npm test`
// must still pass there: a suite that needs a missing one is skipped with one line naming the
// package to install. CI sets CASEDESK_TEST_REQUIRE_ALL=true, which turns that skip into a
// failure, so CI always runs everything.
export const systemPackages = {
  chromium: { program: '/usr/bin/chromium', label: 'Chromium', install: 'apt-get install chromium' },
  dovecot: { program: '/usr/sbin/dovecot', label: 'Dovecot', install: 'apt-get install dovecot-imapd' },
} as const;

export type SystemPackage = keyof typeof systemPackages;

// CASEDESK_TEST_PRETEND_MISSING=chromium,dovecot shows what a fresh machine's run does.
const pretendMissing = new Set((process.env.CASEDESK_TEST_PRETEND_MISSING ?? '').split(','));

export const isInstalled = (name: SystemPackage): boolean =>
  !pretendMissing.has(name) && existsSync(systemPackages[name].program);

// Wraps a uvu suite: itself where the package is installed, else a suite whose tests count as
// skipped and whose hooks (which would start the program) never run.
export function needs<T>(name: SystemPackage, test: Test<T>): Test<T> {
  if (isInstalled(name)) return test;
  const { label, program, install } = systemPackages[name];
  const file = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : 'a test file';
  if (process.env.CASEDESK_TEST_REQUIRE_ALL === 'true') {
    throw new Error(`${file} needs ${label} at ${program}: ${install} (CASEDESK_TEST_REQUIRE_ALL forbids skipping)`);
  }
  console.log(`skipped: ${file} needs ${label} at ${program} (${install})`);
  const hook = Object.assign(() => {}, { each: () => {} });
  const skipping = Object.assign((testName: string) => test.skip(testName), {
    before: hook,
    after: hook,
    only: (testName: string) => test.skip(testName),
    skip: test.skip,
    run: test.run,
  });
  return skipping as unknown as Test<T>;
}
