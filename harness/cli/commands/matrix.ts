// `ramoops matrix`: kernels x ramoops configurations x scenarios, one verified run per cell,
// one VM per core, a live progress view, matrix.json and JUnit, and for each failure its
// reason, diff and artifacts folder. The work is harness/matrix.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { parseSize } from '../../../src/index.js';
import { prepareOutDir, writeConfined } from '../../io/artifacts.js';
import { matrixCells, runMatrix, type CellResult, type MatrixConfig, type MatrixEvent, type MatrixReport } from '../../matrix/run.js';
import { shardCell, toolVersions, writeShardManifest } from '../../matrix/manifest.js';
import { failedCells, onlyCells, rerunLine, type MatrixCommandOptions } from '../../matrix/select.js';
import { kernelBuildCost, matrixId, parseShard, scenarioCost, splitCells } from '../../matrix/shard.js';
import { withLifetime, RunAbortedError } from '../../proc/lifetime.js';
import { builtinScenarioNames, loadScenario, type Scenario } from '../../cycle/scenario.js';
import type { ConfigArgs } from '../config-options.js';
import { kernelSpecOf, runCmdline, runDtNode } from './run.js';
import { checkOutDir } from '../input.js';
import { checkKcidbArgs, kcidbYargs, writeKcidbFile, type KcidbArgs } from '../kcidb-options.js';
import { parseTimeout, timeoutHelp } from '../timeouts.js';
import { describeRun } from '../../cycle/dry-run.js';
import type { AccelChoice } from '../../qemu/accel.js';

interface MatrixArgs extends KcidbArgs {
  arch: string;
  kernels: string[];
  source?: string[];
  'kernel-config'?: string;
  configs: string[];
  scenarios: string[];
  jobs?: number;
  cpus?: number;
  cycles: number;
  chain: boolean;
  accel: string;
  memory: string;
  out?: string;
  json: boolean;
  junit?: string;
  timeout?: string;
  'dry-run': boolean;
  shard?: string;
  only?: string[];
  'rerun-failed'?: string;
}

/**
 * One --configs entry: `[LABEL:]WORDS` (ramoops.* / pstore.* words) or a JSON settings file
 * (as --config elsewhere). The empty string is the run's defaults.
 */
export function matrixConfig(entry: string, arch: string): MatrixConfig {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.+-]*):(?!\/\/)(.*)$/s.exec(entry);
  const label0 = m?.[1];
  const body = (m?.[2] ?? entry).trim();
  const isFile = body.endsWith('.json') && !/\s/.test(body);
  const args: ConfigArgs = isFile ? { config: body } : body === '' ? {} : { cmdline: body };
  const label =
    label0 ??
    (isFile
      ? path.basename(body, '.json')
      : body === ''
        ? 'default'
        : body
            .split(/\s+/)
            .map((w) => w.replace(/^(ramoops|pstore)\./, ''))
            .join(','));
  if (arch === 'arm64') {
    const dt = runDtNode(args);
    return { label, ramoopsCmdline: dt.pstore, ramoopsNode: dt.node, extraCmdline: dt.extra, notes: dt.notes };
  }
  const x = runCmdline(args);
  return { label, ramoopsCmdline: x.ramoops, extraCmdline: x.extra, notes: x.notes };
}

