// Harvesting /sys/fs/pstore from a machine (over SSH, or the machine this runs on) into an
// archive that keeps every crash. The order of the steps is the safety argument:
//
//   read    identity (boot id, uname, cmdline, ramoops/pstore parameters), mount pstore if
//           needed, list with size and mtime, read each file whose name pstore could make
//   archive one folder per crash, written under a temp name, fsynced, renamed into place, so
//           a folder is either complete or absent; an existing folder (the same record) is
//           never touched; manifest.json rebuilt from every folder's meta.json, temp + rename
//   erase   (optional) only files whose archived copy reads back with the same SHA-256 are
//           unlinked; the folder is listed again to show what the kernel left
//
// File names from the machine are checked against pstore's own shape before they appear in
// any command or path (src/harvest/names.ts); the guest is not trusted to name things.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import {
  analyze,
  buildManifest,
  crashMeta,
  isSafePstoreName,
  logsMeta,
  parseCrashMeta,
  planArchive,
  zonesClearedBy,
  archivedFileKey,
  ARCHIVE_NAME,
  type CrashMeta,
  type CrashReport,
  type EraseReport,
  type HarvestContext,
  type HarvestReport,
  type PlannedFolder,
  type RecordInfo,
} from '../../src/harvest/index.js';
import { prepareOutDir, writeConfined } from '../io/artifacts.js';
import { HarnessError } from '../errors.js';
import { againIfDropped, type ExecResult, type PstoreFile, type SshSession } from '../ssh/session.js';

/** Where pstore is mounted on every Linux system. */
export const PSTORE_DIR = '/sys/fs/pstore';

/** What a harvest needs from an SSH connection (SshSession has it; tests may fake it). */
export type HarvestShell = Pick<SshSession, 'exec'>;

