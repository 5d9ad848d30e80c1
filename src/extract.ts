// The one pipeline: (physical memory, config) -> the files the kernel would show in
// /sys/fs/pstore, with per-zone reports and warnings. Everything else calls this.
import { DecompressError, LayoutError, RamoopsError, hex, isRamoopsError, type Warning } from './errors.js';
import type { RamoopsConfig } from './config/types.js';
import { computeLayout, type Layout, type LayoutRules, type Zone, type ZoneKind } from './layout/layout.js';
import {
  atLeast,
  describeVersion,
  eccNoticePrefix,
  emptyNeedsStartZero,
  ftraceFormat,
  hasEvenZoneSizes,
  headerUsecTimes1000,
  isPost49,
  pmsgBeforeFtrace,
  readerDecompressor,
  rsDecodeMode,
  signedHeaderSeconds,
  versionCode,
  workBufferRules,
  type KernelVersion,
} from './kernel/version.js';
import type { PhysicalMemory } from './dump/memory.js';
import { PERSISTENT_RAM_SIG } from './zone/geometry.js';
import { eccNotice, probeSignature, readZone, type EccCounts, type ZoneRead, type ZoneStatus } from './zone/read.js';
import { parseDmesgHeader } from './records/dmesg/header.js';
import { concatBytes } from './bytes/concat.js';
import { decompress, workBufferSize, type Algorithm } from './records/decompress/index.js';
import { combineFtrace, formatFtrace } from './records/ftrace/format.js';
import { lookup, type SymbolTable } from './records/ftrace/symbols.js';
import { findKernelOffset } from './records/ftrace/kaslr.js';

export interface ZoneReport {
  readonly kind: ZoneKind;
  readonly index: number;
  readonly address: number;
  readonly size: number;
  readonly capacity: number;
  readonly eccBytes: number;
  readonly status: ZoneStatus | 'not-captured';
  readonly detail: string;
  readonly ecc: EccCounts | undefined;
}

export interface PstoreFile {
  /** e.g. dmesg-ramoops-0, dmesg-ramoops-1.enc.z */
  readonly name: string;
  readonly type: ZoneKind;
  readonly id: number;
  /** The bytes a read of the file returns. */
  readonly bytes: Uint8Array;
  /** What stat reports (differs from bytes.length only for ftrace: the binary length). */
  readonly size: number;
  /** dmesg: the record time; undefined where the kernel uses the mount time. */
  readonly mtime: { readonly seconds: number; readonly nanoseconds: number } | undefined;
  readonly zones: readonly { readonly index: number; readonly address: number }[];
  readonly ecc: EccCounts | undefined;
  /** dmesg: how the payload was stored and read. */
  readonly compression: { readonly algorithm: Algorithm; readonly ok: boolean; readonly error?: string } | undefined;
  readonly notes: readonly string[];
}

export interface Extraction {
  readonly files: readonly PstoreFile[];
  readonly zones: readonly ZoneReport[];
  readonly layout: Layout;
  /** How the layout was chosen, and assumptions made for an unknown sublevel. */
  readonly decisions: readonly string[];
  readonly warnings: readonly Warning[];
  /** Writer version code found in ftrace zone signatures, if any. */
  readonly ftraceVersionCode: number | undefined;
  /** The crashed boot's KASLR offset, from the newest dmesg record's `Kernel Offset:` line (0n for "disabled"). */
  readonly kernelOffset: { readonly value: bigint; readonly file: string; readonly line: string } | undefined;
  /** The shift applied to the symbol table's addresses to name ftrace records, and why; undefined without an ftrace file or symbols. */
  readonly symbolShift: KaslrOffset | undefined;
}

/** A KASLR offset and where it came from (for the decisions). */
export interface KaslrOffset {
  readonly value: bigint;
  /** e.g. "--kaslr-offset", "the reading kernel's /proc/kallsyms _text". */
  readonly source: string;
}

