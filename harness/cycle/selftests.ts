// The kernel's own selftests through the harness (the `selftests` scenario): the scripts of
// tools/testing/selftests/<collection> from the source of the booted kernel are copied into the
// run's 9p share (they keep their state beside themselves, and the share survives the warm
// reboot), the scenario's commands run them with guest/kselftest-run, which leaves each exit
// status and output in <collection>/.kselftest/ on the share, and this module turns those into
// kselftest-style TAP and into checks of the run. A test that was running when the guest
// panicked (pstore_crash_test) passes when the panic came.

import { readFileSync, rmSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { DEBIAN_SOURCES, debianSourceDir, parseBuildSpec, type DebianSource } from '../kernel/build.js';
import { maskKeyWords } from '../ssh/keys.js';
import type { Check, KselftestAdaptation, KselftestSpec } from './scenario.js';

/** The 9p mount tag of the run's share; guest/init mounts it on /rh-share (kernel word rh.share=). */
export const SHARE_TAG = 'rhshare';

/** kselftest's exit status for a skipped test (tools/testing/selftests/kselftest.h KSFT_SKIP). */
export const KSFT_SKIP = 4;

/** One test's outcome in one cycle. */
export interface KselftestResult {
  /** The TAP test number (1-based, across cycles). */
  readonly number: number;
  readonly cycle: number;
  readonly test: string;
  readonly result: 'ok' | 'not ok' | 'skip';
  /** The script's exit status; undefined when it did not exit (it crashed the guest, or never ran). */
  readonly exitCode: number | undefined;
  /** Why, when the exit status does not say it ("the guest panicked while it ran", "did not run"). */
  readonly note: string | undefined;
  /** What the script printed (stdout and stderr). */
  readonly output: string;
}

/** An adaptation as applied to the copied script. */
export interface AppliedAdaptation extends KselftestAdaptation {
  /** Places replaced; 0 when the script no longer holds the text (it ran as shipped). */
  readonly places: number;
}

/** What report.json says about the selftests. */
export interface KselftestReport {
  readonly collection: string;
  /** The kernel tree the scripts came from. */
  readonly source: string;
  /** The host folder shared into the guest. */
  readonly share: string;
  readonly results: readonly KselftestResult[];
  /** The scenario's edits to the shipped scripts; none means every script ran as shipped. */
  readonly adaptations: readonly AppliedAdaptation[];
  /** The TAP text (also selftests.tap in the artifacts). */
  readonly tap: string;
  readonly passed: boolean;
}

/**
 * The kernel tree whose selftests match the booted kernel: a build's own source (a tree, or the
 * Debian source package it was built from), else Debian's linux-source of the release's
 * major.minor (6.1 for 6.1.0-NN-amd64, 6.12 for 6.12.NN+deb12-amd64).
 */
export async function selftestSourceTree(
  kernelSpec: string,
  release: string,
  opts: { cacheDir?: string | undefined; signal?: AbortSignal; log?: ((line: string) => void) | undefined } = {},
): Promise<string> {
  const build = parseBuildSpec(kernelSpec);
  const debian = (src: DebianSource): Promise<string> => debianSourceDir(src, { cacheDir: opts.cacheDir, signal: opts.signal, log: opts.log });
  if (build !== undefined) return Object.hasOwn(DEBIAN_SOURCES, build.source) ? debian(build.source as DebianSource) : path.resolve(build.source);
  const mm = /^(\d+\.\d+)[.-]/.exec(release)?.[1];
  const src = `debian-${mm ?? ''}`;
  if (mm !== undefined && Object.hasOwn(DEBIAN_SOURCES, src)) return debian(src as DebianSource);
  throw new HarnessError(
    'kernel',
    `no kernel source known for release ${release}: the selftests come from the booted kernel's own source (${Object.keys(DEBIAN_SOURCES).join(', ')}, or a kernel built with --source DIR)`,
  );
}

/** How the TAP and the checks name an adaptation. */
export function describeAdaptation(a: AppliedAdaptation): string {
  const what = a.places === 0 ? 'not needed: the script no longer holds' : `replaced ${a.places} x`;
  return `adapted ${a.file}: ${what} ${JSON.stringify(a.replace)}${a.places === 0 ? '' : ` with ${JSON.stringify(a.with)}`} (${a.why})`;
}

/**
 * kselftest's TAP for a list of results: a header (with any adaptation of the shipped scripts, so
 * the TAP never passes for a modified test silently), then per test its output as `# ` lines and
 * the result line.
 */
export function kselftestTap(collection: string, results: readonly KselftestResult[], adaptations: readonly AppliedAdaptation[] = []): string {
  const lines = ['TAP version 13', `1..${results.length}`];
  for (const a of adaptations) lines.push(`# ${describeAdaptation(a)}`);
  const multi = results.some((r) => r.cycle > 1);
  for (const r of results) {
    const name = `selftests: ${collection}: ${r.test}${multi ? ` (cycle ${r.cycle})` : ''}`;
    lines.push(`# ${name}`);
    for (const l of r.output.replace(/\n$/, '').split('\n')) if (r.output !== '') lines.push(`# ${l}`.trimEnd());
    if (r.note !== undefined) lines.push(`# ${r.note}`);
    if (r.result === 'ok') lines.push(`ok ${r.number} ${name}`);
    else if (r.result === 'skip') lines.push(`ok ${r.number} ${name} # SKIP`);
    else lines.push(`not ok ${r.number} ${name}${r.exitCode === undefined ? '' : ` # exit=${r.exitCode}`}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The selftests of one run: the scripts copied into the share at setup, each cycle's results
 * read from the share once the cycle's commands are done.
 */
export class KselftestRun {
  private readonly results: KselftestResult[] = [];
  private readonly panics = new Set<number>();
  private readonly done = new Set<number>();
  private readonly adaptations: AppliedAdaptation[] = [];

  private constructor(
    readonly spec: KselftestSpec,
    /** The tree the scripts came from. */
    readonly source: string,
    readonly share: string,
  ) {}

  /** The collection's folder on the host side of the share. */
  get dir(): string {
    return path.join(this.share, this.spec.collection);
  }

  /**
   * Copies tools/testing/selftests/<collection> of `source` into <share>/<collection>, replacing
   * whatever an earlier run left there (a stale reboot_flag or uuid would change the results).
   */
  static async prepare(spec: KselftestSpec, source: string, share: string): Promise<KselftestRun> {
    const run = new KselftestRun(spec, source, share);
    const from = path.join(source, 'tools', 'testing', 'selftests', spec.collection);
    let names: string[];
    try {
      names = (await readdir(from, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    } catch {
      throw new HarnessError('kernel', `the kernel source ${source} has no selftests folder tools/testing/selftests/${spec.collection}`);
    }
    const lacking = spec.tests.filter((t) => !names.includes(t));
    if (lacking.length > 0) throw new HarnessError('kernel', `${from} lacks ${lacking.join(', ')}`);
    await rm(run.dir, { recursive: true, force: true });
    await mkdir(run.dir, { recursive: true });
    for (const n of names) {
      await copyFile(path.join(from, n), path.join(run.dir, n));
      await chmod(path.join(run.dir, n), (await stat(path.join(from, n))).mode & 0o777);
    }
    for (const a of spec.adapt) run.adaptations.push(await adapt(run.dir, names, a, from));
    return run;
  }

  /** The guest panicked during cycle `n`'s crash step. */
  panicked(n: number): void {
    this.panics.add(n);
  }

  /** Reads cycle `n`'s results from the share (after its last command) and returns them as checks. */
  cycleDone(n: number): Check[] {
    const results = this.read(n);
    this.done.add(n);
    this.results.push(...results);
    // The next cycle's results must not be mistaken for these (a fault half way through it).
    rmSync(path.join(this.dir, '.kselftest'), { recursive: true, force: true });
    return results.map((r) => {
      const steps = failedSteps(r.output);
      const status = r.exitCode === undefined ? (r.note ?? 'no exit status') : `exit ${r.exitCode}`;
      const base = r.result === 'not ok' && steps.length > 0 ? `${status}: ${steps.join('; ')}` : r.result === 'skip' ? `${status} (SKIP)` : status;
      const edits = this.adaptations.filter((a) => a.file === r.test && a.places > 0).map(describeAdaptation);
      const detail = edits.length === 0 ? base : `${base}; ${edits.join('; ')}`;
      return { name: `selftests: ${this.spec.collection}: ${r.test}`, ok: r.result !== 'not ok', detail };
    });
  }

  /**
   * The report: every finished cycle, plus what the share shows of an unfinished one (a run that
   * faulted half way still says which tests ran and how). Synchronous: the run's report is
   * written on the way out of a Ctrl-C.
   */
  report(lastCycle: number | undefined, skipped?: string): KselftestReport {
    const all = [...this.results];
    if (lastCycle !== undefined && lastCycle > 0 && !this.done.has(lastCycle)) all.push(...this.read(lastCycle));
    if (all.length === 0 && skipped !== undefined) {
      // A run skipped for a missing requirement runs nothing: each test is a SKIP, with the reason.
      for (const test of this.spec.tests) all.push({ number: 0, cycle: 1, test, result: 'skip', exitCode: undefined, note: skipped, output: '' });
    }
    const numbered = all.map((r, i) => ({ ...r, number: i + 1 }));
    return {
      collection: this.spec.collection,
      source: path.join(this.source, 'tools', 'testing', 'selftests', this.spec.collection),
      share: this.share,
      results: numbered,
      adaptations: [...this.adaptations],
      tap: kselftestTap(this.spec.collection, numbered, this.adaptations),
      passed: numbered.length > 0 && numbered.every((r) => r.result !== 'not ok'),
    };
  }

  private read(n: number): KselftestResult[] {
    const res = path.join(this.dir, '.kselftest');
    const text = (f: string): string | undefined => {
      try {
        // The scripts print /proc/cmdline; the run's key words are shortened as in report.json.
        return maskKeyWords(readFileSync(path.join(res, f), 'utf8'));
      } catch {
        return undefined;
      }
    };
    const out: KselftestResult[] = [];
    for (const test of this.spec.tests) {
      const rcText = text(`${test}.rc`);
      const output = text(`${test}.out`);
      const base = { number: this.results.length + out.length + 1, cycle: n, test, output: output ?? '' };
      if (rcText !== undefined && /^\d+\s*$/.test(rcText)) {
        const exitCode = Number.parseInt(rcText, 10);
        out.push({ ...base, exitCode, result: exitCode === 0 ? 'ok' : exitCode === KSFT_SKIP ? 'skip' : 'not ok', note: undefined });
      } else if (output !== undefined && this.panics.has(n)) {
        out.push({ ...base, exitCode: undefined, result: 'ok', note: 'the guest panicked while it ran, as the test intends' });
      } else {
        out.push({ ...base, exitCode: undefined, result: 'not ok', note: output === undefined ? 'did not run' : 'no exit status: the test never finished' });
      }
    }
    return out;
  }
}

/** Applies one adaptation to the copy in `dir` (never to the kernel tree `from`). */
async function adapt(dir: string, names: readonly string[], a: KselftestAdaptation, from: string): Promise<AppliedAdaptation> {
  if (!names.includes(a.file)) throw new HarnessError('kernel', `the scenario adapts ${a.file}, which ${from} does not have`);
  const file = path.join(dir, a.file);
  const text = await readFile(file, 'latin1');
  const parts = text.split(a.replace);
  if (parts.length > 1) await writeFile(file, parts.join(a.with), 'latin1');
  return { ...a, places: parts.length - 1 };
}

/**
 * The lines of a selftest's output that report a failed step ("... FAIL", "Error: ..."). A bare
 * "FAIL" line is joined to the line before it (the scripts print "Checking X ... " without a
 * newline, and a command's error message can end that line before the verdict); an indented
 * per-file line gets the step it belongs to ("Checking X: dmesg-ramoops-0 ... FAIL").
 */
export function failedSteps(output: string): string[] {
  const raw = output.split('\n');
  let step = '';
  return raw.flatMap((r, i) => {
    const l = r.trim();
    const indented = /^\s/.test(r);
    if (!indented && l !== '' && l !== 'FAIL') step = l.replace(/\s*\.\.\.\s*$/, '');
    if (!/\bFAIL\b|^Error:/.test(l)) return [];
    const prev = raw[i - 1]?.trim();
    if (l === 'FAIL' && prev !== undefined && prev !== '') return [`${prev} FAIL`];
    return [indented && step !== '' ? `${step}: ${l}` : l];
  });
}
