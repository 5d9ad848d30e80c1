// What a cell's row opens to in the HTML report: its checks, both sides' files side by side with
// the first difference marked, the zone map, ECC notices, the serial log's tail and the timings.
// Read from the cell's artifacts folder; every part is capped so a page of many cells stays small.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configFromCmdline, extractRegion } from '../../../src/index.js';
import { zoneMapSvg } from '../../../src/report/zone-map.js';
import { timingText, type CycleReport, type RunReport } from '../run-report.js';
import { escapeHtml } from './matrix-page.js';

/** Bytes of each side shown around the first difference (or from the start when equal). */
const WINDOW = 1536;
/** Files shown side by side per cycle. */
const MAX_FILES = 3;
const SERIAL_LINES = 40;
const SERIAL_BYTES = 6000;

function readOr(file: string): Uint8Array | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The first offset where a and b differ, or undefined when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}

/** The run's SSH key on the guest's command line, as report.json hides it (pages get shared). */
function redact(s: string): string {
  return s.replace(/rh\.key=\S+/g, 'rh.key=<run key>');
}

/** Printable text of bytes (other bytes as \xNN), escaped. */
function text(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c === 10 || c === 9 || (c >= 32 && c < 127) ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return escapeHtml(redact(s));
}

/** One side's window: the bytes before the difference, the differing byte marked, the rest. */
function side(label: string, bytes: Uint8Array | undefined, at: number | undefined): string {
  if (bytes === undefined) return `<div class="side"><b>${escapeHtml(label)}</b>: absent</div>`;
  const start = at === undefined ? 0 : Math.max(0, at - WINDOW / 2);
  const end = Math.min(bytes.length, start + WINDOW);
  const body =
    at === undefined || at >= bytes.length
      ? text(bytes.subarray(start, end)) + (at !== undefined ? '<mark class="diff">[end of file]</mark>' : '')
      : text(bytes.subarray(start, at)) + `<mark class="diff">${text(bytes.subarray(at, at + 1))}</mark>` + text(bytes.subarray(at + 1, end));
  const cut = `${start > 0 ? `${start} bytes before not shown; ` : ''}${end < bytes.length ? `${bytes.length - end} bytes after not shown` : ''}`;
  return `<div class="side"><b>${escapeHtml(label)}</b> (${bytes.length} bytes)${cut === '' ? '' : ` <i>${escapeHtml(cut)}</i>`}<pre>${body}</pre></div>`;
}

/** The cycle's files: the differing ones first (else the first few), host beside guest. */
function filesHtml(dir: string, c: CycleReport): string {
  const cmp = c.comparison;
  const differing = [...cmp.files.filter((f) => f.status !== 'match').map((f) => f.name), ...cmp.missing, ...cmp.extra];
  const names = (differing.length > 0 ? differing : cmp.files.map((f) => f.name)).slice(0, MAX_FILES);
  const parts = names.map((name) => {
    const host = readOr(path.join(dir, `cycle${c.cycle}-host`, name));
    const guest = readOr(path.join(dir, `cycle${c.cycle}-guest`, name));
    const at = host !== undefined && guest !== undefined ? firstDifference(host, guest) : 0;
    const head = at === undefined ? 'identical' : `first difference at byte ${at}`;
    return `<div class="file" data-file="${escapeHtml(name)}"><h4>${escapeHtml(name)}: ${head}</h4><div class="pair">${side('host', host, at)}${side('guest', guest, at)}</div></div>`;
  });
  const more = (differing.length > 0 ? differing.length : cmp.files.length) - names.length;
  return parts.join('') + (more > 0 ? `<p><i>${more} more file(s) in ${escapeHtml(dir)}</i></p>` : '');
}

/** ECC notices either side appended, per file. */
function eccHtml(c: CycleReport): string {
  const rows = [...c.host.files.map((f) => ['host', f] as const), ...c.guest.files.map((f) => ['guest', f] as const)]
    .filter(([, f]) => f.eccNotice !== undefined)
    .map(([s, f]) => `<li>${s} ${escapeHtml(f.name)}: ${escapeHtml(f.eccNotice ?? '')}</li>`);
  return rows.length === 0 ? '<p>ECC notices: none</p>' : `<p>ECC notices:</p><ul>${rows.join('')}</ul>`;
}

/** The zone map of the cycle's captured region, laid out as the host parsed it. */
function zoneMapHtml(dir: string, r: RunReport, c: CycleReport): string {
  const region = readOr(path.join(dir, `cycle${c.cycle}-region.bin`));
  if (region === undefined) return '';
  try {
    const layout = extractRegion(region, configFromCmdline(r.cmdline, r.kernel.release)).layout;
    return `<div class="zonemap">${zoneMapSvg(layout, [], { title: `cycle ${c.cycle} region` })}</div>`;
  } catch (e) {
    return `<p>zone map: ${escapeHtml(e instanceof Error ? e.message : String(e))}</p>`;
  }
}

/** The end of the newest serial log in the folder, capped, saying what was left out. */
function serialHtml(dir: string): string {
  let logs: string[];
  try {
    logs = readdirSync(dir)
      .filter((f) => f.endsWith('serial.log'))
      .sort();
  } catch {
    return '';
  }
  const name = logs[logs.length - 1];
  if (name === undefined) return '<p>serial log: none</p>';
  const all = new TextDecoder().decode(readFileSync(path.join(dir, name))).split('\n');
  let tail = all.slice(-SERIAL_LINES).join('\n');
  if (tail.length > SERIAL_BYTES) tail = tail.slice(-SERIAL_BYTES);
  const kept = tail.split('\n').length;
  const note = all.length > kept ? ` (last ${kept} of ${all.length} lines; the whole log is ${path.join(dir, name)})` : '';
  return `<h4>serial log ${escapeHtml(name)}${escapeHtml(note)}</h4><pre class="serial">${escapeHtml(redact(tail))}</pre>`;
}

/** The details of one run (a matrix cell or `ramoops run`) from its report and artifacts folder. */
export function cellDetailsHtml(dir: string, r: RunReport | undefined): string {
  if (r === undefined) return `<p>no report; artifacts in ${escapeHtml(dir)}</p>`;
  const out: string[] = [`<p>artifacts: ${escapeHtml(dir)}; timings: ${escapeHtml(timingText(r.timings))}; ${r.seconds.toFixed(1)} s</p>`];
  if (r.fault !== undefined) out.push(`<p class="fault">fault in ${escapeHtml(r.fault.phase)}: ${escapeHtml(r.fault.message)}</p>`);
  if (r.skipped !== undefined) out.push(`<p>skipped: ${escapeHtml(r.skipped)}</p>`);
  for (const c of r.cycles) {
    out.push(`<h3>cycle ${c.cycle}: ${escapeHtml(c.verdict)}${c.reason === undefined ? '' : `: ${escapeHtml(c.reason)}`}</h3>`);
    const checks = c.checks.map(
      (k) => `<li class="${k.ok ? 'ok' : 'bad'}">${k.ok ? 'ok' : 'FAIL'} ${escapeHtml(k.name)}${k.ok ? '' : `: ${escapeHtml(k.detail)}`}</li>`,
    );
    if (checks.length > 0) out.push(`<ul class="checks">${checks.join('')}</ul>`);
    out.push(`<p>timings: ${escapeHtml(timingText(c.timings))}</p>`, filesHtml(dir, c), eccHtml(c));
  }
  const last = r.cycles[r.cycles.length - 1];
  if (last !== undefined) out.push(zoneMapHtml(dir, r, last));
  if (existsSync(dir)) out.push(serialHtml(dir));
  return out.join('');
}
