import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryEnv, memoryNodeFlags } from './process-memory.ts';

// Every way of starting the server runs node with the same memory settings as the bench measures
// (src/bench/app-process.ts takes them from process-memory.ts itself).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = Object.entries(memoryEnv).map(([name, value]) => `${name}=${value}`);

test('npm start and start:prod start node with the memory settings', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  for (const name of ['start', 'start:prod']) {
    const script = scripts[name] ?? '';
    for (const part of [...env, ...memoryNodeFlags])
      assert.ok(script.includes(part), `${name} lacks ${part}: ${script}`);
    assert.ok(script.indexOf(memoryNodeFlags[0]) < script.indexOf('server.'), `${name}: the flag goes to node`);
  }
});

test("the Docker image's command and environment carry the memory settings", () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  for (const line of env) assert.ok(dockerfile.includes(`ENV ${line}`), `the Dockerfile lacks ENV ${line}`);
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]';
  const args = JSON.parse(cmd) as string[];
  assert.equal(args.slice(0, 1 + memoryNodeFlags.length), ['node', ...memoryNodeFlags]);
});

test.run();
