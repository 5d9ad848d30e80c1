// The harvest's result as values, and its three renderings: lines for a terminal, JSON, and
// JUnit XML with one testcase per crash (CI shows each crash as its own row).

import type { EraseReport } from './erase.js';
import type { HarvestContext } from './manifest.js';

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
      out: k.summary ?? '',
      ...(k.unrecoverableBlocks > 0 ? { failure: { message: `record damaged: ${k.ecc ?? ''}`, body: k.summary ?? '' } } : {}),
    });
  }
  if (cases.length === 0) cases.push({ name: 'pstore: no crash records', classname, out: `${r.files.length} file(s) read` });
  if (r.erase !== null) {
    const bad = [...r.erase.remaining, ...r.erase.kept.map((k) => `${k.file} (${k.why})`)];
    cases.push({
      name: 'erase',
      classname,
      out: `unlinked: ${r.erase.unlinked.join(', ')}; zones reset: ${r.erase.zonesCleared.join(', ')}`,
      ...(bad.length > 0 ? { failure: { message: 'files remain in pstore after erase', body: bad.join('\n') } } : {}),
    });
  }
  return junitDocument(`ramoops harvest ${r.target}`, r.seconds, cases);
}

/** JUnit XML for a harvest that could not run (machine down, key refused, no pstore). */
export function harvestErrorJunit(target: string, message: string, seconds: number): string {
  return junitDocument(`ramoops harvest ${target}`, seconds, [
    { name: 'harvest', classname: `ramoops.harvest.${safeClass(target)}`, out: '', error: { message: message.split('\n')[0] ?? '', body: message } },
  ]);
}

interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly out: string;
  readonly failure?: { readonly message: string; readonly body: string };
  readonly error?: { readonly message: string; readonly body: string };
}

function junitDocument(suite: string, seconds: number, cases: readonly JunitCase[]): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const errors = cases.filter((c) => c.error !== undefined).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds.toFixed(3)}">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" time="0.000">`);
    if (c.failure !== undefined) lines.push(`      <failure message="${xmlEscape(c.failure.message)}">${xmlEscape(c.failure.body)}</failure>`);
    if (c.error !== undefined) lines.push(`      <error message="${xmlEscape(c.error.message)}">${xmlEscape(c.error.body)}</error>`);
    if (c.out !== '') lines.push(`      <system-out>${xmlEscape(c.out)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n') + '\n';
}

function safeClass(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

// XML 1.0 forbids most control characters even escaped; kernel logs can hold any byte.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text safe inside an XML attribute or element. */
export function xmlEscape(s: string): string {
  return s
    .replace(XML_INVALID, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}