function fmt(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * The live view. On a terminal: a block redrawn twice a second (done / failed / running,
 * elapsed, ETA, and one line per running cell with its phase); otherwise one line per event.
 */
function progressView(total: number, jobs: number, tty: boolean): { onEvent: (e: MatrixEvent) => void; stop: () => void; log: (l: string) => void } {
  const started = Date.now();
  const running = new Map<number, { label: string; phase: string; since: number }>();
  const finished: CellResult[] = [];
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const header = (): string => {
    const failed = finished.filter((r) => r.verdict === 'mismatch' || r.verdict === 'fault').length;
    const skipped = finished.filter((r) => r.verdict === 'skipped').length;
    const elapsed = (Date.now() - started) / 1000;
    const avg = finished.length > 0 ? finished.reduce((a, r) => a + r.seconds, 0) / finished.length : undefined;
    const left = total - finished.length;
    const eta = avg === undefined ? '?' : fmt((avg * left) / Math.max(1, Math.min(jobs, left)));
    return `matrix: ${finished.length}/${total} done, ${failed} failed, ${skipped} skipped, ${running.size} running; elapsed ${fmt(elapsed)}, ETA ${left === 0 ? '0s' : eta}`;
  };
  const clear = (): void => {
    if (drawn > 0) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = (): void => {
    clear();
    const lines = [header(), ...[...running.values()].map((r) => `  ${r.label}: ${r.phase} ${fmt((Date.now() - r.since) / 1000)}`)];
    const width = process.stderr.columns || 120;
    process.stderr.write(lines.map((l) => l.slice(0, width - 1)).join('\n') + '\n');
    drawn = lines.length;
  };
  const say = (line: string): void => {
    if (tty) clear();
    process.stderr.write(line + '\n');
    if (tty && timer !== undefined) draw();
  };
  return {
    onEvent: (e) => {
      if (e.type === 'kernel') {
        say(e.state === 'start' ? `matrix: kernel ${e.spec} ...` : `matrix: kernel ${e.spec}: ${e.release ?? ''} ready in ${(e.seconds ?? 0).toFixed(1)} s`);
        return;
      }
      if (e.type === 'start') {
        running.set(e.cell.index, { label: e.cell.label, phase: 'setup', since: Date.now() });
        if (tty && timer === undefined) {
          timer = setInterval(draw, 500);
          timer.unref();
        }
        if (!tty) say(`matrix: start ${e.cell.label}`);
        return;
      }
      if (e.type === 'phase') {
        const r = running.get(e.cell.index);
        if (r !== undefined && e.progress.state === 'start') {
          r.phase = e.progress.cycle === undefined ? e.progress.phase : `cycle ${e.progress.cycle} ${e.progress.phase}`;
          r.since = Date.now();
        }
        return;
      }
      running.delete(e.result.index);
      finished.push(e.result);
      const v = e.result.verdict.toUpperCase();
      say(`matrix: ${v.padEnd(8)} ${e.result.label} (${e.result.seconds.toFixed(1)} s)${e.result.why === undefined ? '' : `: ${e.result.why}`}`);
      if (!tty) say(header());
    },
    stop: () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (tty) clear();
    },
    log: (l) => say(`matrix: ${l}`),
  };
}

/** The closing text: the table of cells, then each failure's reason, diff and folder. */
export function matrixText(m: MatrixReport): string {
  const out: string[] = [];
  const s = m.summary;
  out.push(
    `${m.exitCode === 0 ? 'PASS' : 'FAIL'}: ${s.pass} passed, ${s.mismatch} mismatched, ${s.fault} faulted, ${s.skipped} skipped of ${s.cells} cell(s) in ${fmt(m.seconds)} (${m.jobs} at a time)`,
  );
  for (const c of m.cells)
    out.push(`  ${c.verdict.padEnd(8)} ${c.label.padEnd(60)} ${c.seconds.toFixed(1).padStart(6)} s${c.why === undefined ? '' : `  ${c.why}`}`);
  const bad = m.cells.filter((c) => c.verdict === 'mismatch' || c.verdict === 'fault');
  for (const c of bad) {
    out.push('', `== ${c.label}: ${c.why ?? c.verdict}`);
    let diff = '';
    try {
      diff = readFileSync(path.join(c.outDir, 'diff.txt'), 'utf8');
    } catch {
      // faults have no diff: the serial log says more
    }
    if (diff !== '')
      out.push(
        ...diff
          .trimEnd()
          .split('\n')
          .slice(0, 40)
          .map((l) => `   ${l}`),
      );
    // What the host's parser said (a decompression or ECC failure explains a one-sided file).
    try {
      const r = JSON.parse(readFileSync(path.join(c.outDir, 'report.json'), 'utf8')) as { cycles?: { cycle: number; host?: { warnings?: string[] } }[] };
      for (const cy of r.cycles ?? []) for (const w of (cy.host?.warnings ?? []).slice(0, 10)) out.push(`   host warning (cycle ${cy.cycle}): ${w}`);
    } catch {
      // no report: the fault line above is all there is
    }
    out.push(`   logs: ${path.join(c.outDir, 'serial.log')}, report: ${path.join(c.outDir, 'report.json')}`);
  }
  out.push(`  matrix.json, junit.xml and report.html in ${m.outDir}`);
  return out.join('\n') + '\n';
}

/** --dry-run: each cell's command lines (as `run --dry-run` prints them), nothing started or written. */
async function printMatrixDryRun(
  a: MatrixArgs,
  kernels: readonly string[],
  configs: readonly MatrixConfig[],
  scenarios: readonly Scenario[],
  memoryBytes: number,
): Promise<void> {
  const base = path.resolve(a.out ?? path.join(os.tmpdir(), 'ramoops-matrix-<random>'));
  const cells = matrixCells(kernels, configs, scenarios, base);
  const chosen = a.only === undefined ? undefined : onlyCells(cells, a.only);
  const accel: AccelChoice = a.accel === 'kvm' || a.accel === 'tcg' ? a.accel : 'auto';
  const run = { arch: a.arch === 'arm64' ? ('arm64' as const) : ('x86_64' as const), accel };
  for (const cell of cells.filter((c) => chosen === undefined || chosen.has(c.index))) {
    const config = configs.find((c) => c.label === cell.config);
    const scenario = scenarios.find((x) => x.name === cell.scenario);
    if (config === undefined || scenario === undefined) continue;
    const d = await describeRun({
      ...run,
      kernel: cell.kernel,
      ramoopsCmdline: config.ramoopsCmdline,
      extraCmdline: config.extraCmdline,
      ...(config.ramoopsNode === undefined ? {} : { ramoopsNode: config.ramoopsNode }),
      scenario,
      ...(a.cpus === undefined ? {} : { cpus: a.cpus }),
      cycles: a.cycles,
      outDir: cell.outDir,
      memoryBytes,
    });
    process.stdout.write(`cell ${cell.index}: ${cell.label}\n  kernel command line: ${d.kernelCmdline}\n  QEMU command line: ${d.qemuCmdline}\n`);
    for (const n of d.notes) process.stdout.write(`  note: ${n}\n`);
  }
  process.stdout.write('dry run: nothing started\n');
}

export const matrixCommand: CommandModule<object, MatrixArgs> = {
  command: 'matrix',
  describe: 'run kernels x ramoops configurations x scenarios, one verified crash cycle per cell, one VM per core',
  builder: (y: Argv) =>
    kcidbYargs(y)
      .option('kernels', {
        type: 'string',
        array: true,
        default: ['debian'],
        describe: 'kernel specs as for run --kernel: debian, debian-6.12, build:debian-6.1:base,pstore-full,lkdtm, or an image path',
      })
      .option('source', {
        type: 'string',
        array: true,
        describe: 'also build these sources (debian-6.1, debian-6.12, a tree) with --kernel-config and add them to --kernels',
      })
      .option('kernel-config', { type: 'string', describe: 'fragments for --source, comma-separated (default base,pstore-full)' })
      .option('configs', {
        type: 'string',
        array: true,
        default: [''],
        describe: "ramoops configurations: '[LABEL:]WORDS' (e.g. 'lz4-ecc:ramoops.ecc=16 pstore.compress=lz4') or a settings .json file; '' is run's defaults",
      })
      .option('scenarios', {
        type: 'string',
        array: true,
        default: ['panic-sysrq'],
        describe: `built-in names (${builtinScenarioNames().join(', ')}) or scenario .json files`,
      })
      .option('arch', {
        type: 'string',
        choices: ['x86_64', 'arm64'],
        default: 'x86_64',
        describe: 'guest architecture (arm64: configurations become the DT node)',
      })
      .option('jobs', { type: 'number', describe: 'VMs at once (default: one per core)' })
      .option('cpus', { type: 'number', describe: 'guest CPUs per VM (scenarios may ask for more)' })
      .option('cycles', { type: 'number', default: 1, describe: 'crash cycles per cell' })
      .option('chain', {
        type: 'boolean',
        default: true,
        describe:
          'cells with the same kernel and command line share a guest: the boot that reads one cell crashes the next (--no-chain: a fresh guest per cell)',
      })
      .option('accel', { type: 'string', choices: ['auto', 'tcg', 'kvm'], default: 'auto' })
      .option('memory', { type: 'string', default: '512M', describe: 'guest RAM per VM' })
      .option('out', { type: 'string', describe: 'artifacts folder (a cells/ folder per cell, matrix.json, junit.xml); default: a fresh temp folder' })
      .option('json', { type: 'boolean', default: false, describe: 'print matrix.json instead of the table' })
      .option('junit', { type: 'string', describe: 'also copy the JUnit XML here' })
      .option('timeout', {
        type: 'string',
        describe: timeoutHelp('matrix (default: 20 min per cell / jobs + 60 min for kernel builds); phases apply to every cell'),
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: "check the options and print each cell's kernel and QEMU command lines (as `run --dry-run`), start nothing (exit 0)",
      })
      .option('shard', {
        type: 'string',
        describe: "run only shard i of N (e.g. 2/3): the same split on every runner; merge the folders with 'ramoops report merge'",
      })
      .option('only', {
        type: 'string',
        array: true,
        describe: "run only these cells: a cell's number (as in its folder cells/NNN-...) or 'KERNEL / CONFIG / SCENARIO'; each cell's rerun.txt has the line",
      })
      .option('rerun-failed', { type: 'string', describe: 'run only the cells that mismatched or faulted in this earlier --out folder (its matrix.json)' })
      .epilog(
        'Kernels are obtained (and built) once each before any VM starts. A cell is skipped (not failed) when the guest lacks what its scenario requires (e.g. LKDTM on a stock kernel).\n' +
          'Exit codes: 0 every cell passed or was skipped; 1 a mismatch; 2 a fault or bad options; 130/143 interrupted.',
      ),
  handler: async (a) => {
    if (a.out !== undefined) checkOutDir('--out', a.out);
    checkKcidbArgs(a);
    const kernels = matrixKernels(a);
    const configs = a.configs.map((c) => matrixConfig(c, a.arch));
    for (const c of configs) for (const n of c.notes ?? []) process.stderr.write(`ramoops matrix: note: configuration ${c.label}: ${n}\n`);
    const scenarios = checkedScenarios(a, configs);
    const memoryBytes = parseSize('--memory', a.memory);
    const timeout = parseTimeout(a.timeout);
    const shard = a.shard === undefined ? { index: 1, count: 1 } : parseShard(a.shard);
    if (a['dry-run']) {
      await printMatrixDryRun(a, kernels, configs, scenarios, memoryBytes);
      return;
    }
    const out = prepareOutDir(a.out ?? mkdtempSync(path.join(os.tmpdir(), 'ramoops-matrix-')));
    // What decides the results (not --jobs, --out, --timeout): the matrix's identity for merge and reruns.
    const options: MatrixCommandOptions = {
      kernels,
      configs: a.configs,
      scenarios: a.scenarios,
      arch: a.arch,
      cycles: a.cycles,
      accel: a.accel,
      memory: a.memory,
      ...(a.cpus === undefined ? {} : { cpus: a.cpus }),
    };
    const all = matrixCells(kernels, configs, scenarios, out);
    const id = matrixId({ ...options }, all);
    const split = splitCells(all, shard.count, scenarioCost(scenarios, a.cycles), kernelBuildCost);
    let mine = new Set((split[shard.index - 1] ?? []).map((c) => c.index));
    const keep = (s: ReadonlySet<number>): void => void (mine = new Set([...mine].filter((i) => s.has(i))));
    if (a.only !== undefined) keep(onlyCells(all, a.only));
    if (a['rerun-failed'] !== undefined) keep(failedCells(a['rerun-failed'], all));
    const versions = await toolVersions(a.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64');
    writeShardManifest(out, {
      tool: 'ramoops-harness matrix shard',
      matrixId: id,
      shard,
      options: { ...options },
      matrixCells: all.length,
      cells: all.filter((c) => mine.has(c.index)).map(shardCell),
      versions,
      argv: process.argv.slice(2),
    });
    announceCells(a, {
      out,
      cells: all.length,
      mine: mine.size,
      id,
      qemuRuns: versions.qemu !== undefined,
      shard,
      product: [kernels.length, configs.length, scenarios.length],
    });
    const jobs = a.jobs ?? os.availableParallelism();
    const cells = mine.size;
    const view = progressView(cells, jobs, process.stderr.isTTY === true);
    let report: MatrixReport;
    try {
      report = await withLifetime({ handleSignals: true, timeoutMs: timeout.totalMs ?? (Math.ceil(cells / jobs) * 20 + 60) * 60_000 }, (life) => {
        const run = runMatrix({
          kernels,
          configs,
          scenarios,
          outDir: out,
          arch: a.arch === 'arm64' ? 'arm64' : 'x86_64',
          jobs,
          ...(a.cpus === undefined ? {} : { cpus: a.cpus }),
          cycles: a.cycles,
          chain: a.chain,
          accel: a.accel === 'kvm' || a.accel === 'tcg' ? a.accel : 'auto',
          memoryBytes,
          timeouts: timeout.phases,
          signal: life.signal,
          onEvent: view.onEvent,
          log: view.log,
          only: mine,
          extra: { matrixId: id, shard, versions },
        });
        // On Ctrl-C the process exits after this lifetime closes: let every cell stop its VM first.
        life.defer('matrix cells', () =>
          run.then(
            () => undefined,
            () => undefined,
          ),
        );
        return run;
      });
    } catch (e) {
      view.stop();
      if (e instanceof RunAbortedError) {
        process.stderr.write(`ramoops matrix: ${e.message}; VMs stopped, temp files removed; finished cells are in ${out}/cells\n`);
        process.exitCode = e.exitCode;
        return;
      }
      throw e;
    }
    view.stop();
    writeOutputs(a, report, out, options);
  },
};

/** Says what this process will run (or that it has nothing to run); a runner without QEMU is refused when there is work. */
function announceCells(
  a: MatrixArgs,
  o: {
    readonly out: string;
    readonly cells: number;
    readonly mine: number;
    readonly id: string;
    readonly qemuRuns: boolean;
    readonly shard: { readonly index: number; readonly count: number };
    readonly product: readonly [number, number, number];
  },
): void {
  const what = o.shard.count > 1 ? `shard ${o.shard.index}/${o.shard.count}: ` : '';
  if (o.mine > 0 && !o.qemuRuns) {
    throw new Error(
      `${what}${a.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64'} does not run on this runner, so no cell can run; install QEMU (apt-get install ${a.arch === 'arm64' ? 'qemu-system-arm' : 'qemu-system-x86'}) or run this shard elsewhere`,
    );
  }
  if (o.mine === 0)
    process.stderr.write(
      `ramoops matrix: ${what}no cells to run (of the matrix's ${o.cells}${a['rerun-failed'] === undefined ? '' : `; nothing failed in ${a['rerun-failed']}`}); wrote shard.json and an empty matrix.json in ${o.out}\n`,
    );
  else
    process.stderr.write(
      `ramoops matrix: ${what}${o.product[0]} kernel(s) x ${o.product[1]} configuration(s) x ${o.product[2]} scenario(s) = ${o.cells} cell(s)${o.mine === o.cells ? '' : `, running ${o.mine}`}; matrix ${o.id}; artifacts in ${o.out}\n`,
    );
}

/** The kernels to run: --kernels (the default `debian` dropped when only --source names some), one per --source. */
function matrixKernels(a: MatrixArgs): string[] {
  const kernels = [
    ...a.kernels.filter((k) => !(a.source !== undefined && k === 'debian' && a.kernels.length === 1)),
    ...(a.source ?? []).map((s) =>
      kernelSpecOf({ kernel: 'debian', source: s, ...(a['kernel-config'] === undefined ? {} : { 'kernel-config': a['kernel-config'] }) }),
    ),
  ];
  if (a.source === undefined && a['kernel-config'] !== undefined) throw new Error('--kernel-config needs --source');
  return kernels;
}

/** The scenarios, after what yargs cannot check: unique labels and names, --jobs, --cpus and --cycles in range. */
function checkedScenarios(a: MatrixArgs, configs: readonly MatrixConfig[]): ReturnType<typeof loadScenario>[] {
  const labels = new Set<string>();
  for (const c of configs) {
    if (labels.has(c.label)) throw new Error(`two configurations are labelled ${c.label}: give them labels ('LABEL:WORDS')`);
    labels.add(c.label);
  }
  const scenarios = a.scenarios.map((s) => loadScenario(s));
  const names = new Set(scenarios.map((s) => s.name));
  if (names.size !== scenarios.length) throw new Error('a scenario is named twice');
  if (a.jobs !== undefined && !(Number.isInteger(a.jobs) && a.jobs >= 1)) throw new Error(`--jobs must be a positive integer, got ${a.jobs}`);
  if (a.cpus !== undefined && !(Number.isInteger(a.cpus) && a.cpus >= 1 && a.cpus <= 64)) throw new Error(`--cpus must be an integer 1..64, got ${a.cpus}`);
  if (!Number.isInteger(a.cycles) || a.cycles < 1) throw new Error(`--cycles must be a positive integer, got ${a.cycles}`);
  return scenarios;
}

/** Each cell's rerun.txt, the --junit copy, the text or JSON on stdout, and the exit code. */
function writeOutputs(a: MatrixArgs, report: MatrixReport, out: string, options: MatrixCommandOptions): void {
  for (const c of report.cells) writeConfined(prepareOutDir(c.outDir), 'rerun.txt', new TextEncoder().encode(rerunLine(options, c) + '\n'));
  if (a.junit !== undefined) {
    const file = path.resolve(a.junit);
    writeConfined(prepareOutDir(path.dirname(file)), path.basename(file), readFileSync(path.join(out, 'junit.xml')));
  }
  const kcidb = writeKcidbFile(a, out);
  if (kcidb !== undefined) process.stderr.write(`ramoops matrix: KCIDB results (schema v5.3) in ${kcidb}\n`);
  // An empty shard already said so in one line; --json still prints its (empty) matrix.json.
  if (a.json || report.cells.length > 0) process.stdout.write(a.json ? JSON.stringify(report, null, 2) + '\n' : matrixText(report));
  process.exitCode = report.exitCode;
}
