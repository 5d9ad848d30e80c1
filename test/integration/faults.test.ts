// The fault suite's short version (the long one is `make faults`, tools/faults/): the real
// `ramoops run` with Debian's stock kernel, stopped by its phase hook, a fault injected, then
// the report (exit code of the README, phase, cause) and the leftovers (no process of the run,
// no QEMU temp folder, no temp entry, no listening port, no lock). The three most telling
// cells: Ctrl-C during the first boot, QEMU SIGKILLed during capture (was misreported as a QMP
// fault), and --out on a tmpfs that is full when capture begins (was reported without a phase).
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { runOne } from '../../tools/faults/run-one.js';
import type { FaultName, PhaseName } from '../../tools/faults/faults.js';
import { serialUnless, x86SkipReason } from '../helpers/integration.js';
import { repoRoot } from '../helpers/paths.js';

const CLI = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const reason = x86SkipReason({ debianKernel: true }) ?? (process.getuid?.() === 0 ? undefined : 'mounting a tmpfs needs root');
const cell = serialUnless(reason);

async function faulted(t: ExecutionContext, fault: FaultName, phase: PhaseName): Promise<void> {
  const r = await runOne(fault, phase, { cli: CLI, log: (l) => t.log(l) });
  t.log(`${fault} at ${phase}: exit ${r.exitCode}, phase ${r.reportedPhase ?? '-'}, ${r.seconds} s: ${r.said}`);
  t.is(r.outcome, 'ok', `${r.outcome}: ${r.why.join('; ')}`);
  t.deepEqual(r.leaks, [], 'nothing of the run left behind');
}

cell('SIGINT during boot: exit 130, the phase in report.json, nothing left', (t) => faulted(t, 'sigint', 'boot'));
cell('QEMU SIGKILLed during capture: exit 2, "QEMU was killed by SIGKILL" in phase capture, nothing left', (t) => faulted(t, 'qemu-kill', 'capture'));
cell('--out full when capture begins: exit 2, ENOSPC in phase capture, nothing left', (t) => faulted(t, 'disk-full', 'capture'));