export interface ExtractOptions {
  /** System.map (link-time addresses) or a kallsyms copy (a running boot's addresses). */
  readonly symbols?: SymbolTable;
  /**
   * Name ftrace records as a kernel with this KASLR offset would: the offset added to the
   * System.map's addresses. Wins over the default, which is 0 for a kallsyms table and, for a
   * System.map, the crashed boot's offset from the dump's `Kernel Offset:` line. To reproduce
   * a guest's own /sys/fs/pstore/ftrace-* give the READING boot's offset: that file is printed
   * by the next boot's %ps, with its own offset.
   */
  readonly kaslrOffset?: KaslrOffset;
}

interface Candidate {
  readonly rules: LayoutRules;
  readonly label: string;
}

const FTRACE_MAX_CPUS = 256;

function plausibleFtraceCode(sig: number, exact: number | undefined): boolean {
  const code = (sig ^ PERSISTENT_RAM_SIG) >>> 0;
  if (exact !== undefined) return code === exact;
  const major = code >>> 16;
  return major >= 3 && major <= 9;
}

function candidates(config: RamoopsConfig): Candidate[] {
  const v = config.kernel;
  const eras: { post49: boolean; pmsgFirst: boolean; even: boolean[]; label: string }[] = [];
  if (v) {
    const even = hasEvenZoneSizes(v);
    eras.push({ post49: isPost49(v), pmsgFirst: pmsgBeforeFtrace(v), even: even === 'unknown' ? [true, false] : [even], label: describeVersion(v) });
  } else {
    eras.push({ post49: true, pmsgFirst: true, even: [true, false], label: '6.2+' });
    eras.push({ post49: true, pmsgFirst: false, even: [true, false], label: '4.10..6.1' });
    eras.push({ post49: false, pmsgFirst: false, even: [false], label: '4.9' });
  }
  const cpuChoices: number[] = [];
  if (config.cpus !== undefined) cpuChoices.push(config.cpus);
  else if (config.ftracePerCpu && config.ftraceSize) {
    // A zone smaller than its 12-byte header cannot exist; larger CPU counts are impossible.
    for (let n = 1; n <= FTRACE_MAX_CPUS && Math.floor(config.ftraceSize / n) > 12; n++) cpuChoices.push(n);
  }
  else cpuChoices.push(1);
  const out: Candidate[] = [];
  for (const e of eras) {
    for (const even of e.even) {
      for (const n of e.post49 && config.ftracePerCpu ? cpuChoices : [1]) {
        out.push({
          rules: { post49: e.post49, pmsgFirst: e.pmsgFirst, evenZones: even, ftraceZones: n },
          label: `${e.label} layout${even ? ', even zone sizes' : ''}${e.post49 && config.ftracePerCpu && config.ftraceSize ? `, ${n} ftrace zone${n > 1 ? 's' : ''}` : ''}`,
        });
      }
    }
  }
  return out;
}

function sameZones(a: Layout, b: Layout): boolean {
  return a.zones.length === b.zones.length && a.zones.every((z, i) => z.offset === b.zones[i]?.offset && z.geometry.size === b.zones[i]?.geometry.size);
}

function tryRead(mem: PhysicalMemory, z: Zone): Uint8Array | undefined {
  try {
    return mem.read(z.address, z.geometry.size);
  } catch (e) {
    if (isRamoopsError(e)) return undefined;
    throw e;
  }
}

/**
 * Pick the layout whose zones carry the signatures the kernel writes into every zone it probes.
 * Candidates come in order of preference; a candidate whose every captured zone validates wins
 * over any with a mismatch, and among those the one validating most zones (the CPU count).
 */
