import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const run = promisify(execFile);
const test = suite('Tests that need Chromium or Dovecot on a machine without them');

async function testFiles(): Promise<string[]> {
  const entries = await readdir('src', { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.test.ts')).map((e) => path.join(e.parentPath, e.name));
}

test('every test file that starts Chromium or Dovecot says so with needs()', async () => {
  const undeclared: string[] = [];
  for (const file of await testFiles()) {
    const text = await readFile(file, 'utf8');
    if (/\blaunchBrowser\(/.test(text) && !/needs\(\s*'chromium'/.test(text)) undeclared.push(`${file} (chromium)`);
    if (/\bstartTestImapServer\(/.test(text) && !/needs\(\s*'dovecot'/.test(text)) undeclared.push(`${file} (dovecot)`);
  }
  assert.equal(undeclared, []);
});

// The real browser test file, run as the runner runs it, on a machine pretending to lack Chromium.
async function runShellTest(extraEnv: Record<string, string>) {
  const env = { ...process.env, CASEDESK_TEST_PRETEND_MISSING: 'chromium', FORCE_COLOR: '0', ...extraEnv };
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/web/shell.browser.test.ts'], { env });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: `${e.stdout}${e.stderr}` };
  }
}

test('a missing package skips the file with one line naming what to install', async () => {
  const { code, stdout } = await runShellTest({ CASEDESK_TEST_REQUIRE_ALL: 'false' });
  assert.is(code, 0, stdout);
  assert.match(
    stdout,
    'skipped: src/web/shell.browser.test.ts needs Chromium at /usr/bin/chromium (apt-get install chromium)',
  );
  assert.match(stdout, /Total:\s+0/);
  assert.match(stdout, /Skipped:\s+[1-9]/);
});

test('CASEDESK_TEST_REQUIRE_ALL=true turns that skip into a failure', async () => {
  const { code, stdout } = await runShellTest({ CASEDESK_TEST_REQUIRE_ALL: 'true' });
  assert.is.not(code, 0);
  assert.match(stdout, 'CASEDESK_TEST_REQUIRE_ALL forbids skipping');
});

test.run();
