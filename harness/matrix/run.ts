// The crash matrix: kernels x ramoops configurations x scenarios, each cell one verified run
// (runCycles) in its own VM, `jobs` VMs at a time. Kernels and guest images are obtained once,
// before any cell starts, so identical builds are never made twice and cells never race to
// create the same cache entry.
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import { prepareOutDir, writeConfined } from '../io/artifacts.js';
import { runCycles } from '../cycle/run.js';
import { chainKey, runChain } from '../cycle/chain.js';
import type { Progress, RunOptions } from '../cycle/options.js';
import { buildGuestImage } from '../guest/image.js';
import { obtainArm64Kernel } from '../kernel/arm64.js';
import { obtainKernel } from '../kernel/obtain.js';
import type { KernelArtifacts } from '../kernel/artifacts.js';
import { junitDocument, type JunitCase, type JunitSuite } from '../../src/index.js';
import { diffText, type RunReport } from '../report/run-report.js';
import { renderMatrixHtml } from '../report/html/matrix-page.js';
import { cellDetailsHtml } from '../report/html/cell-details.js';
import type { PhaseTimeouts } from '../cycle/options.js';
import type { Scenario } from '../cycle/scenario.js';
import type { GuestArch } from '../qemu/args.js';

/** One ramoops configuration of the matrix, already turned into what runCycles takes. */
export interface MatrixConfig {
  readonly label: string;
  /** x86_64: ramoops.* and pstore.* words; arm64: pstore.* words only. */
  readonly ramoopsCmdline: string;
  /** arm64: the node. */
  readonly ramoopsNode?: RamoopsNodeSpec;
  readonly extraCmdline: readonly string[];
  /** What the kernel would reject or ignore in it. */
  readonly notes?: readonly string[];
}

export interface MatrixOptions {
  readonly kernels: readonly string[];
  readonly configs: readonly MatrixConfig[];
  readonly scenarios: readonly Scenario[];
  readonly outDir: string;
  readonly arch?: GuestArch;
  /** VMs at once (default: one per core). */
  readonly jobs?: number;
  readonly cpus?: number;
  readonly accel?: 'auto' | 'tcg' | 'kvm';
  readonly memoryBytes?: number;
  readonly cycles?: number;
  /** Each cell's phase limits (the run's defaults for the rest). */
  readonly timeouts?: Partial<PhaseTimeouts>;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: MatrixEvent) => void;
  readonly log?: (line: string) => void;
  readonly cacheDir?: string;
  /** Run only these cells (indexes into the whole matrix's cell list); only their kernels are obtained. */
  readonly only?: ReadonlySet<number>;
  /**
   * Chain cells that boot the same kernel with the same command line (default true): the boot
   * that reads one cell crashes the next (harness/cycle/chain.ts). false: a fresh guest per cell.
   */
  readonly chain?: boolean;
  /** More fields for matrix.json (the shard's identity); existing fields are never replaced. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface MatrixCell {
  readonly index: number;
  /** The kernel spec as given. */
  readonly kernel: string;
  /** Its short name: the release it boots (with #N when two specs boot the same release). */
  readonly kernelLabel: string;
  readonly config: string;
  readonly scenario: string;
  /** `kernel / config / scenario`, for people. */
  readonly label: string;
  /** Its own artifacts folder. */
  readonly outDir: string;
}

export type CellVerdict = RunReport['verdict'];

export interface CellResult extends MatrixCell {
  readonly verdict: CellVerdict;
  readonly seconds: number;
  /** The first line of what went wrong (fault, failed check, differing file) or why it was skipped. */
  readonly why: string | undefined;
  readonly report: RunReport | undefined;
}

export type MatrixEvent =
  | { readonly type: 'kernel'; readonly spec: string; readonly state: 'start' | 'ready'; readonly release?: string; readonly seconds?: number }
  | { readonly type: 'start'; readonly cell: MatrixCell }
  | { readonly type: 'phase'; readonly cell: MatrixCell; readonly progress: Progress }
  | { readonly type: 'end'; readonly result: CellResult };

export interface MatrixReport {
  readonly tool: 'ramoops-harness matrix';
  readonly startedAt: string;
  readonly seconds: number;
  readonly jobs: number;
  readonly kernels: readonly { readonly spec: string; readonly release: string; readonly seconds: number }[];
  readonly summary: Readonly<Record<CellVerdict, number>> & { readonly cells: number };
  /** 0 every cell passed or was skipped; 1 a mismatch; 2 a fault. */
  readonly exitCode: 0 | 1 | 2;
  readonly cells: readonly Omit<CellResult, 'report'>[];
  readonly outDir: string;
}

