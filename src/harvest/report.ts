// The harvest's result as values, and its three renderings: lines for a terminal, JSON, and
// JUnit XML with one testcase per crash (CI shows each crash as its own row).

import type { EraseReport } from './erase.js';
import type { HarvestContext } from './manifest.js';
import { junitDocument, type JunitCase } from '../report/junit.js';

/** Kept here for the harvest API; the one escape is the JUnit writer's. */
export { xmlEscape } from '../report/junit.js';

/** One crash (or boot-log folder) of a harvest. */
export interface CrashReport {
  readonly name: string;
  readonly kind: 'crash' | 'logs';
  /** `archived` now, or `already archived` by an earlier harvest (the same record). */
  readonly status: 'archived' | 'already archived';
  /** The folder. */
  readonly path: string;
  readonly reason: string | null;
  readonly counter: number | null;
  readonly time: string;
  readonly summary: string | null;
  readonly headline: string | null;
  readonly cause: string | null;
  readonly frames: readonly string[];
  /** dmesg parts of the dump. */
  readonly files: readonly string[];
  /** Boot logs written beside it by this harvest. */
  readonly bootLogs: readonly string[];
  /** Worst ECC notice of its parts, null when none had errors or no ECC. */
  readonly ecc: string | null;
  readonly unrecoverableBlocks: number;
}

/** Everything a harvest did. */
export interface HarvestReport {
  readonly tool: 'ramoops-harness harvest';
  readonly target: string;
  readonly outDir: string;
  readonly manifest: string;
  readonly seconds: number;
  readonly context: HarvestContext;
  /** Files listed in the pstore folder. */
  readonly files: readonly { readonly name: string; readonly size: number; readonly mtime: number }[];
  readonly crashes: readonly CrashReport[];
  /** Boot logs identical to an archived copy (not written again). */
  readonly bootLogsAlreadyArchived: readonly string[];
  /** Names that are not pstore's: not read, not archived, not erased. */
  readonly refused: readonly string[];
  readonly erase: EraseReport | null;
  readonly warnings: readonly string[];
}

/** Exit status of `ramoops harvest` for a finished harvest: 0, or 1 when erase left files or names were refused. */
export function harvestExitCode(r: HarvestReport): 0 | 1 {
  if (r.refused.length > 0) return 1;
  if (r.erase !== null && (r.erase.remaining.length > 0 || r.erase.kept.length > 0)) return 1;
  return 0;
}

/** The terminal report: one line per crash, the logs beside it, counts, the erase result. */
export function harvestText(r: HarvestReport): string {
  const c = r.context;
  const who = [c.hostname, c.kernelRelease, c.bootId === null ? null : `boot ${c.bootId}`].filter((x) => x !== null).join(', ');
  const lines: string[] = [`harvested ${r.target}${who === '' ? '' : ` (${who})`} into ${r.outDir}`];
  if (c.pstoreMountedByHarvest) lines.push('  (pstore was not mounted: mounted it on /sys/fs/pstore)');
  for (const k of r.crashes) {
    const tag = k.status === 'archived' ? 'NEW ' : 'SEEN';
    if (k.kind === 'logs') {
      lines.push(`  ${tag} ${k.name}  boot logs without a new crash: ${k.bootLogs.join(', ')}`);
      continue;
    }
    lines.push(`  ${tag} ${k.name}  ${k.summary ?? ''}${k.status === 'already archived' ? '  (already archived)' : ''}`);
    if (k.bootLogs.length > 0) lines.push(`       beside it: ${k.bootLogs.join(', ')}`);
  }
  if (r.bootLogsAlreadyArchived.length > 0) lines.push(`  boot logs already archived: ${r.bootLogsAlreadyArchived.join(', ')}`);
  for (const n of r.refused) lines.push(`  REFUSED ${JSON.stringify(n)}: not a pstore file name; not read, not archived`);
  const crashes = r.crashes.filter((k) => k.kind === 'crash');
  const fresh = crashes.filter((k) => k.status === 'archived').length;
  lines.push(
    r.files.length === 0
      ? 'pstore is empty: nothing to harvest'
      : `${crashes.length} crash(es): ${fresh} archived, ${crashes.length - fresh} already archived; ${r.files.length} file(s) read; manifest ${r.manifest}`,
  );
  if (r.erase !== null) {
    const e = r.erase;
    lines.push(
      `erase: ${e.unlinked.length} file(s) unlinked` +
        (e.zonesCleared.length > 0 ? `; zones the kernel reset: ${e.zonesCleared.join(', ')}` : '') +
        (e.remaining.length === 0 ? '; pstore is empty now' : `; STILL PRESENT: ${e.remaining.join(', ')}`),
    );
    for (const k of e.kept) lines.push(`  kept ${k.file}: ${k.why}`);
    for (const n of e.notes) lines.push(`  note: ${n}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

/** JSON of the report (stable key order as built). */
export function harvestJson(r: HarvestReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** JUnit XML: a testcase per crash (failing when a part has unrecoverable ECC blocks), one for the erase. */
export function harvestJunit(r: HarvestReport): string {
  const classname = `ramoops.harvest.${safeClass(r.context.hostname ?? r.target)}`;
  const cases: JunitCase[] = [];
  for (const k of r.crashes) {
    if (k.kind !== 'crash') continue;
    cases.push({
      name: `${k.name}${k.headline === null ? '' : `: ${k.headline}`}`,
      classname,
      seconds: 0,
      out: k.summary ?? '',
      ...(k.unrecoverableBlocks > 0 ? { failure: { message: `record damaged: ${k.ecc ?? ''}`, body: k.summary ?? '' } } : {}),
    });
  }
  if (cases.length === 0) cases.push({ name: 'pstore: no crash records', classname, seconds: 0, out: `${r.files.length} file(s) read` });
  if (r.erase !== null) {
    const bad = [...r.erase.remaining, ...r.erase.kept.map((k) => `${k.file} (${k.why})`)];
    cases.push({
      name: 'erase',
      classname,
      seconds: 0,
      out: `unlinked: ${r.erase.unlinked.join(', ')}; zones reset: ${r.erase.zonesCleared.join(', ')}`,
      ...(bad.length > 0 ? { failure: { message: 'files remain in pstore after erase', body: bad.join('\n') } } : {}),
    });
  }
  return junitOf(`ramoops harvest ${r.target}`, r.seconds, cases);
}

/** JUnit XML for a harvest that could not run (machine down, key refused, no pstore). */
export function harvestErrorJunit(target: string, message: string, seconds: number): string {
  return junitOf(`ramoops harvest ${target}`, seconds, [
    { name: 'harvest', classname: `ramoops.harvest.${safeClass(target)}`, seconds: 0, error: { message: message.split('\n')[0] ?? '', body: message } },
  ]);
}

/** A harvest's cases: no timings of their own, all in one suite. */
function junitOf(suite: string, seconds: number, cases: readonly JunitCase[]): string {
  return junitDocument({ seconds, suites: [{ name: suite, seconds, cases }], style: { skippedCounts: 'none', emptyCase: 'open-close' } });
}

function safeClass(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}
