// Verified crash cycles: the harness's reason to exist. One QEMU process per run, and a run is
// a pipeline of phases (each in phases/, each a small function over the one RunContext):
//
//   setup    kernel + guest image (cached), the run's SSH keys, the guest command line
//   boot     QEMU with guest RAM in a file, the ramoops region reserved -> READY -> SSH login
//   per cycle:
//   crash    the scenario over SSH -> the panic -> the guest's own reboot parks QEMU
//   capture  the region read from the RAM file, parsed with src/ for the booted kernel
//   reboot   warm reset with RAM kept -> READY
//   ssh      (phases/read.ts) login -> the guest's /sys/fs/pstore with stat size and mtime
//   compare  host parse vs guest files, byte for byte, and the scenario's expectations
//
// arm64 runs the same cycle on QEMU's virt machine, ramoops configured by a /reserved-memory
// node in the DTB (phases/setup.ts, qemu/virt-arm64.ts). Faults (no boot, no panic, SSH
// refused, QEMU dying, the run's timeout) become a report with the phase and log excerpts, not
// an exception; only Ctrl-C/SIGTERM propagate (the CLI exits 130/143). Whatever happens, the
// Lifetime kills QEMU and removes its temp folder.

import { performance } from 'node:perf_hooks';
import { RunAbortedError, withLifetime, type Lifetime } from '../proc/lifetime.js';
import { chooseAccel } from '../qemu/accel.js';
import { machineFor } from '../qemu/args.js';
import type { CycleReport, Phase, RunReport } from '../report/run-report.js';
import { PhaseClock } from './clock.js';
import { emptyRunState, type RunContext } from './context.js';
import { finish, toFault, type Started } from './finish.js';
import { missingRequirements } from './guest-commands.js';
import type { RunOptions } from './options.js';
import { boot, type Guest } from './phases/boot.js';
import { capture } from './phases/capture.js';
import { compare, roundedTimes } from './phases/compare.js';
import { crash } from './phases/crash.js';
import { read } from './phases/read.js';
import { reboot } from './phases/reboot.js';
import { setup, type Prepared } from './phases/setup.js';
import { planRun } from './plan.js';

/** Boots a guest, crashes it `cycles` times and checks each capture against the guest's /sys/fs/pstore. */
export async function runCycles(options: RunOptions): Promise<RunReport> {
  const started: Started = { at: new Date(), t0: performance.now() };
  // Probed before the run's clock: KVM or not is a fact of the machine, not of the run.
  const plan = planRun(options, await chooseAccel(options.accel ?? 'auto', machineFor(options.arch ?? 'x86_64')));
  const state = emptyRunState();
  const clock = new PhaseClock(plan.cycles, options.onProgress);
  const timeoutMs = options.timeoutMs ?? (15 + 2 * plan.cycles) * 60_000;
  try {
    await withLifetime({ handleSignals: options.handleSignals === true, timeoutMs }, async (life) => {
      followOuterSignal(options.signal, life);
      await pipeline({ plan, life, clock, state });
    });
  } catch (e) {
    const report = finish(plan, state, clock, started, toFault(e, clock.phase, state.qemu));
    // Ctrl-C / SIGTERM: the report keeps what was found, then the CLI exits 130/143.
    if (e instanceof RunAbortedError && e.abortCause !== 'timeout') throw e;
    return report;
  }
  return finish(plan, state, clock, started, undefined);
}

/** setup, boot, login, then the cycles; a guest without what the scenario needs is skipped. */
async function pipeline(ctx: RunContext): Promise<void> {
  const runTimes = ctx.state.runTimes;
  const prepared = await phase(ctx, 'setup', runTimes, () => setup(ctx));
  const guest = await phase(ctx, 'boot', runTimes, () => boot(ctx, prepared));
  const ssh = await phase(ctx, 'ssh', runTimes, async () => ({ value: await guest.login() }));
  const missing = await missingRequirements(ssh, ctx.plan.scenario, ctx.plan.timeouts.ssh, ctx.life.signal);
  if (missing.length > 0) {
    ctx.state.skipped = `the guest lacks ${missing.join(', ')}`;
  } else {
    for (let n = 1; n <= ctx.plan.cycles; n++) ctx.state.cycles.push(await cycle(ctx, guest, prepared, n));
    ctx.clock.cycle = undefined;
  }
  await guest.session().close();
  await guest.qemu.qmp.quit({ timeout: 5000 }).catch(() => {});
  await guest.qemu.dispose();
}

/** One verified crash: crash, capture, reboot, read, compare. */
export async function cycle(ctx: RunContext, guest: Guest, prepared: Prepared, n: number): Promise<CycleReport> {
  ctx.clock.cycle = n;
  const times: Partial<Record<Phase, number>> = {};
  const crashed = await phase(ctx, 'crash', times, () => crash(ctx, guest, n));
  const captured = await phase(ctx, 'capture', times, () => capture(ctx, guest, prepared, n));
  await phase(ctx, 'reboot', times, () => reboot(ctx, guest));
  const readBack = await phase(ctx, 'ssh', times, () => read(ctx, guest, prepared, captured, n));
  const judged = await phase(ctx, 'compare', times, () => compare(ctx, n, crashed, captured, readBack));
  return { ...judged, timings: roundedTimes(times) };
}

/** Runs one phase between the clock's begin and end; its detail goes to the progress display. */
export async function phase<T>(
  ctx: RunContext,
  name: Phase,
  into: Partial<Record<Phase, number>>,
  run: () => Promise<{ readonly value: T; readonly detail?: string }>,
): Promise<T> {
  ctx.clock.begin(name);
  const r = await run();
  ctx.clock.end(into, r.detail);
  return r.value;
}

/** A matrix passes one signal to all its cells: follow it, and leave no listener behind per cell. */
export function followOuterSignal(outer: AbortSignal | undefined, life: Lifetime): void {
  if (outer === undefined) return;
  const stop = (): void => life.abort(outer.reason);
  if (outer.aborted) stop();
  outer.addEventListener('abort', stop, { once: true });
  life.defer('outer signal listener', () => outer.removeEventListener('abort', stop));
}
