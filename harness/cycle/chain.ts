// Chained cells: several runs that boot the same kernel with the same command line share one
// guest. The boot that reads cell k's pstore is the boot that crashes cell k+1, so a cell costs
// about one boot instead of two. Each cell's proof stays its own: before cell k+1 the records
// cell k left are erased through pstore (the kernel zaps their zones, docs/format.md §8) and
// the guest must list nothing, so cell k+1 reads only what its own crash wrote; its plan,
// checks, comparison, report and artifacts folder are its own (serial.log holds its share of
// the console). A fault ends the chain: the cells after it run on their own, each on a fresh
// guest, so one bad cell never decides another's verdict.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HarnessError } from '../errors.js';
import { writeConfined } from '../io/artifacts.js';
import { RunAbortedError, withLifetime, type Lifetime } from '../proc/lifetime.js';
import { chooseAccel, type AccelDecision } from '../qemu/accel.js';
import { machineFor } from '../qemu/args.js';
import type { RunReport } from '../report/run-report.js';
import { PhaseClock } from './clock.js';
import { KERNEL_CMDLINE_FILE, QEMU_CMDLINE_FILE } from './command-lines.js';
import { emptyRunState, type RunContext } from './context.js';
import { finish, toFault, type Started } from './finish.js';
import { missingRequirements } from './guest-commands.js';
import type { RunOptions } from './options.js';
import { boot, type Guest } from './phases/boot.js';
import { setup, type Prepared } from './phases/setup.js';
import { planRun } from './plan.js';
import { cycle, followOuterSignal, phase, runCycles } from './run.js';
import { overrideWords, splitScenarioCmdline } from './scenario.js';

export interface ChainOptions {
  /** The cells, in order; each must have the chain key of the first (chainKey). */
  readonly cells: readonly RunOptions[];
  /** Where the shared QEMU writes its own logs (serial.log of every boot, qemu-stderr.log). */
  readonly dir: string;
  readonly signal?: AbortSignal;
  readonly onCellStart?: (index: number) => void;
  readonly onCellEnd?: (index: number, report: RunReport) => void;
}

/**
 * What must be equal for two runs to share a guest: everything that goes into the boot (kernel,
 * command line after the scenario's words, QEMU's devices and size, timeouts). undefined: the
 * run cannot be chained (kernel selftests keep state on a share across boots, corruption is
 * injected per run, and a scenario's after commands may leave the guest changed).
 */
export function chainKey(o: RunOptions): string | undefined {
  const s = o.scenario;
  if (s === undefined || s.kselftest !== undefined || s.after.length > 0) return undefined;
  if (o.share !== undefined || o.corrupt !== undefined) return undefined;
  const words = splitScenarioCmdline(s);
  return JSON.stringify({
    kernel: o.kernel ?? 'debian',
    modulesDir: o.modulesDir,
    arch: o.arch ?? 'x86_64',
    node: o.ramoopsNode,
    ramoops: overrideWords(o.ramoopsCmdline, words.ramoops),
    extra: [...(o.extraCmdline ?? []), ...words.other],
    cpus: Math.max(o.cpus ?? 1, s.cpus ?? 1),
    accel: o.accel ?? 'auto',
    memory: o.memoryBytes,
    timeouts: o.timeouts,
    bootPath: o.bootPath,
    cacheDir: o.cacheDir,
  });
}

/** What the chain carries from cell to cell. */
interface Shared {
  readonly accel: AccelDecision;
  readonly life: Lifetime;
  guest: Guest | undefined;
  prepared: Prepared | undefined;
  readonly cells: number;
  readonly dir: string;
  /** The first cell's folder: the boot's saved command lines are copied from it. */
  firstOut: string | undefined;
  broken: boolean;
}

/** Runs the cells on one guest where it can, on their own after a fault; one report per cell, in order. */
export async function runChain(o: ChainOptions): Promise<RunReport[]> {
  const first = o.cells[0];
  if (first === undefined) return [];
  const key = chainKey(first);
  if (key === undefined || o.cells.some((c) => chainKey(c) !== key)) throw new RangeError('runChain: the cells do not share a chain key');
  const reports: RunReport[] = [];
  const accel = await chooseAccel(first.accel ?? 'auto', machineFor(first.arch ?? 'x86_64'));
  const timeoutMs = o.cells.reduce((ms, c) => ms + (c.timeoutMs ?? (15 + 2 * (c.cycles ?? 1)) * 60_000), 0);
  try {
    await withLifetime({ timeoutMs }, async (life) => {
      followOuterSignal(o.signal, life);
      const shared: Shared = { accel, life, guest: undefined, prepared: undefined, cells: o.cells.length, dir: o.dir, firstOut: undefined, broken: false };
      try {
        for (const [i, cell] of o.cells.entries()) {
          if (shared.broken) break;
          o.onCellStart?.(i);
          const report = await chainedCell(shared, { ...cell, qemuLogDir: o.dir }, i);
          reports.push(report);
          o.onCellEnd?.(i, report);
        }
      } finally {
        await shared.guest?.ssh?.close();
        await shared.guest?.qemu.qmp.quit({ timeout: 5000 }).catch(() => {});
        await shared.guest?.qemu.dispose();
      }
    });
  } catch (e) {
    // Ctrl-C or the matrix stopping: the cell that was running has its report on disk.
    if (!(e instanceof RunAbortedError && e.abortCause === 'timeout')) throw e;
  }
  // After a fault (or the chain's timeout) each remaining cell gets a fresh guest of its own.
  for (let i = reports.length; i < o.cells.length; i++) {
    const cell = o.cells[i];
    if (cell === undefined) continue;
    o.onCellStart?.(i);
    const report = await runCycles({ ...cell, ...(o.signal === undefined ? {} : { signal: o.signal }) });
    reports.push(report);
    o.onCellEnd?.(i, report);
  }
  return reports;
}

