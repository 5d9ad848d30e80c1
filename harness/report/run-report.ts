// What one `ramoops run` found, as plain data (report.json is this object), and the two views
// of it for other readers: JUnit XML for CI and a short verdict for a person. Pure: cycle.ts
// builds the values, the CLI and cycle.ts write them.

import type { Comparison } from '../cycle/compare.js';
import { formatComparison } from '../cycle/compare.js';
import type { HarnessStage } from '../errors.js';
import type { Check } from '../cycle/scenario.js';
import { failedSteps, type KselftestReport } from '../cycle/selftests.js';
import { junitDocument, xmlEscape, type JunitCase } from '../../src/index.js';

/** The steps of a run, in order; timings and faults name them. */
export type Phase = 'setup' | 'boot' | 'crash' | 'capture' | 'reboot' | 'ssh' | 'compare';

/** Seconds spent per phase (only the phases that ran). */
export type PhaseTimes = { readonly [P in Phase]?: number };

/** One side's view of a file, without its bytes (those are in the artifacts folder). */
export interface FileSummary {
  readonly name: string;
  /** What stat reports (guest) or what the kernel would report (host). */
  readonly size: number;
  /** How many bytes a read returns. */
  readonly length: number;
  /** Seconds; the record time for dmesg on the host side, stat's %Y on the guest side. */
  readonly mtime: number | undefined;
  /** The ECC line the kernel appends ("5 Corrected bytes, 0 unrecoverable blocks", "No errors detected"). */
  readonly eccNotice: string | undefined;
  /** Host side: the algorithm the record was decompressed with (dmesg records the kernel compressed). */
  readonly compression?: string;
}

/** One byte of the RAM file changed on purpose between the crash and the reboot. */
export interface CorruptedByte {
  readonly address: number;
  readonly before: number;
  readonly after: number;
}

/** One crash, capture, warm reboot and comparison. */
export interface CycleReport {
  readonly cycle: number;
  /** match: every file equal; mismatch: a difference, or no dmesg record on either side. */
  readonly verdict: 'match' | 'mismatch';
  /** Why the verdict is mismatch when the files alone do not say it. */
  readonly reason: string | undefined;
  /** How the panic was noticed: the pvpanic QMP event or the console line. */
  readonly panicSeenBy: 'qmp' | 'console';
  /** guest-reset: the kernel rebooted and QEMU parked; timeout: it hung and we stopped it. */
  readonly reset: 'guest-reset' | 'timeout';
  /** equal when pmemsave of the region matched the RAM file (checked on the first cycle). */
  readonly pmemsave: 'equal' | 'not-checked';
  readonly corrupted: readonly CorruptedByte[];
  readonly host: {
    readonly files: readonly FileSummary[];
    readonly decisions: readonly string[];
    readonly warnings: readonly string[];
  };
  readonly guest: { readonly files: readonly FileSummary[] };
  readonly comparison: Comparison;
  /** The scenario's steps and expectations, judged (empty for a plain --crash run). */
  readonly checks: readonly Check[];
  readonly timings: PhaseTimes;
}

/** A failure of the harness (not of the parse): where it happened and what the logs said. */
export interface Fault {
  readonly phase: Phase;
  /** The failing component, when the error said it. */
  readonly stage: HarnessStage | undefined;
  readonly message: string;
  /** The end of the guest's serial console. */
  readonly serial: readonly string[];
  /** The end of QEMU's stderr. */
  readonly qemuStderr: readonly string[];
}

/** Everything `ramoops run` reports. */
export interface RunReport {
  readonly tool: 'ramoops-harness run';
  /**
   * pass: every file of every cycle matched and every check held; mismatch: the parse disagreed
   * or a check failed; fault: the harness could not finish; skipped: the guest lacks what the
   * scenario requires (nothing was crashed).
   */
  readonly verdict: 'pass' | 'mismatch' | 'fault' | 'skipped';
  /** 0 pass, 1 mismatch, 2 fault, 3 skipped. */
  readonly exitCode: 0 | 1 | 2 | 3;
  readonly startedAt: string;
  readonly seconds: number;
  readonly kernel: { readonly spec: string; readonly release: string | undefined; readonly path: string | undefined };
  readonly qemu: {
    readonly accel: { readonly chosen: string; readonly reason: string };
    readonly memoryBytes: number;
    readonly machine: string;
    readonly cpus?: number;
    /** How the kernel was started: 'pvh' (vmlinux + qboot), 'bzimage' (SeaBIOS) or 'as-given' (arm64), and why. */
    readonly boot?: { readonly path: string; readonly reason: string };
  };
  /** Set for arm64 runs (x86_64 reports leave it out). */
  readonly arch?: string;
  /** arm64: the /reserved-memory/ramoops node the guest booted with (reg and properties). */
  readonly ramoopsNode?: Readonly<Record<string, number | true>> | undefined;
  /** The guest kernel's command line (the run's SSH key shortened). */
  readonly cmdline: string;
  readonly crash: string;
  /** The scenario run (name and where it came from); `crash` is its panic step. */
  readonly scenario: { readonly name: string; readonly source: string };
  /** Why the run was skipped (the requirement the guest lacks). */
  readonly skipped: string | undefined;
  readonly cyclesRequested: number;
  /** Timings of the first boot, before any cycle. */
  readonly timings: PhaseTimes;
  readonly cycles: readonly CycleReport[];
  /** RAMOOPS-HARNESS-ERROR lines the guest printed, per boot. */
  readonly guestErrors: readonly string[];
  readonly fault: Fault | undefined;
  /**
   * A chained cell (matrix): its position in the chain of cells that shared one guest, and the
   * folder with that guest's whole serial log. Cell 1 booted the guest; a later cell crashed the
   * boot that read the cell before it, after erasing that cell's records.
   */
  readonly chain?: { readonly position: number; readonly of: number; readonly qemuLogs: string };
  /** The kernel selftests a scenario ran, with their TAP (also selftests.tap); each is a check of its cycle too. */
  readonly selftests?: KselftestReport;
  readonly outDir: string;
}

