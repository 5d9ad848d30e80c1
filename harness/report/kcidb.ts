// A matrix's results in KernelCI's KCIDB I/O format, so kernel CI dashboards can read them:
// one checkout and one build per kernel, one test per cell. The schema is kcidb-io's newest,
// v5.3 (kernelci/kcidb-io kcidb_io/schema/v05_03.py at 8971c02; a JSON export of it is
// test/fixtures/kcidb/, where the tests check every document we write against it).
//
// Ids are derived from what the results are about (the matrix id, the cell, the kernel spec),
// never from clocks or paths: the same matrix run unsharded or merged from shards gives the same
// ids, and writing it twice gives the same file. KCIDB keeps one object per id, so a later run
// of the same matrix replaces the earlier one unless `run` names it apart (a CI pipeline id).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MatrixReport } from '../matrix/run.js';
import { maskKeyWords } from '../ssh/keys.js';
import type { RunReport } from './run-report.js';

/** The schema version we write (kcidb_io.schema.V5_3, `LATEST` in kcidb-io 8971c02). */
export const KCIDB_VERSION = { major: 5, minor: 3 } as const;

/** The schema's cap on log_excerpt (UTF-16 units here, code points there: never more). */
export const LOG_EXCERPT_MAX = 16384;

type Status = 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';

export interface KcidbResource {
  readonly name: string;
  readonly url: string;
}

export interface KcidbCheckout {
  readonly id: string;
  readonly origin: string;
  readonly tree_name: string;
  readonly comment: string;
  readonly valid: boolean;
  readonly misc: Readonly<Record<string, unknown>>;
}

export interface KcidbBuild {
  readonly id: string;
  readonly origin: string;
  readonly checkout_id: string;
  readonly architecture: string;
  readonly config_name: string;
  readonly comment: string;
  readonly status: Status;
  readonly misc: Readonly<Record<string, unknown>>;
}

export interface KcidbTest {
  readonly id: string;
  readonly origin: string;
  readonly build_id: string;
  readonly path: string;
  readonly comment: string;
  readonly status: Status;
  readonly duration: number;
  readonly start_time?: string;
  readonly environment: { readonly comment: string; readonly misc: Readonly<Record<string, unknown>> };
  readonly log_url?: string;
  readonly log_excerpt: string;
  readonly output_files: readonly KcidbResource[];
  readonly misc: Readonly<Record<string, unknown>>;
}

export interface KcidbData {
  readonly version: typeof KCIDB_VERSION;
  readonly checkouts: readonly KcidbCheckout[];
  readonly builds: readonly KcidbBuild[];
  readonly tests: readonly KcidbTest[];
}

export interface KcidbOptions {
  /** The submitting CI system's name (KCIDB origin: lowercase letters, digits, `_`). */
  readonly origin: string;
  /** Where the matrix folder is published (its cells/ under it); default its file:// URL. */
  readonly baseUrl?: string;
  /** Keeps this run's test ids apart from other runs of the same matrix (e.g. a CI pipeline id). */
  readonly run?: string;
}

/** A --kcidb-origin, --kcidb-url or --kcidb-run the schema or a URL parser would refuse. */
export class KcidbOptionError extends Error {
  override readonly name = 'KcidbOptionError';
}

/** What a test object takes from a cell's folder (read by cellEvidence, or given by a test). */
export interface CellEvidence {
  readonly report: RunReport | undefined;
  /** The folder's files (not folders), sorted. */
  readonly files: readonly string[];
  readonly diff: string;
  /** The newest serial log's name and text. */
  readonly serial: { readonly name: string; readonly text: string } | undefined;
}

/** Checks the options once, before any work (one line each, naming the flag). */
export function checkKcidbOptions(o: KcidbOptions): void {
  if (!/^[a-z0-9_]+$/.test(o.origin))
    throw new KcidbOptionError(`--kcidb-origin ${o.origin}: KCIDB origins are lowercase letters, digits and _ (e.g. ramoops or my_lab)`);
  if (o.baseUrl !== undefined && !URL.canParse(o.baseUrl))
    throw new KcidbOptionError(
      `--kcidb-url ${o.baseUrl}: not an absolute URL; give where the folder will be served, e.g. https://ci.example.org/artifacts/123/`,
    );
  if (o.run !== undefined && (o.run === '' || o.run.includes('\0')))
    throw new KcidbOptionError(`--kcidb-run: give a non-empty name for this run, e.g. a CI pipeline id`);
}