/** One cell on the chain's guest: the first boots it, the others take it over from the cell before. */
async function chainedCell(shared: Shared, options: RunOptions, index: number): Promise<RunReport> {
  const started: Started = { at: new Date(), t0: performance.now() };
  const plan = planRun(options, shared.accel);
  const state = emptyRunState();
  const ctx: RunContext = { plan, life: shared.life, clock: new PhaseClock(plan.cycles, options.onProgress), state };
  const serialFrom = shared.guest?.qemu.serial.mark() ?? 0;
  let fault;
  try {
    const guest = await takeGuest(ctx, shared, index);
    const ssh = guest.session();
    const missing = await missingRequirements(ssh, plan.scenario, plan.timeouts.ssh, shared.life.signal);
    if (missing.length > 0) {
      state.skipped = `the guest lacks ${missing.join(', ')}`;
    } else {
      for (let n = 1; n <= plan.cycles; n++) state.cycles.push(await cycle(ctx, guest, shared.prepared ?? noPrepared(), n));
      ctx.clock.cycle = undefined;
    }
  } catch (e) {
    if (e instanceof RunAbortedError && e.abortCause !== 'timeout') {
      finish(plan, state, ctx.clock, started, toFault(e, ctx.clock.phase, state.qemu));
      throw e;
    }
    fault = toFault(e, ctx.clock.phase, state.qemu);
    shared.broken = true;
  }
  const report = finish(plan, state, ctx.clock, started, fault, { position: index + 1, of: shared.cells, qemuLogs: shared.dir });
  const lines = shared.guest?.qemu.serial.since(serialFrom) ?? [];
  writeConfined(plan.out, 'serial.log', new TextEncoder().encode(lines.join('\n') + (lines.length > 0 ? '\n' : '')));
  return report;
}

/** The first cell sets up and boots; a later one erases what the cell before left (timed as its setup). */
async function takeGuest(ctx: RunContext, shared: Shared, index: number): Promise<Guest> {
  const { state } = ctx;
  if (index === 0 || shared.guest === undefined || shared.prepared === undefined) {
    const prepared = await phase(ctx, 'setup', state.runTimes, () => setup(ctx));
    shared.prepared = prepared;
    shared.firstOut = ctx.plan.out;
    const guest = await phase(ctx, 'boot', state.runTimes, () => boot(ctx, prepared));
    shared.guest = guest;
    await phase(ctx, 'ssh', state.runTimes, async () => ({ value: await guest.login() }));
    return guest;
  }
  const guest = shared.guest;
  const prepared = shared.prepared;
  state.kernel = prepared.kernel;
  state.bootPath = prepared.bootPath;
  state.qemu = guest.qemu;
  state.cmdline = prepared.append;
  guest.errorSink = state.guestErrors;
  // The guest this cell crashes was started with these lines: keep them with the cell.
  for (const f of [QEMU_CMDLINE_FILE, KERNEL_CMDLINE_FILE]) {
    const from = shared.firstOut === undefined ? undefined : path.join(shared.firstOut, f);
    if (from !== undefined && existsSync(from)) writeConfined(ctx.plan.out, f, readFileSync(from));
  }
  await phase(ctx, 'setup', state.runTimes, () => eraseRecords(ctx, guest, index));
  return guest;
}

function noPrepared(): never {
  throw new HarnessError('boot', 'chained cell without a prepared guest');
}

/** rm of every pstore file, then an empty listing: the next crash is the only thing the region will hold. */
async function eraseRecords(ctx: RunContext, guest: Guest, index: number): Promise<{ readonly value: undefined; readonly detail: string }> {
  const r = await guest.session().exec('cd /sys/fs/pstore && rm -f -- * && ls -A', { timeout: ctx.plan.timeouts.ssh, signal: ctx.life.signal });
  const left = r.stdout.toString('utf8').trim();
  if (r.code !== 0 || left !== '') {
    const why = r.code !== 0 ? `exit ${r.code ?? r.signal ?? '?'}: ${r.stderr.toString('utf8').trim()}` : `still listed: ${left.split('\n').join(', ')}`;
    throw new HarnessError('guest', `chained cell ${index + 1}: erasing the previous cell's records from /sys/fs/pstore failed (${why})`);
  }
  return { value: undefined, detail: `chained: guest of the cell before, its records erased` };
}
