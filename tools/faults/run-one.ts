// One faulted `ramoops run`: the real CLI with Debian's stock kernel, stopped by the harness's
// own hook as the chosen phase begins, the fault injected, the run continued, and afterwards
// what it reported and what it left behind.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FAULT_STOP_VARIABLE } from '../../harness/cycle/clock.js';
import { expected, PHASES, type Expected, type FaultName, type PhaseName } from './faults.js';
import { listeningSockets, locksOf, markedProcesses, MARKER_VARIABLE, processState, RunSampler } from './observe.js';

const run = promisify(execFile);

/** How one faulted run went. */
export interface FaultResult {
  readonly fault: FaultName;
  readonly phase: PhaseName;
  /** ok: reported as expected; wrong: exit code, phase or cause not as expected; not-reached: the run ended before the phase. */
  readonly outcome: 'ok' | 'wrong' | 'not-reached' | 'not-applicable';
  readonly exitCode: number | null;
  readonly reportedPhase: string | undefined;
  /** The fault's first line as the run reported it (report.json, else stderr). */
  readonly said: string;
  readonly why: readonly string[];
  readonly leaks: readonly string[];
  readonly seconds: number;
}

/** Where the suite finds the CLI and how long a run may take before the suite calls it hung. */
export interface RunOneOptions {
  readonly cli: string;
  readonly limitMs?: number;
  readonly log?: (line: string) => void;
}

const STOPPED_LINE = `${FAULT_STOP_VARIABLE}: stopped at`;

export async function runOne(fault: FaultName, phase: PhaseName, o: RunOneOptions): Promise<FaultResult> {
  const want = expected(fault, phase);
  const t0 = Date.now();
  if (want === 'not-applicable') return result(fault, phase, 'not-applicable', null, undefined, '', [], [], t0);
  const id = `${fault}-${phase}-${randomBytes(4).toString('hex')}`;
  const root = path.join(os.tmpdir(), `ramoops-faults-${id}`);
  const tmp = path.join(root, 'tmp');
  const out = path.join(root, 'out');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(out);
  if (fault === 'disk-full') await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', out]);
  try {
    return await faulted(fault, phase, want, { id, tmp, out, ...o }, t0);
  } finally {
    if (fault === 'disk-full') await run('umount', [out]).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

interface Where extends RunOneOptions {
  readonly id: string;
  readonly tmp: string;
  readonly out: string;
}

async function faulted(fault: FaultName, phase: PhaseName, want: Expected, w: Where, t0: number): Promise<FaultResult> {
  const stop = PHASES.find((p) => p.name === phase)?.stop ?? phase;
  const child = spawn(process.execPath, [w.cli, 'run', '--out', w.out], {
    env: { ...process.env, [FAULT_STOP_VARIABLE]: stop, [MARKER_VARIABLE]: w.id, TMPDIR: w.tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = new RunSampler(w.id);
  sampler.start();
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, sig) => resolve(code ?? (sig === null ? null : 128 + (os.constants.signals[sig] ?? 0)))),
  );
  const stopped = new Promise<boolean>((resolve) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      if (stderr.includes(STOPPED_LINE)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const reached = (await stopped) && (await waitStopped(child.pid ?? -1));
  if (reached) {
    const note = await inject(fault, child.pid ?? -1, sampler, w.out);
    w.log?.(`${fault} at ${phase}: injected${note === '' ? '' : ` (${note})`}`);
    process.kill(child.pid ?? -1, 'SIGCONT');
  }
  const limit = w.limitMs ?? 8 * 60_000;
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), limit).unref())]);
  if (code === 'hung') child.kill('SIGKILL');
  const exitCode = code === 'hung' ? await exited : code;
  sampler.stop();
  const leaks = await leaksAfter(w, sampler);
  if (code === 'hung') leaks.unshift(`the harness was still running after ${limit / 1000} s`);
  const report = readReport(w.out);
  const reportedPhase = report?.fault?.phase;
  // Without report.json (a full --out) the verdict on stdout says it.
  const said = firstLine(report?.fault?.message ?? /^FAULT .*$/m.exec(stdout)?.[0] ?? lastFaultLine(stderr));
  if (!reached) return result(fault, phase, 'not-reached', exitCode, reportedPhase, said || lastFaultLine(stderr), [], leaks, t0);
  const why = judge(want, exitCode, reportedPhase, `${report?.fault?.message ?? ''}\n${stderr}\n${stdout}`);
  return result(fault, phase, why.length === 0 ? 'ok' : 'wrong', exitCode, reportedPhase, said, why, leaks, t0);
}

