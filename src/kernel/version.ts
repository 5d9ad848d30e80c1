// Kernel versions and the format changes that hang on them (docs/format.md §11).
// The writing kernel decides layout and header text, the reading kernel decides decoder,
// notice text and decompressor; normally both are one build, so one version drives both.
import { ConfigError } from '../errors.js';

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  /** undefined when the release string hides it (Debian's 6.1.0-56-amd64). */
  readonly sublevel: number | undefined;
  /** What the user gave, e.g. `uname -r`. */
  readonly release: string;
}

/** Tri-state answer for a feature that depends on a sublevel we may not know. */
export type Maybe = boolean | 'unknown';

/** Parse what `uname -r` prints (6.1.192, 6.12.117+deb12-amd64, 6.1.0-56-amd64, 4.19.0-6-armmp). */
export function parseKernelVersion(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(.*)$/.exec(release.trim());
  if (!m) throw new ConfigError('kernel-version', `"${release}" is not a kernel release (expected e.g. 6.1.192 or 6.1.0-56-amd64)`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  let sublevel: number | undefined = m[3] === undefined ? undefined : Number(m[3]);
  const rest = m[4] ?? '';
  // Debian's ABI strings (X.Y.0-N-flavour) carry sublevel 0 although the kernel is X.Y.<something>:
  // the real sublevel is unknown, so features that depend on it must be probed.
  if (sublevel === 0 && /^-\d+-/.test(rest)) sublevel = undefined;
  if (major < 3 || major > 9) throw new ConfigError('kernel-version', `"${release}": major version ${major} is outside 4..6 that ramoops-harness knows`);
  return { major, minor, sublevel, release: release.trim() };
}

function code(major: number, minor: number, sub = 0): number {
  return major * 65536 + minor * 256 + Math.min(sub, 255);
}

/** True when v is at least major.minor (sublevel ignored). */
export function atLeast(v: KernelVersion, major: number, minor: number): boolean {
  return code(v.major, v.minor) >= code(major, minor);
}

/** LINUX_VERSION_CODE, the value ftrace zones XOR into their signature; undefined without sublevel. */
export function versionCode(v: KernelVersion): number | undefined {
  return v.sublevel === undefined ? undefined : code(v.major, v.minor, v.sublevel);
}

/**
 * A change that landed upstream at `upstream` (major.minor) and was backported to some stable
 * lines. `backports` maps "major.minor" to the first sublevel known to have it and the last
 * known not to; between them the answer is unknown.
 */
function feature(
  v: KernelVersion,
  upstream: readonly [number, number],
  backports: Readonly<Record<string, readonly [knownWithout: number, knownWith: number]>>,
  unsureFrom?: readonly [number, number],
): Maybe {
  if (atLeast(v, upstream[0], upstream[1])) return true;
  if (unsureFrom && atLeast(v, unsureFrom[0], unsureFrom[1])) return 'unknown';
  const bp = backports[`${v.major}.${v.minor}`];
  if (!bp) return false;
  if (v.sublevel === undefined) return 'unknown';
  if (v.sublevel >= bp[1]) return true;
  if (v.sublevel <= bp[0]) return false;
  return 'unknown';
}

/** Multi-zone sizes rounded down to even (ALIGN); believed 6.3 upstream, seen 6.6.87. */
export function hasEvenZoneSizes(v: KernelVersion): Maybe {
  return feature(v, [6, 6], { '5.4': [0, 286], '6.1': [0, 158], '5.15': [135, 9999], '5.10': [89, 9999] }, [6, 3]);
}

/** An empty zone needs start == 0 as well as size == 0. */
export function emptyNeedsStartZero(v: KernelVersion): Maybe {
  return feature(v, [6, 6], { '5.4': [0, 286], '6.1': [0, 158], '5.15': [16, 135] }, [6, 3]);
}

/** Header microseconds multiplied by 1000 on read (earlier: raw number used as nanoseconds). */
export function headerUsecTimes1000(v: KernelVersion): Maybe {
  return feature(v, [5, 6], { '4.19': [0, 222], '5.4': [0, 286] }, [5, 4]);
}

/** `ECC: ` prefix on the notice (5.18+). */
export function eccNoticePrefix(v: KernelVersion): boolean {
  return atLeast(v, 5, 18);
}

/** pmsg placed before ftrace (6.2+). */
export function pmsgBeforeFtrace(v: KernelVersion): boolean {
  return atLeast(v, 6, 2);
}

/** 4.10+: dmesg zones absorb slack, per-CPU ftrace, `ts` field in ftrace records. */
export function isPost49(v: KernelVersion): boolean {
  return atLeast(v, 4, 10);
}

/** Which decompressor the reading kernel applies to a 'C' record. */
export type Decompressor = 'zlib' | 'crypto' | 'inflate-raw-15';
export function readerDecompressor(v: KernelVersion): Decompressor {
  if (!atLeast(v, 4, 17)) return 'zlib';
  if (!atLeast(v, 6, 6)) return 'crypto';
  return 'inflate-raw-15';
}

/**
 * The bounds that size the kernel's compression work buffer changed twice: lzo1x_worst_compress
 * gained "+ 2" with LZO-RLE (5.1, include/linux/lzo.h), and zstd's ZSTD_compressBound went from
 * zstd 1.3's FSE_compressBound(n) + 12 to zstd 1.4's formula (5.16, lib/zstd). The work buffer
 * bounds what a record may decompress to, so the reader must use the reading kernel's bound.
 */
export interface WorkBufferRules {
  readonly lzoRleBytes: boolean;
  readonly zstdLegacyBound: boolean;
}
export function workBufferRules(v: KernelVersion): WorkBufferRules {
  return { lzoRleBytes: atLeast(v, 5, 1), zstdLegacyBound: !atLeast(v, 5, 16) };
}

/** RS decoder return rule: 5.3 reworked it. */
export function rsDecodeMode(v: KernelVersion): 'v5.3+' | 'legacy' {
  return atLeast(v, 5, 3) ? 'v5.3+' : 'legacy';
}

/** The ftrace text format of the reading kernel. */
export function ftraceFormat(v: KernelVersion): '4.9' | '4.10' | '5.2' {
  if (!isPost49(v)) return '4.9';
  return atLeast(v, 5, 2) ? '5.2' : '4.10';
}

/** Header seconds are signed 64-bit from 4.18 (unsigned `%lu` before). */
export function signedHeaderSeconds(v: KernelVersion): boolean {
  return atLeast(v, 4, 18);
}

/** The reason strings the version uses (5.8 replaced Restart/Halt/Poweroff with Shutdown). */
export function describeVersion(v: KernelVersion): string {
  return v.sublevel === undefined ? `${v.major}.${v.minor}.? (${v.release})` : `${v.major}.${v.minor}.${v.sublevel}`;
}
