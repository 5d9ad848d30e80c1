// Seconds per verified crash cycle (crash, capture, warm reboot, SSH, compare) against three
// boots of the same kernel, measured in the same run and interleaved per round so a machine
// whose load changes hurts every side alike:
//   floor  the fastest path found (the vmlinux by its PVH entry, qboot) with a busybox
//          initramfs whose init only prints a line: what any guest of this kernel costs;
//   naive  the stock bzImage through SeaBIOS on q35, the same one-line initramfs: what a boot
//          cost before the PVH path;
//   plain  the harness's own guest (modules, network, dropbear) to READY, nothing else.
// Targets (issue "fast cycles"): READY <= 1.3x the floor; a verified cycle <= 1.0x the naive boot.
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { dir } from 'tmp-promise';
import { configFromCmdline } from '../../src/index.js';
import { runCycles } from '../../harness/cycle/run.js';
import { defaultRamoopsCmdline } from '../../harness/cycle/options.js';
import { guestCmdline } from '../../harness/cycle/guest-cmdline.js';
import { READY_LINE } from '../../harness/cycle/phases/boot.js';
import { buildGuestImage } from '../../harness/guest/image.js';
import { gzipCpio, writeCpio } from '../../harness/guest/cpio.js';
import { chooseBootPath, type BootPath } from '../../harness/kernel/boot-path.js';
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

const FLOOR_LINE = 'RAMOOPS-BENCH-FLOOR';

/** A busybox initramfs whose init prints one line: the least a boot of this kernel can do. */
function floorImage(dir: string): string {
  const init = `#!/bin/sh\necho ${FLOOR_LINE}\nwhile true; do sleep 3600; done\n`;
  const archive = writeCpio([
    { type: 'dir', path: 'bin', mode: 0o755 },
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', mode: 0o755, data: readFileSync('/bin/busybox') },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'symlink', path: 'bin/sleep', target: 'busybox' },
    { type: 'file', path: 'init', mode: 0o755, data: new TextEncoder().encode(init) },
  ]);
  const file = path.join(dir, 'floor.cpio.gz');
  writeFileSync(file, gzipCpio(archive, 9));
  return file;
}

/** QEMU start to the floor image's line, on the given boot path. */
async function floorBoot(kernel: string, firmware: string | undefined, image: string): Promise<number> {
  return withLifetime({ timeoutMs: 300_000 }, async (life) => {
    const t0 = performance.now();
    const qemu = await QemuProcess.start({
      accel: 'tcg',
      memoryBytes: MEMORY,
      kernel,
      ...(firmware === undefined ? {} : { firmware }),
      initrd: image,
      append: 'console=ttyS0 quiet panic=-1 no_timer_check',
      lifetime: life,
      signal: life.signal,
    });
    await qemu.waitForSerial(new RegExp(FLOOR_LINE), { since: 0, timeout: 240_000, signal: life.signal });
    const seconds = (performance.now() - t0) / 1000;
    await qemu.dispose();
    return seconds;
  });
}

/** QEMU start to the READY line, nothing else: the yardstick. */
async function plainBoot(kernel: KernelArtifacts, boot: BootPath, image: string, ramoops: string): Promise<number> {
  return withLifetime({ timeoutMs: 300_000 }, async (life) => {
    const append = guestCmdline(configFromCmdline(ramoops), ramoops, [], generateRunKeys().cmdlineWord);
    const t0 = performance.now();
    const qemu = await QemuProcess.start({
      accel: 'tcg',
      memoryBytes: MEMORY,
      kernel: boot.kernel,
      ...(boot.firmware === undefined ? {} : { firmware: boot.firmware }),
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
  const boot = await chooseBootPath(kernel.kernelPath, 'x86_64');
  const image = await buildGuestImage(kernel);
  const ramoops = `${defaultRamoopsCmdline()} ramoops.ecc=16`;
  const scratch = await dir({ prefix: 'ramoops-bench-floor-', unsafeCleanup: true });
  const floorInitrd = floorImage(scratch.path);
  const floor: number[] = [];
  const naive: number[] = [];
  const plain: number[] = [];
  const cycles: number[] = [];
  const oneCycleRuns: number[] = [];
  const phases = new Map<Phase, number[]>(CYCLE_PHASES.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(await floorBoot(boot.kernel, boot.firmware, floorInitrd));
    naive.push(await floorBoot(kernel.kernelPath, undefined, floorInitrd));
    plain.push(await plainBoot(kernel, boot, image, ramoops));
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
  await scratch.cleanup();
  const f = median(floor);
  const n = median(naive);
  const p = median(plain);
  const c = median(cycles);
  const samples = (xs: readonly number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  const one = median(oneCycleRuns);
  const breakdown = CYCLE_PHASES.map((ph) => `${ph} ${median(phases.get(ph) ?? []).toFixed(2)}`).join(', ');
  return [
    `cycle: verified crash cycle vs boots of the same kernel, Debian ${kernel.release} (boot path ${boot.path}), 512 MiB, ramoops ECC 16 (medians of ${plain.length} boots of each kind and ${cycles.length} cycles in ${ROUNDS} interleaved rounds)`,
    `  machine: ${where}`,
    `  floor: ${boot.path} + one-line init        ${f.toFixed(2)} s   (samples ${samples(floor)})`,
    `  naive: bzImage, SeaBIOS, one-line init ${n.toFixed(2)} s   ${(n / f).toFixed(2)}x floor  (samples ${samples(naive)})`,
    `  boot to READY (harness guest)          ${p.toFixed(2)} s   ${(p / f).toFixed(2)}x floor (target <= 1.30x)  (samples ${samples(plain)})`,
    `  verified cycle                         ${c.toFixed(2)} s   ${(c / n).toFixed(2)}x naive boot (target <= 1.00x); ${(c / p).toFixed(2)}x READY  (samples ${samples(cycles)})`,
    `    where it goes (s):                   ${breakdown}`,
    `  one-cycle run end to end               ${one.toFixed(2)} s   ${(one / n).toFixed(2)}x naive boot (setup + first boot + login + one cycle)`,
  ].join('\n');
}
