// CPU time of this test process and of the programs it started and waited for (Chromium,
// Dovecot, a nested server), read from /proc where Linux has it. scripts/test.ts puts it in its
// timing table: on a shared machine wall time says little, CPU time says what a file costs.
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ, 100 on every Linux Node runs on

// This process's CPU plus that of its children it has waited for, in milliseconds.
export function cpuMsOfProcess(pid: number | 'self' = 'self'): number | undefined {
  try {
    // the command name in parentheses may hold spaces: the fields start after its closing one
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14 to 17, so 11 to 14 after the name and state
    const ticks = fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
    return (ticks * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

// The line a test file run in its own process ends with (see runAlone in scripts/test.ts).
export const cpuMarker = '@@casedesk-test-cpu-ms ';