function chooseLayout(mem: PhysicalMemory, config: RamoopsConfig, rsMode: 'v5.3+' | 'legacy', decisions: string[]): Layout {
  const exactCode = config.kernel ? versionCode(config.kernel) : undefined;
  // Zones repeat across candidates: probe each (kind, offset, size) once.
  const memo = new Map<string, boolean | undefined>();
  const probe = (z: Zone): boolean | undefined => {
    const key = `${z.kind === 'ftrace' ? 'f' : 'd'}:${z.offset}:${z.geometry.size}`;
    if (memo.has(key)) return memo.get(key);
    const bytes = tryRead(mem, z);
    let ok: boolean | undefined;
    if (bytes) {
      const sig = probeSignature(bytes, z.geometry, rsMode);
      ok = z.kind === 'ftrace' ? plausibleFtraceCode(sig, exactCode) : sig === PERSISTENT_RAM_SIG;
    }
    memo.set(key, ok);
    return ok;
  };
  let valid: { layout: Layout; good: number; label: string } | undefined;
  let fallback: { layout: Layout; score: number; label: string } | undefined;
  let firstError: RamoopsError | undefined;
  const distinct: Layout[] = [];
  for (const c of candidates(config)) {
    let layout: Layout;
    try {
      layout = computeLayout(config, c.rules);
    } catch (e) {
      if (isRamoopsError(e)) {
        firstError ??= e;
        continue;
      }
      throw e;
    }
    if (distinct.length < 2 && !distinct.some((d) => sameZones(d, layout))) distinct.push(layout);
    let good = 0;
    let bad = 0;
    for (const z of layout.zones) {
      const ok = probe(z);
      if (ok === true) good++;
      else if (ok === false) {
        bad++;
        if (valid) break; // cannot beat a fully valid candidate any more
      }
    }
    if (bad === 0 && (!valid || good > valid.good)) valid = { layout, good, label: c.label };
    const score = good - 2 * bad;
    if (!valid && (!fallback || score > fallback.score)) fallback = { layout, score, label: c.label };
  }
  const best = valid ?? (fallback ? { layout: fallback.layout, good: fallback.score, label: fallback.label } : undefined);
  if (!best) throw firstError ?? new LayoutError('no layout candidate fits this configuration');
  if (distinct.length > 1) {
    decisions.push(
      valid
        ? `several layouts fit this configuration (kernel version rules, CPU count); chose "${best.label}": all ${best.good} captured zones carry valid signatures`
        : `several layouts fit this configuration and none has valid signatures in every zone; chose "${best.label}" as the closest`,
    );
  }
  return best.layout;
}

/**
 * Per-CPU ftrace zones follow the writer's possible-CPU count (nr_cpu_ids). Without `cpus` the
 * count comes from the zone signatures (chooseLayout): say so. With a `cpus` whose zones lack
 * the ftrace signature, say which zones were seen and which count the signatures fit.
 */
function perCpuCheck(
  mem: PhysicalMemory,
  config: RamoopsConfig,
  layout: Layout,
  reads: ReadonlyMap<Zone, ZoneRead | undefined>,
  rsMode: 'v5.3+' | 'legacy',
  exactCode: number | undefined,
  decisions: string[],
  warnings: Warning[],
): void {
  const fz = layout.zones.filter((z) => z.kind === 'ftrace');
  if (!layout.rules.post49 || !config.ftracePerCpu || fz.length === 0) return;
  const signed = (z: Zone): boolean => {
    const bytes = tryRead(mem, z);
    return bytes !== undefined && plausibleFtraceCode(probeSignature(bytes, z.geometry, rsMode), exactCode);
  };
  const where = (zs: readonly Zone[]): string => zs.map((z) => hex(z.address)).join(', ');
  if (config.cpus === undefined) {
    decisions.push(`ftrace: ${fz.length} per-CPU zone${fz.length > 1 ? 's' : ''} of ${fz[0]?.geometry.size ?? 0} bytes (one per possible CPU of the writing kernel), inferred from the ftrace signatures at ${where(fz)}; --cpus N sets the count`);
    return;
  }
  const bad = fz.filter((z) => reads.get(z)?.status === 'bad-signature');
  let alt: Zone[] | undefined;
  try {
    alt = chooseLayout(mem, { ...config, cpus: undefined }, rsMode, []).zones.filter((z) => z.kind === 'ftrace');
  } catch (e) {
    if (!isRamoopsError(e)) throw e;
  }
  const altFits = alt !== undefined && alt.length > 0 && alt.every(signed);
  // A count that leaves zones unsigned is wrong; so is one smaller than what the signatures show
  // (its zones start where the real ones do, but it misses the other CPUs' zones).
  if (bad.length === 0 && !(altFits && alt !== undefined && alt.length !== fz.length)) return;
  const fit = altFits && alt !== undefined
    ? `the ftrace signatures seen fit ${alt.length} CPU${alt.length > 1 ? 's' : ''}: zones at ${where(alt)} (${alt[0]?.geometry.size ?? 0} bytes each)`
    : 'no CPU count makes every ftrace zone carry its signature';
  const first = bad[0] ?? fz[0];
  warnings.push({
    code: 'cpus-mismatch',
    zone: `ftrace-${first?.index ?? 0}`,
    address: first?.address ?? 0,
    message: `cpus ${config.cpus} does not match the dump: ${bad.length ? `of the ${fz.length} ftrace zone${fz.length > 1 ? 's' : ''} it implies, ${bad.length} ${bad.length === 1 ? 'carries' : 'carry'} no ftrace signature (at ${where(bad)})` : `it implies ${fz.length} ftrace zone${fz.length > 1 ? 's' : ''} (at ${where(fz)})`}; ${fit}. Extracted with cpus ${config.cpus} as given; leave it out to infer it`,
  });
}