/** A folder-name-safe form of a label. */
export function slug(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._=+-]+/g, '_').replace(/^[._]+/, '');
  return (t === '' ? 'x' : t).slice(0, 80);
}

/** Short kernel names: the release, or release#N when several specs boot the same release. */
export function kernelLabels(kernels: readonly { readonly spec: string; readonly release: string }[]): Map<string, string> {
  const labels = new Map<string, string>();
  for (const k of kernels) {
    const same = kernels.filter((x) => x.release === k.release);
    labels.set(k.spec, same.length === 1 ? k.release : `${k.release}#${same.indexOf(k) + 1}`);
  }
  return labels;
}

/** Every cell of the product, in kernel-major order. */
export function matrixCells(
  kernels: readonly string[],
  configs: readonly MatrixConfig[],
  scenarios: readonly Scenario[],
  outDir: string,
  labels: ReadonlyMap<string, string> = new Map(),
): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const k of new Set(kernels)) {
    const kl = labels.get(k) ?? k;
    for (const c of configs) {
      for (const s of scenarios) {
        const index = cells.length;
        cells.push({
          index,
          kernel: k,
          kernelLabel: kl,
          config: c.label,
          scenario: s.name,
          label: `${kl} / ${c.label} / ${s.name}`,
          outDir: path.join(outDir, 'cells', `${String(index + 1).padStart(3, '0')}-${slug(kl)}-${slug(c.label)}-${slug(s.name)}`),
        });
      }
    }
  }
  return cells;
}

/** Why a run did not pass, in one line. */
export function whyNot(r: RunReport): string | undefined {
  if (r.verdict === 'pass') return undefined;
  if (r.verdict === 'skipped') return r.skipped;
  if (r.fault !== undefined) return `fault in ${r.fault.phase}: ${r.fault.message.split('\n')[0] ?? ''}`;
  for (const c of r.cycles) {
    const check = c.checks.find((k) => !k.ok);
    if (check !== undefined) return `cycle ${c.cycle}: ${check.name}: ${check.detail}`;
    const file = c.comparison.files.find((f) => f.status !== 'match');
    if (file !== undefined) return `cycle ${c.cycle}: ${file.name} ${file.status}`;
    if (c.comparison.missing.length + c.comparison.extra.length > 0)
      return `cycle ${c.cycle}: files only on one side: ${[...c.comparison.missing, ...c.comparison.extra].join(', ')}`;
    if (c.reason !== undefined) return `cycle ${c.cycle}: ${c.reason}`;
  }
  return r.verdict;
}

