// Loaded with --import into a test file that runs in its own process (runAlone in
// scripts/test.ts): as the process exits it reports its CPU time on a last line the runner takes
// out of the output again.
import { writeSync } from 'node:fs';
import { cpuMarker, cpuMsOfProcess } from './test-cpu.ts';

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  writeSync(2, `\n${cpuMarker}${Math.round(cpuMsOfProcess() ?? (user + system) / 1000)}\n`);
});