function decideMaybe(value: boolean | 'unknown', assumed: boolean, what: string, decisions: string[]): boolean {
  if (value !== 'unknown') return value;
  decisions.push(`kernel sublevel unknown: assumed ${what}: ${assumed ? 'yes' : 'no'}`);
  return assumed;
}

/** Reproduce /sys/fs/pstore for the ramoops region described by `config` in `mem`. */
export function extract(mem: PhysicalMemory, config: RamoopsConfig, options: ExtractOptions = {}): Extraction {
  const warnings: Warning[] = [];
  const decisions: string[] = [];
  const v: KernelVersion | undefined = config.kernel;
  if (!v) decisions.push('no kernel version given: layout chosen by zone signatures; reader behaviour from the ftrace signature if any, else of current kernels (ECC: prefix, deflate)');
  const rsMode = v ? rsDecodeMode(v) : 'v5.3+';
  const layout = chooseLayout(mem, config, rsMode, decisions);
  const evenResolved = layout.rules.evenZones;
  const needStart0 = v ? decideMaybe(emptyNeedsStartZero(v), evenResolved, 'an empty zone needs start == 0 (follows the even-zone backport found in the layout)', decisions) : true;
  const exactCode = v ? versionCode(v) : undefined;

  // Read every zone as the kernel's probe does.
  const reads = new Map<Zone, ZoneRead | undefined>();
  const reports: ZoneReport[] = [];
  let ftraceCode: number | undefined;
  for (const z of layout.zones) {
    const bytes = tryRead(mem, z);
    let read: ZoneRead | undefined;
    if (!bytes) {
      warnings.push({ code: 'zone-not-captured', zone: `${z.kind}-${z.index}`, address: z.address, message: `${z.kind} zone ${z.index} at ${hex(z.address)} (${z.geometry.size} bytes) is not in the dump (${mem.description}); skipped` });
    } else {
      let expectedSig = PERSISTENT_RAM_SIG;
      if (z.kind === 'ftrace') {
        const sig = probeSignature(bytes, z.geometry, rsMode);
        if (plausibleFtraceCode(sig, exactCode)) {
          expectedSig = sig;
          ftraceCode ??= (sig ^ PERSISTENT_RAM_SIG) >>> 0;
        } else expectedSig = exactCode !== undefined ? (PERSISTENT_RAM_SIG ^ exactCode) >>> 0 : (PERSISTENT_RAM_SIG ^ 0x7fffffff) >>> 0;
      }
      read = readZone(bytes, z.geometry, { expectedSig, emptyNeedsStartZero: needStart0, rsMode });
      if (read.status === 'invalid' || read.status === 'bad-signature') {
        warnings.push({ code: `zone-${read.status}`, zone: `${z.kind}-${z.index}`, address: z.address, message: `${z.kind} zone ${z.index} at ${hex(z.address)}: ${read.detail}; the kernel resets it, no record` });
      }
      if (read.ecc && read.ecc.unrecoverable) {
        warnings.push({ code: 'ecc-unrecoverable', zone: `${z.kind}-${z.index}`, address: z.address, message: `${z.kind} zone ${z.index} at ${hex(z.address)}: ${read.ecc.unrecoverable} block(s) with uncorrectable errors` });
      }
    }
    reads.set(z, read);
    reports.push({
      kind: z.kind,
      index: z.index,
      address: z.address,
      size: z.geometry.size,
      capacity: z.geometry.capacity,
      eccBytes: z.geometry.size - 12 - z.geometry.capacity,
      status: read ? read.status : 'not-captured',
      detail: read ? read.detail : 'not in the dump',
      ecc: read?.ecc,
    });
  }
  perCpuCheck(mem, config, layout, reads, rsMode, exactCode, decisions, warnings);
  if (ftraceCode !== undefined && exactCode === undefined) {
    decisions.push(`ftrace zones were written by kernel version code ${hex(ftraceCode)} (${ftraceCode >>> 16}.${(ftraceCode >>> 8) & 0xff}.${ftraceCode & 0xff})`);
  }

  // Without a version, the ftrace signature tells which kernel wrote (and, normally, reads) the region.
  const rv: KernelVersion | undefined =
    v ?? (ftraceCode !== undefined ? { major: ftraceCode >>> 16, minor: (ftraceCode >>> 8) & 0xff, sublevel: ftraceCode & 0xff, release: 'from ftrace signature' } : undefined);
  const usec1000 = rv ? decideMaybe(headerUsecTimes1000(rv), true, 'header microseconds are multiplied by 1000', decisions) : true;
  const prefix = rv ? eccNoticePrefix(rv) : true;
  const signedSecs = rv ? signedHeaderSeconds(rv) : true;
  const reader = rv ? readerDecompressor(rv) : layout.rules.post49 ? 'crypto' : 'zlib';

  const files: PstoreFile[] = [];
  let stopped = false;
  const stop = (why: string): void => {
    stopped = true;
    warnings.push({ code: 'read-stopped', message: `${why}: the kernel stops reading this backend here, so no later record appears` });
  };
  const zonesOf = (kind: ZoneKind): Zone[] => layout.zones.filter((z) => z.kind === kind);
  const dmesgZones = zonesOf('dmesg');
  const bufsize = !rv || atLeast(rv, 4, 18)
    ? (dmesgZones[0]?.geometry.capacity ?? 0)
    : Math.max(layout.recordSize, layout.consoleSize ? 1024 : 0);

  // dmesg zones in index order.
  for (const z of dmesgZones) {
    if (stopped) break;
    const r = reads.get(z);
    if (!r || r.status !== 'ok') continue;
    const notice = eccNotice(r.ecc, prefix);
    const hdr = parseDmesgHeader(r.oldLog, signedSecs);
    if (!hdr) {
      warnings.push({ code: 'dmesg-no-header', zone: `dmesg-${z.index}`, address: z.address, message: `dmesg zone ${z.index} at ${hex(z.address)} holds ${r.oldLog.length} bytes without a valid ==== header; the kernel drops and resets it` });
      continue;
    }
    const payload = r.oldLog.subarray(hdr.length);
    if (payload.length === 0) {
      stop(`dmesg zone ${z.index} at ${hex(z.address)} has a header and no payload`);
      break;
    }
    const notes: string[] = [];
    let bytes: Uint8Array = payload;
    let name = `dmesg-ramoops-${z.index}`;
    let compression: PstoreFile['compression'];
    if (hdr.compressed) {
      const algorithm: Algorithm = reader === 'zlib' ? ((config.compress as Algorithm | undefined) ?? 'zlib') : reader === 'crypto' ? ((config.compress ?? 'deflate') as Algorithm) : 'deflate';
      const known = ['deflate', 'zlib', 'zstd', 'lzo', 'lz4', 'lz4hc', '842'].includes(algorithm);
      try {
        if (!known) throw new DecompressError(algorithm, `pstore.compress=${algorithm}: no decompressor is set up, the kernel cannot decompress`);
        const limit = workBufferSize(algorithm, bufsize, { inflate66: reader === 'inflate-raw-15', ...(rv ? workBufferRules(rv) : {}) });
        bytes = decompress(algorithm, payload, limit);
        compression = { algorithm, ok: true };
      } catch (e) {
        if (!isRamoopsError(e)) throw e;
        name += '.enc.z';
        compression = { algorithm, ok: false, error: e.message };
        notes.push(`decompression failed (${e.message}); kept compressed as the kernel does`);
        warnings.push({ code: 'dmesg-decompress-failed', zone: `dmesg-${z.index}`, address: z.address, message: `dmesg zone ${z.index} at ${hex(z.address)}: ${e.message}; written as ${name}` });
      }
    }
    const nsec = usec1000 ? hdr.fraction * 1000n : hdr.fraction;
    const seconds = Number(BigInt.asIntN(64, hdr.seconds));
    files.push({
      name,
      type: 'dmesg',
      id: z.index,
      bytes: concat(bytes, notice),
      size: bytes.length + notice.length,
      mtime: seconds !== 0 ? { seconds, nanoseconds: Number(nsec) } : undefined,
      zones: [{ index: z.index, address: z.address }],
      ecc: r.ecc,
      compression,
      notes,
    });
  }

  const single = (kind: 'console' | 'pmsg'): void => {
    if (stopped) return;
    const z = zonesOf(kind)[0];
    if (!z) return;
    const r = reads.get(z);
    if (!r || r.status !== 'ok') return;
    const notice = eccNotice(r.ecc, prefix);
    files.push({ name: `${kind}-ramoops-0`, type: kind, id: 0, bytes: concat(r.oldLog, notice), size: r.oldLog.length + notice.length, mtime: undefined, zones: [{ index: 0, address: z.address }], ecc: r.ecc, compression: undefined, notes: [] });
  };
  // The crashed boot's KASLR offset: the newest dmesg record (header time, then zone order) with a line.
  const offsets = files
    .filter((f) => f.type === 'dmesg' && !f.name.endsWith('.enc.z'))
    .map((f) => ({ f, found: findKernelOffset(new TextDecoder('latin1').decode(f.bytes)) }))
    .filter((o): o is { f: PstoreFile; found: NonNullable<typeof o.found> } => o.found !== undefined);
  const newest = offsets.reduce<(typeof offsets)[number] | undefined>((best, o) => (best === undefined || (o.f.mtime?.seconds ?? 0) > (best.f.mtime?.seconds ?? 0) ? o : best), undefined);
  const kernelOffset = newest === undefined ? undefined : { value: newest.found.offset === 'disabled' ? 0n : newest.found.offset, file: newest.f.name, line: newest.found.text };
  if (kernelOffset !== undefined && offsets.some((o) => (o.found.offset === 'disabled' ? 0n : o.found.offset) !== kernelOffset.value)) {
    warnings.push({
      code: 'kaslr-offsets-differ',
      message: `dmesg records come from boots with different KASLR offsets (${offsets.map((o) => `${o.f.name}: ${o.found.offset === 'disabled' ? 'disabled' : hex(o.found.offset)}`).join(', ')}); ftrace names use the newest, ${kernelOffset.file}'s, and records of other boots are named wrongly`,
    });
  }
  let symbolShift: KaslrOffset | undefined;
  const chooseShift = (table: SymbolTable, buf: Uint8Array): KaslrOffset => {
    let shift: KaslrOffset;
    const what = table.origin === 'kallsyms' ? 'kallsyms' : 'System.map';
    if (options.kaslrOffset !== undefined) {
      shift = options.kaslrOffset;
      decisions.push(`ftrace names: ${what} shifted by KASLR offset ${hex(shift.value)} (${shift.source})`);
    } else if (table.origin === 'kallsyms') {
      shift = { value: 0n, source: 'kallsyms addresses are the running boot\'s' };
      decisions.push('ftrace names: from the given kallsyms, whose addresses already carry its boot\'s KASLR offset (no shift)');
    } else if (kernelOffset !== undefined) {
      shift = { value: kernelOffset.value, source: `"${kernelOffset.line}" in ${kernelOffset.file}` };
      decisions.push(
        kernelOffset.value === 0n && /disabled/.test(kernelOffset.line)
          ? `ftrace names: System.map as it is ("Kernel Offset: disabled" in ${kernelOffset.file})`
          : `ftrace names: System.map shifted by the crashed boot's KASLR offset ${hex(kernelOffset.value)} ("${kernelOffset.line}" in ${kernelOffset.file}); the guest's own ftrace file is named by the boot that reads it, with that boot's offset`,
      );
    } else {
      shift = { value: 0n, source: 'no Kernel Offset line in the dump' };
      decisions.push('ftrace names: System.map as it is: no dmesg record has a "Kernel Offset:" line (under KASLR give --kaslr-offset or --kallsyms)');
    }
    // A shift that names no record at all is the wrong one (or the wrong map).
    const R = 24;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let named = 0;
    let seen = 0;
    for (let off = buf.length % R; off + R <= buf.length && seen < 4096; off += R, seen++) if (lookup(table, dv.getBigUint64(off, true), shift.value)) named++;
    if (seen > 0 && named === 0) {
      const crashed = kernelOffset !== undefined && kernelOffset.value !== shift.value
        ? `; the dump's "${kernelOffset.line}" (${kernelOffset.file}) is the crashed boot's offset, which names the functions recorded (a guest's own file, read by a later boot with another offset, leaves them unnamed the same way)`
        : '';
      warnings.push({ code: 'ftrace-unnamed', message: `no ftrace address falls inside the ${what}'s text with KASLR offset ${hex(shift.value)} (${shift.source}): the offset or the symbol file is not the recording kernel's${crashed}` });
    }
    return shift;
  };
  const ftrace = (): void => {
    if (stopped) return;
    const zs = zonesOf('ftrace');
    if (!zs.length) return;
    let buf: Uint8Array = new Uint8Array(0);
    let corrected = 0;
    let unrecoverable = 0;
    let any = false;
    const used: { index: number; address: number }[] = [];
    if (layout.rules.post49 && config.ftracePerCpu) {
      for (const z of zs) {
        const r = reads.get(z);
        if (!r) continue;
        // With ECC every zone counts (its notice makes it "ok" to the kernel), even an empty one.
        if (r.status !== 'ok' && !r.ecc) continue;
        if (r.ecc) {
          corrected += r.ecc.corrected;
          unrecoverable += r.ecc.unrecoverable;
        }
        any = true;
        if (r.oldLog.length) {
          buf = combineFtrace(buf, r.oldLog);
          used.push({ index: z.index, address: z.address });
        }
      }
    } else {
      const z = zs[0];
      const r = z ? reads.get(z) : undefined;
      if (!z || !r || r.status !== 'ok') return;
      any = true;
      buf = r.oldLog;
      if (r.ecc) ({ corrected, unrecoverable } = r.ecc);
      used.push({ index: 0, address: z.address });
    }
    if (!any) return;
    if (buf.length === 0) {
      // A zero-length record ends the kernel's read loop; ftrace is last, so nothing is lost.
      return;
    }
    const ecc = config.eccSize ? { corrected, unrecoverable } : undefined;
    const notice = eccNotice(ecc, prefix);
    const total = concat(buf, notice);
    const notes: string[] = [];
    if (!options.symbols) notes.push('no System.map given: addresses are not symbolized (the kernel prints names)');
    else symbolShift = chooseShift(options.symbols, total);
    const text = new TextEncoder().encode(formatFtrace(total, rv ? ftraceFormat(rv) : layout.rules.post49 ? '5.2' : '4.9', options.symbols, symbolShift?.value ?? 0n));
    files.push({ name: 'ftrace-ramoops-0', type: 'ftrace', id: 0, bytes: text, size: total.length, mtime: undefined, zones: used, ecc, compression: undefined, notes });
  };
  single('console');
  if (layout.rules.post49) {
    single('pmsg');
    ftrace();
  } else {
    ftrace();
    single('pmsg');
  }
  return { files, zones: reports, layout, decisions, warnings, ftraceVersionCode: ftraceCode, kernelOffset, symbolShift };
}

/** a then b; a itself when b is empty (most records carry no ECC notice). */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return b.length ? concatBytes([a, b]) : a;
}