/** The verdict and exit code a set of cycles and a fault give. */
export function overallVerdict(cycles: readonly CycleReport[], fault: Fault | undefined, skipped?: string): Pick<RunReport, 'verdict' | 'exitCode'> {
  if (fault !== undefined) return { verdict: 'fault', exitCode: 2 };
  if (skipped !== undefined) return { verdict: 'skipped', exitCode: 3 };
  if (cycles.some((c) => c.verdict !== 'match')) return { verdict: 'mismatch', exitCode: 1 };
  return { verdict: 'pass', exitCode: 0 };
}

/** report.json's text. */
export function reportJson(r: RunReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** The parts of the report a person reads first: the verdict, per-cycle files, timings, where to look. */
export function verdictText(r: RunReport): string {
  const out: string[] = [];
  const files = r.cycles.reduce((n, c) => n + c.comparison.files.length, 0);
  const matched = r.cycles.reduce((n, c) => n + c.comparison.files.filter((f) => f.status === 'match').length, 0);
  const kernel = r.kernel.release ?? r.kernel.spec;
  if (r.verdict === 'pass') {
    out.push(`PASS: ${r.cycles.length} cycle(s) with kernel ${kernel}: ${matched}/${files} file(s) equal to the guest's /sys/fs/pstore byte for byte`);
  } else if (r.verdict === 'mismatch' && matched === files && r.cycles.every((c) => c.reason === undefined)) {
    // Both sides agree; what failed is a scenario step, an expectation or a selftest.
    const failed = r.cycles.reduce((n, c) => n + c.checks.filter((k) => !k.ok).length, 0);
    out.push(
      `FAIL: ${failed} check(s) failed in ${r.cycles.length} cycle(s) with kernel ${kernel} (${matched}/${files} file(s) equal to the guest's byte for byte); see ${r.outDir}/diff.txt`,
    );
  } else if (r.verdict === 'mismatch') {
    out.push(`MISMATCH: ${matched}/${files} file(s) matched in ${r.cycles.length} cycle(s) with kernel ${kernel}; see ${r.outDir}/diff.txt`);
  } else if (r.verdict === 'skipped') {
    out.push(`SKIPPED: scenario ${r.scenario.name} with kernel ${kernel}: ${r.skipped ?? ''}`);
  } else if (r.fault !== undefined) {
    out.push(`FAULT in phase ${r.fault.phase}${r.fault.stage === undefined ? '' : ` (${r.fault.stage})`}: ${r.fault.message.split('\n')[0] ?? ''}`);
  }
  for (const c of r.cycles) {
    out.push(
      `  cycle ${c.cycle}: ${c.verdict}${c.reason === undefined ? '' : ` (${c.reason})`}; panic seen by ${c.panicSeenBy}, reset: ${c.reset}${c.corrupted.length > 0 ? `, ${c.corrupted.length} byte(s) corrupted` : ''}`,
    );
    for (const f of c.comparison.files) {
      const h = c.host.files.find((x) => x.name === f.name);
      const g = c.guest.files.find((x) => x.name === f.name);
      const size = h?.size ?? g?.size ?? 0;
      const ecc = h?.eccNotice ?? g?.eccNotice;
      out.push(`    ${f.name.padEnd(26)} ${String(size).padStart(7)} bytes  ${f.status}${ecc === undefined ? '' : `  [${ecc}]`}`);
    }
    for (const k of c.checks) out.push(`    ${k.ok ? 'ok  ' : 'FAIL'} ${k.name}: ${k.detail}`);
    out.push(`    ${timingText(c.timings)}`);
  }
  if (r.fault !== undefined) {
    const rest = r.fault.message.split('\n').slice(1);
    if (rest.length > 0) out.push(...rest.map((l) => `  ${l}`));
    else if (r.fault.serial.length > 0) {
      out.push(`  --- serial console (last ${r.fault.serial.length} lines) ---`, ...r.fault.serial.map((l) => `  ${l}`));
    }
    if (rest.length === 0 && r.fault.qemuStderr.length > 0) {
      out.push(`  --- QEMU stderr (last ${r.fault.qemuStderr.length} lines) ---`, ...r.fault.qemuStderr.map((l) => `  ${l}`));
    }
  }
  if (r.selftests !== undefined) {
    // The TAP's result lines, each failed one with the steps its script reported as FAIL.
    out.push(`  kernel selftests (${r.selftests.source}), TAP in selftests.tap:`);
    for (const t of r.selftests.tap.split('\n')) {
      if (/^(ok|not ok|1\.\.)/.test(t)) out.push(`    ${t}`);
    }
    for (const x of r.selftests.results.filter((x) => x.result === 'not ok')) {
      for (const l of [...failedSteps(x.output), ...(x.note === undefined ? [] : [x.note])]) out.push(`      ${x.test}: ${l}`);
    }
  }
  const first = timingText(r.timings);
  if (first !== '') out.push(`  first boot: ${first}`);
  out.push(`  artifacts: ${r.outDir}`);
  return out.join('\n') + '\n';
}

/** `boot 4.51 s, ssh 0.17 s` in phase order. */
export function timingText(t: PhaseTimes): string {
  const order: readonly Phase[] = ['setup', 'boot', 'crash', 'capture', 'reboot', 'ssh', 'compare'];
  return order
    .filter((p) => t[p] !== undefined)
    .map((p) => `${p} ${(t[p] ?? 0).toFixed(2)} s`)
    .join(', ');
}

/** Every cycle's differences as text (diff.txt). */
export function diffText(r: RunReport): string {
  return r.cycles
    .filter((c) => c.verdict !== 'match')
    .map((c) => {
      const failed = c.checks.filter((k) => !k.ok).map((k) => `check failed: ${k.name}: ${k.detail}\n`);
      return `== cycle ${c.cycle}${c.reason === undefined ? '' : `: ${c.reason}`}\n${failed.join('')}${formatComparison(c.comparison)}`;
    })
    .join('\n');
}

/** The one XML escape (src/report/junit.ts), exported here for the harness's other XML. */
export { xmlEscape };

/**
 * JUnit XML: one testcase per file per cycle (failure when it differs), one per cycle that
 * left no record, and one error testcase for a harness fault, so CI shows which record broke.
 */
export function junitXml(r: RunReport): string {
  const classname = `ramoops.run.${(r.kernel.release ?? r.kernel.spec).replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const cases: JunitCase[] = [];
  for (const c of r.cycles) {
    // The cycle's time goes to its first testcase, so the suite's times add up.
    let seconds = Object.values(c.timings).reduce((a: number, b) => a + (b ?? 0), 0);
    const take = (): number => {
      const s = seconds;
      seconds = 0;
      return s;
    };
    if (c.comparison.files.length === 0 || c.reason !== undefined) {
      cases.push({
        name: `cycle ${c.cycle}: record`,
        classname,
        seconds: take(),
        ...(c.verdict === 'match' ? {} : { failure: { message: c.reason ?? 'no files', body: formatComparison(c.comparison) } }),
      });
    }
    for (const f of c.comparison.files) {
      const one: Comparison = { matched: f.status === 'match', files: [f], missing: [], extra: [] };
      cases.push({
        name: `cycle ${c.cycle}: ${f.name}`,
        classname,
        seconds: take(),
        ...(f.status === 'match' ? {} : { failure: { message: `${f.name} ${f.status}`, body: formatComparison(one) } }),
      });
    }
  }
  for (const c of r.cycles) {
    for (const k of c.checks) {
      cases.push({
        name: `cycle ${c.cycle}: ${k.name}`,
        classname,
        seconds: 0,
        ...(k.ok ? {} : { failure: { message: `${k.name}: ${k.detail}`, body: k.detail } }),
      });
    }
  }
  if (r.skipped !== undefined) cases.push({ name: `scenario ${r.scenario.name}`, classname, seconds: 0, skipped: r.skipped });
  if (r.fault !== undefined) {
    const body = [r.fault.message, '--- serial ---', ...r.fault.serial, '--- QEMU stderr ---', ...r.fault.qemuStderr].join('\n');
    cases.push({ name: `harness: ${r.fault.phase}`, classname, seconds: 0, error: { message: r.fault.message.split('\n')[0] ?? '', body } });
  }
  return junitDocument({
    seconds: r.seconds,
    suites: [{ name: `ramoops run (${r.kernel.release ?? r.kernel.spec})`, seconds: r.seconds, timestamp: r.startedAt, cases, out: verdictText(r) }],
    style: { skippedCounts: 'suites', emptyCase: 'self-closing' },
  });
}