/** Options of harvestSession and harvestLocal. */
export interface HarvestOptions {
  /** The archive root (created). */
  readonly outDir: string;
  /** Unlink the records after they are archived and verified. */
  readonly erase?: boolean;
  /** How the machine is named in the archive and reports (default `ssh` / `local`). */
  readonly host?: string;
  /** Limit of each command on the machine, in milliseconds (default 60 s). */
  readonly commandTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

/** Extra options of a local harvest. */
export interface LocalHarvestOptions extends HarvestOptions {
  /** The pstore folder (default /sys/fs/pstore); tests point it at a copy. */
  readonly pstoreDir?: string;
  /** Mount pstore when it is not mounted (default: only for /sys/fs/pstore). */
  readonly mount?: boolean;
}

/** A harvest's report, plus the files as read (for callers that compare them, like `ramoops run`). */
export interface Harvest {
  readonly report: HarvestReport;
  /** Every file read, sorted by name, with its bytes (names pstore would not make are not read). */
  readonly files: readonly PstoreFile[];
}

/** One listed file before it is read. */
interface Listed {
  readonly name: string;
  readonly size: number;
  readonly mtime: { readonly seconds: number; readonly nsec: number };
}

/** The operations a harvest performs on a machine, over SSH or locally. */
interface PstoreAccess {
  /** What identifies the machine, its boot and configuration. */
  context(): Promise<Omit<HarvestContext, 'harvestedAt' | 'host' | 'pstoreMountedByHarvest'>>;
  /** Mounts pstore if needed; true when this call mounted it. Throws when the machine has no pstore. */
  ensureMounted(): Promise<boolean>;
  /** Lists the folder; names are NOT checked yet. */
  list(): Promise<{ readonly listed: readonly Listed[]; readonly unparsable: readonly string[] }>;
  /** Reads one file; `name` has passed isSafePstoreName. */
  read(name: string): Promise<Uint8Array>;
  /** Unlinks files (names checked); returns the ones that failed, with why. */
  unlink(names: readonly string[]): Promise<readonly { readonly file: string; readonly why: string }[]>;
}

/** Harvests over an SSH session that is already logged in (as root: pstore is root's). */
export function harvestSession(ssh: HarvestShell, options: HarvestOptions): Promise<Harvest> {
  return harvestFrom(sshAccess(ssh, options), options.host ?? 'ssh', options);
}

/** Harvests the machine this process runs on (root needed to mount pstore and to unlink). */
export function harvestLocal(options: LocalHarvestOptions): Promise<Harvest> {
  const dir = options.pstoreDir ?? PSTORE_DIR;
  return harvestFrom(localAccess(dir, options.mount ?? dir === PSTORE_DIR), options.host ?? 'local', options);
}

/** SHA-256 as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function harvestFrom(access: PstoreAccess, host: string, options: HarvestOptions): Promise<Harvest> {
  const t0 = performance.now();
  const now = options.now ?? (() => new Date());
  const warnings: string[] = [];

  // ---- read
  const identity = await access.context();
  const mounted = await access.ensureMounted();
  const { listed, unparsable } = await access.list();
  const backend = identity.pstoreParameters['backend'];
  const noBackend = backend === undefined || backend === '' || backend === '(null)';
  if (listed.length === 0 && unparsable.length === 0 && noBackend) {
    throw new HarnessError(
      'guest',
      backend === undefined
        ? `pstore shows no records and the kernel says nothing about a pstore backend (no /sys/module/pstore/parameters/backend): no pstore on this machine`
        : `no pstore backend is registered (pstore.backend is ${JSON.stringify(backend)}): ramoops is not loaded or not configured (ramoops.mem_address=, mem_size= or a reserved-memory node)`,
    );
  }
  const refused: string[] = [...unparsable];
  const files: PstoreFile[] = [];
  for (const l of listed) {
    options.signal?.throwIfAborted();
    if (!isSafePstoreName(l.name)) {
      refused.push(l.name);
      continue;
    }
    const bytes = await access.read(l.name);
    files.push({ name: l.name, size: l.size, mtime: l.mtime, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const context: HarvestContext = { ...identity, harvestedAt: now().toISOString(), host, pstoreMountedByHarvest: mounted };

  // ---- archive
  const root = prepareOutDir(options.outDir);
  const analysis = analyze(files, sha256Hex);
  refused.push(...analysis.refused);
  for (const f of files) {
    // ftrace's stat size is its binary length, not the text read (docs/format.md §9).
    if (!f.name.startsWith('ftrace-') && f.size !== f.bytes.length) warnings.push(`${f.name}: stat says ${f.size} bytes, ${f.bytes.length} read`);
  }
  removeStaleTemps(root);
  const before = readArchive(root);
  warnings.push(...before.warnings);
  const plan = planArchive(analysis, before.state, sha256Hex);
  const bytesOf = new Map(files.map((f) => [f.name, f.bytes] as const));
  const crashes: CrashReport[] = [];
  // Where each record's copy is, for the erase check: `<file>:<sha>` -> folder.
  const archivedIn = new Map(before.where);
  for (const folder of plan.folders) {
    let status: CrashReport['status'] = folder.status === 'new' ? 'archived' : 'already archived';
    if (folder.status === 'new') {
      const meta = folder.crash === undefined ? logsMeta(folder.name, folder.logs, context) : crashMeta(folder.crash, folder.logs, context);
      const records = [...(folder.crash?.parts ?? []), ...folder.logs];
      const written = writeFolder(root, folder.name, records, bytesOf, meta);
      // Another harvest into the same archive made the folder first: same record, same content.
      if (!written) status = 'already archived';
      for (const r of records) archivedIn.set(archivedFileKey(r.file, r.sha256), folder.name);
    }
    crashes.push(crashReport(folder, status, root));
  }
  const after = readArchive(root);
  const manifest = path.join(root, 'manifest.json');
  writeAtomically(root, 'manifest.json', new TextEncoder().encode(JSON.stringify(buildManifest(after.metas, now().toISOString()), null, 2) + '\n'));

  // ---- erase
  let erase: EraseReport | null = null;
  if (options.erase === true) {
    erase = await eraseArchived(access, analysis.crashes.flatMap((c) => c.parts).concat(analysis.bootLogs), refused, archivedIn, root);
  }

  const report: HarvestReport = {
    tool: 'ramoops-harness harvest',
    target: host,
    outDir: root,
    manifest,
    seconds: Math.round(performance.now() - t0) / 1000,
    context,
    files: listed.map((l) => ({ name: l.name, size: l.size, mtime: l.mtime.seconds })),
    crashes,
    bootLogsAlreadyArchived: plan.logsAlreadyArchived.map((l) => l.file),
    refused: [...new Set(refused)].sort(),
    erase,
    warnings,
  };
  return { report, files };
}

function crashReport(folder: PlannedFolder, status: CrashReport['status'], root: string): CrashReport {
  const c = folder.crash;
  const damaged = (c?.parts ?? []).map((p) => p.ecc).filter((e) => e !== undefined && (e.corrected > 0 || e.unrecoverable > 0));
  return {
    name: folder.name,
    kind: folder.kind,
    status,
    path: path.join(root, folder.name),
    reason: c?.reason ?? null,
    counter: c?.counter ?? null,
    time: c === undefined ? '' : new Date(c.time.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    summary: c?.summary ?? null,
    headline: c?.headline ?? null,
    cause: c?.cause ?? null,
    frames: c?.frames ?? [],
    files: (c?.parts ?? []).map((p) => p.file),
    bootLogs: folder.logs.map((l) => l.file),
    ecc: damaged[0]?.text ?? null,
    unrecoverableBlocks: damaged.reduce((n, e) => n + (e?.unrecoverable ?? 0), 0),
  };
}

/** Unlinks what is safely archived, lists again, and says which zones the kernel reset. */
async function eraseArchived(
  access: PstoreAccess,
  records: readonly RecordInfo[],
  refused: readonly string[],
  archivedIn: ReadonlyMap<string, string>,
  root: string,
): Promise<EraseReport> {
  const kept: { file: string; why: string }[] = refused.map((file) => ({ file, why: 'not a pstore file name: not archived, not touched' }));
  const eligible: string[] = [];
  for (const r of records) {
    const folder = archivedIn.get(archivedFileKey(r.file, r.sha256));
    if (folder === undefined) {
      kept.push({ file: r.file, why: 'no archived copy' });
      continue;
    }
    // Read the copy back: what is unlinked must be on disk with the same bytes, not just planned.
    let copy: string | undefined;
    try {
      copy = sha256Hex(readFileSync(path.join(root, folder, r.file)));
    } catch (e) {
      kept.push({ file: r.file, why: `archived copy unreadable: ${e instanceof Error ? e.message : String(e)}` });
      continue;
    }
    if (copy !== r.sha256) {
      kept.push({ file: r.file, why: `archived copy in ${folder} differs (sha256 ${copy.slice(0, 12)} vs ${r.sha256.slice(0, 12)})` });
      continue;
    }
    eligible.push(r.file);
  }
  const failed = await access.unlink(eligible);
  kept.push(...failed);
  const failedNames = new Set(failed.map((f) => f.file));
  const again = await access.list();
  const remaining = [...again.listed.map((l) => l.name), ...again.unparsable].sort();
  const unlinked = eligible.filter((f) => !failedNames.has(f));
  const gone = unlinked.filter((f) => !remaining.includes(f));
  const { zones, notes } = zonesClearedBy(gone);
  const cameBack = unlinked.filter((f) => remaining.includes(f));
  const allNotes = [...new Set(notes)];
  if (cameBack.length > 0) allNotes.push(`unlinked but listed again: ${cameBack.join(', ')} (the backend did not erase them)`);
  return { unlinked, kept, remaining, zonesCleared: zones, notes: allNotes };
}

// ---------------------------------------------------------------------------------------------
// The archive on disk

interface ArchiveRead {
  readonly state: { readonly folders: ReadonlySet<string>; readonly files: ReadonlySet<string> };
  readonly metas: readonly CrashMeta[];
  /** `<file>:<sha>` -> folder holding it. */
  readonly where: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
}

/** Reads every folder's meta.json. Any entry with a folder-like name counts as taken, valid or not. */
function readArchive(root: string): ArchiveRead {
  const folders = new Set<string>();
  const files = new Set<string>();
  const where = new Map<string, string>();
  const metas: CrashMeta[] = [];
  const warnings: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!ARCHIVE_NAME.test(entry.name)) continue;
    folders.add(entry.name);
    if (!entry.isDirectory()) {
      warnings.push(`${entry.name} in the archive is not a folder; left alone and out of the manifest`);
      continue;
    }
    const metaPath = path.join(root, entry.name, 'meta.json');
    let parsed: CrashMeta | string;
    try {
      // lstat: a meta.json planted as a symlink is not followed.
      if (!lstatSync(metaPath).isFile()) throw new Error('not a regular file');
      parsed = parseCrashMeta(JSON.parse(readFileSync(metaPath, 'utf8')), entry.name);
    } catch (e) {
      parsed = e instanceof Error ? e.message : String(e);
    }
    if (typeof parsed === 'string') {
      warnings.push(`${entry.name}/meta.json: ${parsed}; folder left out of the manifest`);
      continue;
    }
    metas.push(parsed);
    for (const r of parsed.records) {
      const key = archivedFileKey(r.file, r.sha256);
      files.add(key);
      if (!where.has(key)) where.set(key, entry.name);
    }
  }
  return { state: { folders, files }, metas, where, warnings };
}