/** A status the KCIDB way: FAIL the kernel's files were not what it wrote; ERROR the harness did not finish. */
export function kcidbStatus(verdict: RunReport['verdict']): Status {
  return verdict === 'pass' ? 'PASS' : verdict === 'mismatch' ? 'FAIL' : verdict === 'fault' ? 'ERROR' : 'SKIP';
}

/** One path component: the schema allows [a-zA-Z0-9_-] only. */
function pathPart(s: string): string {
  const t = s.replace(/[^A-Za-z0-9_-]+/g, '_');
  return t === '' ? '_' : t;
}

/** `ramoops.<scenario>.<config>`: the scenario first, so a dashboard groups a scenario's configurations. */
export function kcidbPath(scenario: string, config: string): string {
  return `ramoops.${pathPart(scenario)}.${pathPart(config)}`;
}

function hash16(...parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** The schema forbids NUL anywhere; serial consoles send some. Keys are masked as everywhere else. */
function clean(s: string): string {
  return maskKeyWords(s.split('\0').join(''));
}

/** Why, the diff's start, then as much of the serial log's end as fits the schema's cap. */
export function logExcerpt(verdict: string, why: string | undefined, e: CellEvidence): string {
  const head = [`${verdict}${why === undefined ? '' : `: ${why}`}`];
  if (e.diff !== '') head.push(e.diff.trimEnd().split('\n').slice(0, 60).join('\n'));
  let text = clean(head.join('\n')).slice(0, LOG_EXCERPT_MAX / 2);
  if (e.serial !== undefined) {
    const title = `\n--- ${e.serial.name} (end)\n`;
    const room = LOG_EXCERPT_MAX - text.length - title.length;
    const tail = room > 0 ? clean(e.serial.text).slice(-room) : '';
    // Start the tail at a line, not mid-word.
    const nl = tail.indexOf('\n');
    text += title + (tail.length === room && nl >= 0 ? tail.slice(nl + 1) : tail);
  }
  return text.slice(0, LOG_EXCERPT_MAX);
}

/** A cell folder's evidence; a folder that is gone gives an empty one (the test still says its verdict). */
export function cellEvidence(dir: string): CellEvidence {
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .sort();
  } catch {
    return { report: undefined, files: [], diff: '', serial: undefined };
  }
  const read = (f: string): string => (files.includes(f) ? new TextDecoder().decode(readFileSync(path.join(dir, f))) : '');
  let report: RunReport | undefined;
  try {
    report = JSON.parse(read('report.json')) as RunReport;
  } catch {
    report = undefined;
  }
  const serialName = files.filter((f) => f.endsWith('serial.log')).pop();
  return { report, files, diff: read('diff.txt'), serial: serialName === undefined ? undefined : { name: serialName, text: read(serialName) } };
}

function resourceUrl(base: string, cellFolder: string, name: string): string {
  return new URL(`cells/${encodeURIComponent(cellFolder)}/${encodeURIComponent(name)}`, base).href;
}