/** The hook prints its line, then stops: wait until the kernel says the process is stopped. */
async function waitStopped(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const s = processState(pid);
    if (s === 'T') return true;
    if (s === undefined) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function inject(fault: FaultName, harness: number, sampler: RunSampler, out: string): Promise<string> {
  const qemus = sampler.qemus();
  switch (fault) {
    case 'sigint':
    case 'sigterm':
      process.kill(harness, fault === 'sigint' ? 'SIGINT' : 'SIGTERM');
      return '';
    case 'qemu-kill':
      for (const q of qemus) process.kill(q.pid, 'SIGKILL');
      return `${qemus.length} QEMU`;
    case 'hang':
      for (const q of qemus) process.kill(q.pid, 'SIGSTOP');
      return `${qemus.length} QEMU stopped`;
    case 'ssh-cut': {
      const cuts: string[] = [];
      for (const q of qemus) cuts.push((await run('python3', [path.join(toolsDir(), 'cut-tcp.py'), String(q.pid)])).stdout.trim());
      return `${cuts.join('+')} TCP socket(s) shut down`;
    }
    case 'disk-full':
      return `${fill(out)} bytes of filler`;
    case 'ram-dir-removed':
      for (const f of sampler.tempFolders) rmSync(f, { recursive: true, force: true });
      return [...sampler.tempFolders].join(' ');
  }
}

/** Writes until the file system says no more. */
function fill(dir: string): number {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let total = 0;
  try {
    for (;;) total += writeSync(fd, chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Everything of the run still there once the harness has exited (a short grace for children's exits). */
async function leaksAfter(w: Where, sampler: RunSampler): Promise<string[]> {
  let alive = markedProcesses(w.id);
  for (let i = 0; i < 30 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    alive = markedProcesses(w.id);
  }
  const leaks: string[] = [];
  for (const p of alive) leaks.push(`process ${p.pid} ${p.comm} (state ${processState(p.pid) ?? '?'})`);
  for (const l of locksOf(alive.map((p) => p.pid))) leaks.push(`lock held: ${l.trim()}`);
  const listening = new Set(listeningSockets().map((l) => l.inode));
  for (const l of sampler.listeners.values()) if (listening.has(l.inode)) leaks.push(`port ${l.port} still listening`);
  for (const f of sampler.tempFolders) if (existsSync(f)) leaks.push(`temp folder ${f}`);
  for (const e of readdirSync(w.tmp)) leaks.push(`temp entry ${path.join(w.tmp, e)}`);
  for (const e of readdirSync(w.out)) if (/\.tmp|^\.ramoops/.test(e)) leaks.push(`partial file in --out: ${e}`);
  // Take down what was left, so that one leak does not spoil the next run.
  for (const p of alive) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return leaks;
}

interface ReportShape {
  readonly exitCode?: number;
  readonly fault?: { readonly phase?: string; readonly message?: string };
}

function readReport(out: string): ReportShape | undefined {
  try {
    return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportShape;
  } catch {
    return undefined;
  }
}

function judge(want: Expected, exitCode: number | null, reportedPhase: string | undefined, text: string): string[] {
  const why: string[] = [];
  if (exitCode !== want.exitCode) why.push(`exit ${exitCode}, README says ${want.exitCode}`);
  if (want.phase !== undefined) {
    // A run whose report.json could not be written (the full disk) must name the phase on stderr.
    const named = reportedPhase ?? /phase (\w+)/.exec(text)?.[1];
    if (named !== want.phase) why.push(`phase ${named ?? 'not named'}, expected ${want.phase}`);
  }
  if (want.cause !== undefined && !want.cause.test(text)) why.push(`cause not named (${want.cause})`);
  return why;
}

function lastFaultLine(stderr: string): string {
  // The artifacts line names the suite's folder (ramoops-faults-...), which is no fault.
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes(STOPPED_LINE) && !l.includes('artifacts in'));
  return lines.find((l) => /fault|error|interrupted|ENOSPC/i.test(l)) ?? lines.at(-1) ?? '';
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').slice(0, 160);
}

function toolsDir(): string {
  // dist/tools/faults -> tools/faults (the Python helper is data, not compiled).
  return path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'tools', 'faults');
}

function result(
  fault: FaultName,
  phase: PhaseName,
  outcome: FaultResult['outcome'],
  exitCode: number | null,
  reportedPhase: string | undefined,
  said: string,
  why: readonly string[],
  leaks: readonly string[],
  t0: number,
): FaultResult {
  return { fault, phase, outcome, exitCode, reportedPhase, said, why, leaks, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}