/** Runs the matrix; never throws for a cell's failure (that is its verdict), only for bad options or an abort. */
export async function runMatrix(o: MatrixOptions): Promise<MatrixReport> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const out = prepareOutDir(o.outDir);
  const arch = o.arch ?? 'x86_64';
  const jobs = o.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a positive integer, got ${jobs}`);
  if (o.kernels.length === 0 || o.configs.length === 0 || o.scenarios.length === 0)
    throw new RangeError('the matrix needs at least one kernel, one configuration and one scenario');

  // A subset (a shard, --only) obtains only its own kernels; indexes stay the whole matrix's.
  const chosen = (c: { readonly index: number }): boolean => o.only === undefined || o.only.has(c.index);
  const wanted = new Set(
    matrixCells(o.kernels, o.configs, o.scenarios, out)
      .filter(chosen)
      .map((c) => c.kernel),
  );
  const kernels = await obtainKernels(o, arch, wanted);

  const cells = matrixCells(o.kernels, o.configs, o.scenarios, out, kernelLabels(kernels)).filter(chosen);
  // Every running cell (and the tools it starts) listens on the one signal; not a leak.
  if (o.signal !== undefined) setMaxListeners(Math.max(10, 16 * jobs), o.signal);
  const results: CellResult[] = new Array<CellResult>(cells.length);
  const position = new Map(cells.map((c, i) => [c.index, i] as const));
  const units = o.chain === false ? cells.map((c) => [c]) : chainCells(cells, (c) => chainKey(cellRunOptions(o, arch, c)), jobs);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted) return;
      const unit = units[next++];
      if (unit === undefined) return;
      const done = unit.length === 1 && unit[0] !== undefined ? [await runCell(o, arch, unit[0])] : await runChainedCells(o, arch, unit, out);
      for (const result of done) {
        const at = position.get(result.index);
        if (at !== undefined) results[at] = result;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, units.length) }, () => worker()));
  o.signal?.throwIfAborted();

  const done = results.filter((r): r is CellResult => r !== undefined);
  const count = (v: CellVerdict): number => done.filter((r) => r.verdict === v).length;
  const summary = { cells: cells.length, pass: count('pass'), mismatch: count('mismatch'), fault: count('fault'), skipped: count('skipped') };
  const report: MatrixReport = {
    ...o.extra,
    tool: 'ramoops-harness matrix',
    startedAt,
    seconds: Math.round((performance.now() - t0) / 10) / 100,
    jobs,
    kernels,
    summary,
    exitCode: matrixExitCode(summary),
    cells: done.map(({ report: _r, ...rest }) => rest),
    outDir: out,
  };
  writeMatrixResults(out, report, done);
  return report;
}

/** Kernels (and their guest images) once each, in order, before any VM starts. */
async function obtainKernels(o: MatrixOptions, arch: GuestArch, wanted: ReadonlySet<string>): Promise<{ spec: string; release: string; seconds: number }[]> {
  const kernels: { spec: string; release: string; seconds: number }[] = [];
  for (const spec of new Set(o.kernels)) {
    if (!wanted.has(spec)) continue;
    o.signal?.throwIfAborted();
    const tk = performance.now();
    o.onEvent?.({ type: 'kernel', spec, state: 'start' });
    const opts = { signal: o.signal, log: o.log, cacheDir: o.cacheDir };
    const k: KernelArtifacts = arch === 'arm64' ? await obtainArm64Kernel(spec, opts) : await obtainKernel(spec, opts);
    await buildGuestImage(k, { log: o.log, cacheDir: o.cacheDir, arch, signal: o.signal });
    const seconds = (performance.now() - tk) / 1000;
    kernels.push({ spec, release: k.release, seconds: Math.round(seconds * 100) / 100 });
    o.onEvent?.({ type: 'kernel', spec, state: 'ready', release: k.release, seconds });
  }
  return kernels;
}

/** What runCycles gets for a cell. */
function cellRunOptions(o: MatrixOptions, arch: GuestArch, cell: MatrixCell): RunOptions {
  const config = o.configs.find((c) => c.label === cell.config);
  const scenario = o.scenarios.find((s) => s.name === cell.scenario);
  if (config === undefined || scenario === undefined) throw new Error(`matrix cell ${cell.label} lost its configuration`);
  return {
    kernel: cell.kernel,
    ramoopsCmdline: config.ramoopsCmdline,
    extraCmdline: config.extraCmdline,
    ...(arch === 'arm64' ? { arch, ...(config.ramoopsNode === undefined ? {} : { ramoopsNode: config.ramoopsNode }) } : {}),
    scenario,
    ...(o.cpus === undefined ? {} : { cpus: o.cpus }),
    cycles: o.cycles ?? 1,
    ...(o.timeouts === undefined ? {} : { timeouts: o.timeouts }),
    outDir: cell.outDir,
    accel: o.accel ?? 'auto',
    ...(o.memoryBytes === undefined ? {} : { memoryBytes: o.memoryBytes }),
    ...(o.cacheDir === undefined ? {} : { cacheDir: o.cacheDir }),
    onProgress: (p) => o.onEvent?.({ type: 'phase', cell, progress: p }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  };
}

/** A cell's result from its report (undefined: the run threw before it had one). */
function cellResult(cell: MatrixCell, report: RunReport | undefined, seconds: number, why: string | undefined): CellResult {
  return {
    ...cell,
    verdict: report?.verdict ?? 'fault',
    seconds: Math.round(seconds * 100) / 100,
    why: why ?? (report === undefined ? undefined : whyNot(report)),
    report,
  };
}

/** One cell: a verified run with its configuration and scenario; its failure is its verdict. */
async function runCell(o: MatrixOptions, arch: GuestArch, cell: MatrixCell): Promise<CellResult> {
  const options = cellRunOptions(o, arch, cell);
  o.onEvent?.({ type: 'start', cell });
  const tc = performance.now();
  let report: RunReport | undefined;
  let why: string | undefined;
  try {
    report = await runCycles(options);
  } catch (e) {
    // Bad options for this cell (a configuration the kernel would refuse): a fault of the cell.
    why = `fault: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    if (o.signal?.aborted) throw e;
  }
  const result = cellResult(cell, report, (performance.now() - tc) / 1000, why);
  o.onEvent?.({ type: 'end', result });
  return result;
}