/**
 * The temp name of an archive entry being written: `.tmp-<name>-pid<pid>-h<host>-<random>`, so
 * that a later harvest can tell a dead writer's leftovers from a live writer's work.
 */
function tempName(name: string, kind: 'folder' | 'file'): string {
  const writer = `pid${process.pid}-h${os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${randomBytes(4).toString('hex')}`;
  // writeConfined refuses dot names for files: a file's temp is `<name>.tmp-<writer>`.
  return kind === 'folder' ? `.tmp-${name}-${writer}` : `${name}.tmp-${writer}`;
}

/**
 * A harvest killed mid-write leaves a `.tmp-*` entry. It is removed when its writer was a
 * process of this machine that is gone (a kill must not leave litter until the next hour), or
 * when it is an hour old (a writer on another machine sharing the archive, or an older name).
 * A live writer's temp is never touched: pids are unique among live processes of one machine.
 */
function removeStaleTemps(root: string): void {
  const hourAgo = Date.now() - 3600_000;
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
  for (const name of readdirSync(root)) {
    if (!name.startsWith('.tmp-') && !name.includes('.tmp-pid')) continue;
    const p = path.join(root, name);
    const writer = /pid(\d+)-h(.+)-[0-9a-f]{8}$/.exec(name);
    const deadHere = writer !== null && writer[2] === host && !processAlive(Number(writer[1]));
    try {
      if (deadHere || lstatSync(p).mtimeMs < hourAgo) rmSync(p, { recursive: true, force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: harmless either way.
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive, someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes a folder under a temp name, fsyncs every file and the folder, then renames it into
 * place. Returns false (and removes the temp folder) when the name is taken meanwhile.
 */
function writeFolder(root: string, name: string, records: readonly RecordInfo[], bytesOf: ReadonlyMap<string, Uint8Array>, meta: CrashMeta): boolean {
  if (!ARCHIVE_NAME.test(name)) throw new HarnessError('capture', `refusing archive folder name ${JSON.stringify(name)}`);
  const tmp = path.join(root, tempName(name, 'folder'));
  const dir = prepareOutDir(tmp);
  try {
    for (const r of records) {
      const bytes = bytesOf.get(r.file);
      if (bytes === undefined) throw new HarnessError('capture', `no bytes read for ${r.file}`);
      fsyncFile(writeConfined(dir, r.file, bytes, { seconds: r.mtime.seconds, nanoseconds: r.mtime.nsec }));
    }
    fsyncFile(writeConfined(dir, 'meta.json', new TextEncoder().encode(JSON.stringify(meta, null, 2) + '\n')));
    fsyncDir(dir);
    if (exists(path.join(root, name))) {
      rmSync(dir, { recursive: true, force: true });
      return false;
    }
    renameSync(dir, path.join(root, name));
    fsyncDir(root);
    return true;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Replaces `root/name` with new contents so a reader sees the old file or the new one, never half. */
function writeAtomically(root: string, name: string, bytes: Uint8Array): void {
  // A dot name removeStaleTemps knows: a kill between write and rename leaves nothing it keeps.
  const tmp = tempName(name, 'file');
  const p = writeConfined(root, tmp, bytes);
  try {
    fsyncFile(p);
    renameSync(p, path.join(root, name));
    fsyncDir(root);
  } catch (e) {
    rmSync(p, { force: true });
    throw e;
  }
}

function fsyncFile(p: string): void {
  const fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(p: string): void {
  const fd = openSync(p, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Over SSH. Every command is a fixed string; the only variable parts are pstore file names that
// passed isSafePstoreName ([a-z0-9._-], no leading dash), which the shell cannot misread.

const CONTEXT_SCRIPT = [
  `p() { printf '%s=%s\\n' "$1" "$2"; }`,
  `p boot_id "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"`,
  `p uname "$(uname -a 2>/dev/null)"`,
  `p release "$(uname -r 2>/dev/null)"`,
  `p hostname "$(uname -n 2>/dev/null)"`,
  `p cmdline "$(cat /proc/cmdline 2>/dev/null)"`,
  `for d in ramoops pstore; do for f in /sys/module/$d/parameters/*; do [ -f "$f" ] && p "$d.\${f##*/}" "$(cat "$f" 2>/dev/null)"; done; done`,
  'true',
].join('\n');

// Exit 0: mounted already; 10: mounted now; 20: the kernel has no pstore file system; 21: mount failed.
const MOUNT_SCRIPT = [
  `grep -qs ' ${PSTORE_DIR} pstore ' /proc/mounts && exit 0`,
  `grep -qs 'pstore$' /proc/filesystems || exit 20`,
  `mkdir -p ${PSTORE_DIR} 2>/dev/null`,
  `mount -t pstore pstore ${PSTORE_DIR} || exit 21`,
  'exit 10',
].join('\n');

// %Y whole seconds, %y with the nanoseconds (busybox, GNU and toybox stat all have both).
const LIST_SCRIPT = `cd ${PSTORE_DIR} || exit 3\nfor f in *; do [ -e "$f" ] || continue; stat -c '%n|%s|%Y|%y' -- "$f" || exit 4; done`;

function sshAccess(ssh: HarvestShell, options: HarvestOptions): PstoreAccess {
  const timeout = options.commandTimeoutMs ?? 60_000;
  // `repeatable`: the script changes nothing, so a channel dropbear closed without an exit status may run again.
  const run = async (script: string, what: string, okCodes: readonly number[] = [0], repeatable = false): Promise<ExecResult> => {
    const opts = { timeout, ...(options.signal === undefined ? {} : { signal: options.signal }) };
    const r = await (repeatable ? againIfDropped(() => ssh.exec(script, opts)) : ssh.exec(script, opts));
    if (r.code === null || !okCodes.includes(r.code)) {
      const err = r.stderr.toString('utf8').trim();
      throw new HarnessError('guest', `${what} failed (${r.code === null ? `signal ${r.signal ?? '?'}` : `exit ${r.code}`})${err === '' ? '' : `: ${err}`}`);
    }
    return r;
  };
  return {
    async context() {
      const r = await run(CONTEXT_SCRIPT, 'reading the machine identity', [0], true);
      return parseContext(r.stdout.toString('utf8'));
    },
    async ensureMounted() {
      const r = await run(MOUNT_SCRIPT, `mounting pstore on ${PSTORE_DIR}`, [0, 10, 20, 21]);
      if (r.code === 20) throw new HarnessError('guest', 'this kernel has no pstore file system (CONFIG_PSTORE off): no pstore on this machine');
      if (r.code === 21) {
        throw new HarnessError('guest', `pstore is not mounted and mounting it failed (root needed): ${r.stderr.toString('utf8').trim()}`);
      }
      return r.code === 10;
    },
    async list() {
      const r = await run(LIST_SCRIPT, `listing ${PSTORE_DIR}`, [0], true);
      return parseListing(r.stdout.toString('utf8'));
    },
    async read(name) {
      assertSafe(name);
      const r = await run(`cat -- ${PSTORE_DIR}/${name}`, `reading ${PSTORE_DIR}/${name}`, [0], true);
      return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
    },
    async unlink(names) {
      if (names.length === 0) return [];
      for (const n of names) assertSafe(n);
      const r = await run(
        `cd ${PSTORE_DIR} || exit 3\nfor f in ${names.join(' ')}; do out=$(rm -- "$f" 2>&1) || echo "rm-failed $f $out"; done; true`,
        'unlinking pstore files',
      );
      return failedUnlinks(r.stdout.toString('utf8'));
    },
  };
}

/** `rm-failed <file> <message>` lines of the unlink script (rm prints nothing on success). */
function failedUnlinks(out: string): { readonly file: string; readonly why: string }[] {
  const failed: { file: string; why: string }[] = [];
  for (const line of out.split('\n')) {
    const m = /^rm-failed (\S+) (.*\S)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) failed.push({ file: m[1], why: `rm failed: ${m[2]}` });
  }
  return failed;
}

function assertSafe(name: string): void {
  // Checked where the name enters a command, whatever the caller did.
  if (!isSafePstoreName(name)) throw new HarnessError('guest', `refusing pstore file name ${JSON.stringify(name)}`);
}

/** Parses `key=value` lines of the context script. */
export function parseContext(text: string): Omit<HarvestContext, 'harvestedAt' | 'host' | 'pstoreMountedByHarvest'> {
  const values = new Map<string, string>();
  const ramoops: Record<string, string> = {};
  const pstore: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\.[A-Za-z0-9_]+)?)=(.*)$/.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const [key, value] = [m[1], m[2].trim()];
    if (key.startsWith('ramoops.')) ramoops[key.slice('ramoops.'.length)] = value;
    else if (key.startsWith('pstore.')) pstore[key.slice('pstore.'.length)] = value;
    else values.set(key, value);
  }
  const v = (k: string): string | null => {
    const s = values.get(k);
    return s === undefined || s === '' ? null : s;
  };
  return {
    hostname: v('hostname'),
    bootId: v('boot_id'),
    kernelRelease: v('release'),
    uname: v('uname'),
    cmdline: v('cmdline'),
    ramoopsParameters: ramoops,
    pstoreParameters: pstore,
  };
}

/**
 * Parses stat's `%n|%s|%Y|%y` lines. Splits from the right so a `|` in a name cannot shift
 * the numbers; a line that does not parse is returned as is, to be reported, not used.
 */
export function parseListing(text: string): { readonly listed: readonly Listed[]; readonly unparsable: readonly string[] } {
  const listed: Listed[] = [];
  const unparsable: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const parts = line.split('|');
    const human = parts.pop();
    const seconds = parts.pop();
    const size = parts.pop();
    const name = parts.join('|');
    const frac = human === undefined ? undefined : /^\S+ \d\d:\d\d:\d\d(?:\.(\d{1,9}))?/.exec(human);
    if (seconds === undefined || size === undefined || frac === null || frac === undefined || !/^\d+$/.test(size) || !/^-?\d+$/.test(seconds) || name === '') {
      unparsable.push(line);
      continue;
    }
    listed.push({ name, size: Number(size), mtime: { seconds: Number(seconds), nsec: Number((frac[1] ?? '').padEnd(9, '0')) } });
  }
  return { listed, unparsable };
}

// ---------------------------------------------------------------------------------------------
// On this machine

function localAccess(dir: string, mount: boolean): PstoreAccess {
  const readText = (p: string): string | null => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const params = (p: string): Record<string, string> => {
    const out: Record<string, string> = {};
    let names: string[];
    try {
      names = readdirSync(p);
    } catch {
      return out;
    }
    for (const n of names.sort()) {
      const v = readText(path.join(p, n));
      if (v !== null) out[n] = v;
    }
    return out;
  };
  return {
    async context() {
      const u = await execa('uname', ['-a'], { reject: false, stdin: 'ignore', timeout: 10_000 });
      return {
        hostname: os.hostname(),
        bootId: readText('/proc/sys/kernel/random/boot_id'),
        kernelRelease: os.release(),
        uname: u.exitCode === 0 ? u.stdout.trim() : `${os.type()} ${os.hostname()} ${os.release()} ${os.version()} ${os.machine()}`,
        cmdline: readText('/proc/cmdline'),
        ramoopsParameters: params('/sys/module/ramoops/parameters'),
        pstoreParameters: params('/sys/module/pstore/parameters'),
      };
    },
    async ensureMounted() {
      if (!mount) {
        if (!exists(dir)) throw new HarnessError('guest', `${dir} does not exist`);
        return false;
      }
      const mounts = readText('/proc/mounts') ?? '';
      if (mounts.split('\n').some((l) => l.split(' ')[1] === dir && l.split(' ')[2] === 'pstore')) return false;
      const fss = readText('/proc/filesystems') ?? '';
      if (!fss.split('\n').some((l) => l.trim().endsWith('pstore'))) {
        throw new HarnessError('guest', 'this kernel has no pstore file system (CONFIG_PSTORE off): no pstore on this machine');
      }
      // argv, no shell: nothing here comes from outside anyway.
      const r = await execa('mount', ['-t', 'pstore', 'pstore', dir], { reject: false, stdin: 'ignore', timeout: 30_000 });
      if (r.exitCode !== 0) {
        throw new HarnessError('guest', `pstore is not mounted on ${dir} and mounting it failed (root needed): ${(r.stderr || r.shortMessage || '').trim()}`);
      }
      return true;
    },
    // Local files: read synchronously, so list, read and unlink resolve at once (a throw reaches
    // the awaiting caller just as a rejection would).
    list() {
      const listed: Listed[] = [];
      const unparsable: string[] = [];
      for (const name of readdirSync(dir).sort()) {
        const p = path.join(dir, name);
        const st = lstatSync(p, { bigint: true });
        // pstore holds regular files only; anything else is not read.
        if (!st.isFile()) {
          unparsable.push(name);
          continue;
        }
        listed.push({ name, size: Number(st.size), mtime: { seconds: Number(st.mtimeNs / 1_000_000_000n), nsec: Number(st.mtimeNs % 1_000_000_000n) } });
      }
      return Promise.resolve({ listed, unparsable });
    },
    read(name) {
      assertSafe(name);
      const p = path.join(dir, name);
      // Records are at most a few MiB; a huge file here is not pstore's.
      if (statSync(p).size > 256 * 1024 * 1024) throw new HarnessError('guest', `${p} is larger than 256 MiB`);
      const fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        return Promise.resolve(readFileSync(fd));
      } finally {
        closeSync(fd);
      }
    },
    unlink(names) {
      const failed: { file: string; why: string }[] = [];
      for (const n of names) {
        assertSafe(n);
        try {
          unlinkSync(path.join(dir, n));
        } catch (e) {
          failed.push({ file: n, why: `unlink failed: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      return Promise.resolve(failed);
    },
  };
}