/** The KCIDB document of a matrix report; `evidence` is each cell's, by cell index. */
export function kcidbData(m: MatrixReport, evidence: ReadonlyMap<number, CellEvidence>, o: KcidbOptions, folder: string = m.outDir): KcidbData {
  checkKcidbOptions(o);
  const base = o.baseUrl === undefined ? pathToFileURL(path.resolve(folder) + path.sep).href : o.baseUrl.endsWith('/') ? o.baseUrl : `${o.baseUrl}/`;
  const matrixId = (m as { matrixId?: unknown }).matrixId;
  const idBase = `${o.origin}:${typeof matrixId === 'string' ? matrixId : hash16(...m.cells.map((c) => c.label))}${o.run === undefined ? '' : `-${o.run}`}`;
  const qemuVersion = (m as { versions?: { qemu?: unknown } }).versions?.qemu;
  const archOf = (spec: string): string => {
    const r = m.cells.map((c) => evidence.get(c.index)?.report).find((x) => x !== undefined && x.kernel.spec === spec);
    return r?.arch ?? 'x86_64';
  };
  const kernelIds = new Map(m.kernels.map((k) => [k.spec, hash16(archOf(k.spec), k.spec, k.release)]));
  const checkouts = m.kernels.map((k): KcidbCheckout => ({
    id: `${o.origin}:checkout-${kernelIds.get(k.spec)!}`,
    origin: o.origin,
    tree_name: treeName(k.spec),
    comment: `kernel ${k.spec}, booting ${k.release}`,
    valid: true,
    misc: { kernel_spec: k.spec, release: k.release },
  }));
  const builds = m.kernels.map((k): KcidbBuild => ({
    id: `${o.origin}:build-${kernelIds.get(k.spec)!}`,
    origin: o.origin,
    checkout_id: `${o.origin}:checkout-${kernelIds.get(k.spec)!}`,
    architecture: archOf(k.spec),
    config_name: configName(k.spec),
    comment: `${k.release} (${k.spec})`,
    status: 'PASS',
    misc: { kernel_spec: k.spec, release: k.release, obtain_seconds: k.seconds },
  }));
  const tests = m.cells.map((c): KcidbTest => {
    const e = evidence.get(c.index) ?? { report: undefined, files: [], diff: '', serial: undefined };
    const folder = path.basename(c.outDir);
    const r = e.report;
    return {
      id: `${idBase}-cell-${c.index + 1}`,
      origin: o.origin,
      build_id: `${o.origin}:build-${kernelIds.get(c.kernel) ?? hash16('x86_64', c.kernel, '')}`,
      path: kcidbPath(c.scenario, c.config),
      comment: c.label,
      status: kcidbStatus(c.verdict),
      duration: c.seconds,
      ...(r === undefined ? {} : { start_time: r.startedAt }),
      environment: {
        comment: r === undefined ? 'QEMU' : `QEMU ${r.qemu.machine}, ${r.qemu.accel.chosen}, ${r.qemu.memoryBytes / 2 ** 20} MiB`,
        misc: {
          ...(typeof qemuVersion === 'string' ? { qemu: qemuVersion } : {}),
          ...(r === undefined ? {} : { accel: r.qemu.accel.chosen, machine: r.qemu.machine }),
        },
      },
      ...(e.serial === undefined ? {} : { log_url: resourceUrl(base, folder, e.serial.name) }),
      log_excerpt: logExcerpt(c.verdict, c.why, e),
      output_files: e.files.map((name) => ({ name, url: resourceUrl(base, folder, name) })),
      misc: {
        cell: c.index + 1,
        kernel_spec: c.kernel,
        config: c.config,
        scenario: c.scenario,
        verdict: c.verdict,
        ...(c.why === undefined ? {} : { why: clean(c.why) }),
        ...(typeof matrixId === 'string' ? { matrix_id: matrixId } : {}),
        folder: `cells/${folder}`,
        ...(r === undefined ? {} : { cmdline: maskKeyWords(r.cmdline) }),
      },
    };
  });
  return { version: KCIDB_VERSION, checkouts, builds, tests };
}

/** `build:debian-6.1:base,...` came from the debian-6.1 tree; the stock kernels from Debian's. */
function treeName(spec: string): string {
  if (spec.startsWith('build:')) return spec.split(':')[1] ?? 'build';
  return spec.startsWith('debian') ? 'debian' : path.basename(spec);
}

function configName(spec: string): string {
  if (spec.startsWith('build:')) return spec.split(':')[2] ?? 'tinyconfig';
  return spec.startsWith('debian') ? `${spec} stock` : 'as given';
}

/** The document of a matrix folder (its matrix.json and cells/, as run or merged, wherever it has moved since). */
export function kcidbOfFolder(folder: string, o: KcidbOptions): KcidbData {
  const m = JSON.parse(readFileSync(path.join(folder, 'matrix.json'), 'utf8')) as MatrixReport;
  const evidence = new Map(m.cells.map((c) => [c.index, cellEvidence(path.join(folder, 'cells', path.basename(c.outDir)))] as const));
  return kcidbData(m, evidence, o, folder);
}

/** The folder's KCIDB document as the file --kcidb writes: JSON, 2-space indented, newline-terminated. */
export function kcidbJson(folder: string, o: KcidbOptions): string {
  return JSON.stringify(kcidbOfFolder(folder, o), null, 2) + '\n';
}