/** Cells that share a guest (chainCells): each still gets its own result, event and folder. */
async function runChainedCells(o: MatrixOptions, arch: GuestArch, unit: readonly MatrixCell[], out: string): Promise<CellResult[]> {
  const results: CellResult[] = [];
  let tc = performance.now();
  const dir = path.join(out, 'chains', path.basename(unit[0]?.outDir ?? 'chain'));
  try {
    await runChain({
      cells: unit.map((c) => cellRunOptions(o, arch, c)),
      dir: prepareOutDir(dir),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      onCellStart: (i) => {
        tc = performance.now();
        const cell = unit[i];
        if (cell !== undefined) o.onEvent?.({ type: 'start', cell });
      },
      onCellEnd: (i, report) => {
        const cell = unit[i];
        if (cell === undefined) return;
        const result = cellResult(cell, report, (performance.now() - tc) / 1000, undefined);
        results.push(result);
        o.onEvent?.({ type: 'end', result });
      },
    });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    // Bad options (a configuration the kernel would refuse): a fault of each cell not yet done.
    const why = `fault: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    for (const cell of unit.slice(results.length)) {
      const result = cellResult(cell, undefined, 0, why);
      results.push(result);
      o.onEvent?.({ type: 'end', result });
    }
  }
  return results;
}

/**
 * Runs of neighbouring cells with the same chain key (undefined: never chained), each at most
 * ceil(cells / jobs) long so that every job still has work.
 */
export function chainCells<T>(cells: readonly T[], keyOf: (cell: T) => string | undefined, jobs: number): T[][] {
  const longest = Math.max(1, Math.ceil(cells.length / Math.max(1, jobs)));
  const units: T[][] = [];
  let current: T[] = [];
  let currentKey: string | undefined;
  for (const cell of cells) {
    const key = keyOf(cell);
    if (key === undefined || key !== currentKey || current.length >= longest) {
      if (current.length > 0) units.push(current);
      current = [];
    }
    current.push(cell);
    currentKey = key;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** matrix.json, junit.xml and report.html of a matrix: the same three files for a run and a merge. */
export function writeMatrixResults(out: string, report: MatrixReport, results: readonly CellResult[]): void {
  const enc = new TextEncoder();
  writeConfined(out, 'matrix.json', enc.encode(JSON.stringify(report, null, 2) + '\n'));
  writeConfined(out, 'junit.xml', enc.encode(matrixJunit(report, results)));
  writeConfined(
    out,
    'report.html',
    enc.encode(
      renderMatrixHtml(
        report,
        results.map((r) => cellDetailsHtml(r.outDir, r.report)),
      ),
    ),
  );
}

/** The matrix's exit code: a fault outranks a mismatch. */
export function matrixExitCode(summary: { readonly fault: number; readonly mismatch: number }): 0 | 1 | 2 {
  return summary.fault > 0 ? 2 : summary.mismatch > 0 ? 1 : 0;
}

/** JUnit XML: a testsuite per kernel, a testcase per cell with the diff and log folder on failure. */
export function matrixJunit(m: MatrixReport, results: readonly CellResult[]): string {
  const suites = m.kernels.map((k): JunitSuite => {
    const mine = results.filter((r) => r.kernel === k.spec);
    return {
      name: `${k.spec} (${k.release})`,
      seconds: mine.reduce((a, r) => a + r.seconds, 0),
      timestamp: m.startedAt,
      cases: mine.map((r) => cellCase(r, `ramoops.matrix.${k.release.replace(/[^A-Za-z0-9_.-]/g, '_')}`)),
    };
  });
  return junitDocument({ name: 'ramoops matrix', seconds: m.seconds, suites, style: { skippedCounts: 'all', emptyCase: 'self-closing' } });
}

/** A cell as a testcase: nothing inside when it passed; else its verdict, the diff or fault, and where its artifacts are. */
function cellCase(r: CellResult, classname: string): JunitCase {
  const c = { name: `${r.config} / ${r.scenario}`, classname, seconds: r.seconds };
  if (r.verdict === 'pass') return c;
  const out = `report: ${path.join(r.outDir, 'report.json')}, serial log and both sides' files in ${r.outDir}`;
  if (r.verdict === 'skipped') return { ...c, skipped: r.why ?? '', out };
  const body = [r.why ?? '', r.report === undefined ? '' : r.verdict === 'mismatch' ? diffText(r.report) : '', `artifacts: ${r.outDir}`]
    .filter((x) => x !== '')
    .join('\n');
  const problem = { message: r.why ?? r.verdict, body };
  return { ...c, ...(r.verdict === 'fault' ? { error: problem } : { failure: problem }), out };
}
