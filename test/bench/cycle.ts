// Seconds per verified crash cycle (crash, capture, warm reboot, SSH, compare) against a plain
// QEMU boot of the same kernel, image and command line to the READY line, measured in the same
// run and interleaved (plain boot, then a run of cycles, per round) so a machine whose load
// changes hurts both sides alike. The issue's target: a cycle within 2.5x the plain boot.
import { execa } from 'execa';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { dir } from 'tmp-promise';
import { configFromCmdline } from '../../src/index.js';
import { runCycles } from '../../harness/cycle/run.js';
import { defaultRamoopsCmdline } from '../../harness/cycle/options.js';
import { guestCmdline } from '../../harness/cycle/guest-cmdline.js';
import { READY_LINE } from '../../harness/cycle/phases/boot.js';
import { buildGuestImage } from '../../harness/guest/image.js';
import { obtainKernel } from '../../harness/kernel/obtain.js';
import type { KernelArtifacts } from '../../harness/kernel/artifacts.js';
import { withLifetime } from '../../harness/proc/lifetime.js';
import { QemuProcess } from '../../harness/qemu/process.js';
import type { Phase } from '../../harness/report/run-report.js';
import { generateRunKeys } from '../../harness/ssh/keys.js';

const ROUNDS = 3;
const CYCLES_PER_RUN = 2;
const MEMORY = 512 * 1024 * 1024;
const CYCLE_PHASES: readonly Phase[] = ['crash', 'capture', 'reboot', 'ssh', 'compare'];

/** QEMU start to the READY line, nothing else: the yardstick. */
async function plainBoot(kernel: KernelArtifacts, image: string, ramoops: string): Promise<number> {
  return withLifetime({ timeoutMs: 300_000 }, async (life) => {
    const append = guestCmdline(configFromCmdline(ramoops), ramoops, [], generateRunKeys().cmdlineWord);
    const t0 = performance.now();
    const qemu = await QemuProcess.start({
      accel: 'tcg',
      memoryBytes: MEMORY,
      kernel: kernel.kernelPath,
      initrd: image,
      append,
      lifetime: life,
      signal: life.signal,
    });
    await qemu.waitForSerial(READY_LINE, { since: 0, timeout: 240_000, signal: life.signal });
    const seconds = (performance.now() - t0) / 1000;
    await qemu.dispose();
    return seconds;
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

async function machine(): Promise<string> {
  const qemu = await execa('qemu-system-x86_64', ['--version']).then(
    (r) => r.stdout.split('\n')[0] ?? '',
    () => 'QEMU ?',
  );
  return `${os.cpus().length} CPUs (nproc ${os.availableParallelism()}), ${os.arch() === 'x64' ? 'x86_64' : os.arch()}, TCG, load ${os.loadavg()[0]?.toFixed(1)} at start, ${qemu}`;
}

/** The cycle bench's report lines; throws if a cycle does not verify (a slow wrong answer is no benchmark). */
export async function benchCycle(): Promise<string> {
  const where = await machine();
  const kernel = await obtainKernel('debian');
  const image = await buildGuestImage(kernel);
  const ramoops = `${defaultRamoopsCmdline()} ramoops.ecc=16`;
  const plain: number[] = [];
  const cycles: number[] = [];
  const oneCycleRuns: number[] = [];
  const phases = new Map<Phase, number[]>(CYCLE_PHASES.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(await plainBoot(kernel, image, ramoops));
    const out = await dir({ prefix: 'ramoops-bench-', unsafeCleanup: true });
    try {
      const r = await runCycles({ ramoopsCmdline: ramoops, outDir: out.path, cycles: CYCLES_PER_RUN });
      if (r.verdict !== 'pass') throw new Error(`bench run did not verify: ${r.verdict}${r.fault === undefined ? '' : `: ${r.fault.message}`}`);
      for (const c of r.cycles) {
        cycles.push(CYCLE_PHASES.reduce((s, p) => s + (c.timings[p] ?? 0), 0));
        for (const p of CYCLE_PHASES) phases.get(p)?.push(c.timings[p] ?? 0);
      }
      const first = r.cycles[0];
      // What `ramoops run` costs for one cycle from a warm cache: setup, first boot, login, one cycle.
      if (first !== undefined) {
        oneCycleRuns.push(
          (['setup', 'boot', 'ssh'] as const).reduce((s, p) => s + (r.timings[p] ?? 0), 0) + CYCLE_PHASES.reduce((s, p) => s + (first.timings[p] ?? 0), 0),
        );
      }
    } finally {
      await out.cleanup();
    }
  }
  const p = median(plain);
  const c = median(cycles);
  const one = median(oneCycleRuns);
  const breakdown = CYCLE_PHASES.map((ph) => `${ph} ${median(phases.get(ph) ?? []).toFixed(2)}`).join(', ');
  return [
    `cycle: verified crash cycle vs plain boot to READY, Debian ${kernel.release}, 512 MiB, ramoops ECC 16 (medians of ${plain.length} plain boots and ${cycles.length} cycles in ${ROUNDS} interleaved rounds)`,
    `  machine: ${where}`,
    `  plain boot to READY           ${p.toFixed(2)} s   (samples ${plain.map((x) => x.toFixed(1)).join(', ')})`,
    `  verified cycle                ${c.toFixed(2)} s   ${(c / p).toFixed(2)}x plain boot (target <= 2.50x)  (samples ${cycles.map((x) => x.toFixed(1)).join(', ')})`,
    `    where it goes (s):          ${breakdown}`,
    `  one-cycle run end to end      ${one.toFixed(2)} s   ${(one / p).toFixed(2)}x plain boot (setup + first boot + login + one cycle)`,
  ].join('\n');
}
