// Inferring a ramoops configuration from the zone headers found in a dump: walk the zones the
// way the kernel placed them (dmesg run, then console/pmsg/ftrace), propose the few
// configurations that could have produced them, and keep those whose computed layout puts
// every zone exactly where a signature was found.
import type { PhysicalMemory } from '../dump/memory.js';
import { buildConfig } from '../config/build.js';
import type { RamoopsConfig } from '../config/types.js';
import { isPow2, roundDownPow2 } from '../config/numbers.js';
import { computeLayout, expectZones, layoutPlaces, type Layout, type LayoutRules, type Zone } from '../layout/layout.js';
import { rsParityMatches } from '../zone/ecc/rs.js';
import { HEADER_SIZE, PERSISTENT_RAM_SIG, zoneGeometry } from '../zone/geometry.js';
import { readZone } from '../zone/read.js';
import { parseDmesgHeader } from '../records/dmesg/header.js';
import { decompress, inflatePrefix } from '../records/decompress/index.js';
import { findDbgc, findFtraceSigs, ftraceSigAt, type ScanProgress, type SigHit } from './signatures.js';

export interface InferredRegion {
  readonly config: RamoopsConfig;
  readonly layoutLabel: string;
  readonly confidence: 'high' | 'medium' | 'low';
  readonly reasons: readonly string[];
  /** Other configurations that fit the same zones equally well. */
  readonly alternatives: readonly RamoopsConfig[];
  /** Writer version code from ftrace signatures. */
  readonly versionCode: number | undefined;
  readonly zonesFound: number;
}

export interface ScanResult {
  readonly regions: readonly InferredRegion[];
  readonly signaturesSeen: number;
  /** Signature clusters that no configuration explains (false hits, damaged regions). */
  readonly unexplained: readonly { readonly address: number; readonly hits: number }[];
}

/** Largest gap between zone headers of one region; zones bigger than this are not supported by scan. */
const MAX_ZONE = 16 << 20;

function cluster(hits: readonly SigHit[]): SigHit[][] {
  const out: SigHit[][] = [];
  let cur: SigHit[] = [];
  for (const h of hits) {
    const last = cur[cur.length - 1];
    if (last && h.address - last.address > MAX_ZONE) {
      out.push(cur);
      cur = [];
    }
    cur.push(h);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** ECC size whose header parity checks out for zones of size S at the given addresses. */
function detectEcc(mem: PhysicalMemory, addrs: readonly number[], S: number): number {
  const sample = addrs.slice(0, 8);
  // The zones are read once, when the first length is tried, and kept for every other length.
  const zones: Uint8Array[] = [];
  for (let e = 1; e <= 127; e++) {
    if (2 * e + HEADER_SIZE >= S) break;
    try {
      zoneGeometry(S, e);
    } catch {
      continue;
    }
    for (let k = zones.length; k < sample.length; k++) zones.push(mem.read(sample[k] ?? 0, S));
    // A clean header is one whose stored parity is exactly its RS parity (what decode() === 0
    // means); computing it directly skips building a full codec for every length tried.
    if (zones.every((z) => rsParityMatches(z.subarray(0, HEADER_SIZE), z.subarray(S - e, S)))) return e;
  }
  return 0;
}

interface Walked {
  readonly kind: 'D' | 'F';
  readonly address: number;
  /** undefined for the last zone: it reaches the (unknown) region end. */
  readonly size: number | undefined;
  readonly hit: SigHit;
}

const RULES: readonly (LayoutRules & { label: string })[] = [
  { post49: true, pmsgFirst: true, evenZones: true, ftraceZones: 1, label: '6.6+ (pmsg before ftrace, even zone sizes)' },
  { post49: true, pmsgFirst: true, evenZones: false, ftraceZones: 1, label: '6.2..6.5 (pmsg before ftrace)' },
  { post49: true, pmsgFirst: false, evenZones: true, ftraceZones: 1, label: '6.1.158+/5.4.286+ (even zone sizes)' },
  { post49: true, pmsgFirst: false, evenZones: false, ftraceZones: 1, label: '4.10..6.1' },
  { post49: false, pmsgFirst: false, evenZones: false, ftraceZones: 1, label: '4.9' },
];

/** Scan a dump for ramoops regions and infer their configurations. */
export function scan(mem: PhysicalMemory, onProgress?: (p: ScanProgress) => void): ScanResult {
  const hits = findDbgc(mem, onProgress);
  const regions: InferredRegion[] = [];
  const unexplained: { address: number; hits: number }[] = [];
  for (const c of cluster(hits)) {
    const r = inferCluster(mem, c);
    if (r) regions.push(r);
    else unexplained.push({ address: c[0]?.address ?? 0, hits: c.length });
  }
  return { regions, signaturesSeen: hits.length, unexplained };
}

function inferCluster(mem: PhysicalMemory, hits: readonly SigHit[]): InferredRegion | undefined {
  // Try each hit as the region start, earliest first: stray "DBGC" bytes before the region are skipped.
  for (let s = 0; s < Math.min(hits.length, 4); s++) {
    const r = inferFrom(mem, hits.slice(s));
    if (r) return r;
  }
  return undefined;
}

function inferFrom(mem: PhysicalMemory, hits: readonly SigHit[]): InferredRegion | undefined {
  const first = hits[0];
  if (!first) return undefined;
  const base = first.address;
  const dAddrs = new Set(hits.map((h) => h.address));
  const second = hits[1];
  const d = second ? second.address - base : undefined;
  const reasons: string[] = [];
  // The dmesg run: equally spaced DBGC headers from the start.
  let run = 1;
  if (d !== undefined) while (dAddrs.has(base + run * d)) run++;
  const candidates: { config: RamoopsConfig; label: string; walked: number }[] = [];
  const ecc = d
    ? detectEcc(
        mem,
        hits.slice(0, run).map((h) => h.address),
        d,
      )
    : 0;
  if (ecc) reasons.push(`header parity checks out with ecc=${ecc} (Reed-Solomon, 128-byte blocks)`);
  let versionCode: number | undefined;
  let zonesFound = 0;
  for (const n of d === undefined ? [0] : [run, run - 1]) {
    if (n < 0) continue;
    const walked: Walked[] = [];
    for (let i = 0; i < n && d !== undefined; i++) walked.push({ kind: 'D', address: base + i * d, size: d, hit: hits[i] ?? first });
    let p = base + n * (d ?? 0);
    // Walk what follows the dmesg zones.
    for (let guard = 0; guard < 8; guard++) {
      if (dAddrs.has(p)) {
        const next = hits.find((h) => h.address > p);
        // A zone after the dmesg run is console or pmsg, whose size the kernel rounds down to a
        // power of two: an ftrace zone after it starts at p + 2^k. Looking only there (not through
        // up to 16 MiB of text, where the signature bytes also occur) is faster and surer.
        let nextF: SigHit | undefined;
        for (let s = 16; s <= MAX_ZONE && nextF === undefined && (next === undefined || p + s < next.address); s *= 2) nextF = ftraceSigAt(mem, p + s);
        const hit = hits.find((h) => h.address === p) ?? first;
        const bound = Math.min(next?.address ?? Infinity, nextF?.address ?? Infinity);
        // A zone's next neighbour must be a real zone start: a D header, or an ftrace header right at it.
        const size = Number.isFinite(bound) && bound - p <= MAX_ZONE && (next?.address === bound || isPow2(bound - p)) ? bound - p : undefined;
        walked.push({ kind: 'D', address: p, size, hit });
        if (size === undefined) break;
        p += size;
        continue;
      }
      const f = findFtraceSigs(mem, p, p + HEADER_SIZE)[0];
      if (!f || f.address !== p || f.versionCode === undefined) break;
      versionCode = f.versionCode;
      const sig = (PERSISTENT_RAM_SIG ^ f.versionCode) >>> 0;
      // Same-signature zones follow at a fixed stride.
      // ftrace zones share one ftrace_size: look no further than the largest plausible one (or the next header).
      const nextHit = hits.find((h) => h.address > p);
      const rangeEnd = mem.ranges().find((r) => r.start <= p && p < r.end)?.end ?? p + 4;
      const window = mem.read(p, Math.min(MAX_ZONE, rangeEnd - p, nextHit ? nextHit.address - p + 4 : MAX_ZONE));
      const same: number[] = [];
      const b0 = sig & 0xff;
      for (let i = window.indexOf(b0); i >= 0 && i + 4 <= window.length; i = window.indexOf(b0, i + 1)) {
        if (((window[i] ?? 0) | ((window[i + 1] ?? 0) << 8) | ((window[i + 2] ?? 0) << 16) | ((window[i + 3] ?? 0) << 24)) >>> 0 === sig) same.push(i);
      }
      let stride = same.length > 1 ? (same[1] ?? 0) - (same[0] ?? 0) : undefined;
      // One ftrace zone (one CPU, or DT without per-CPU): it ends where the next header starts.
      const nextD = hits.find((h) => h.address > p);
      if (same.length <= 1 && nextD && nextD.address - p <= MAX_ZONE) stride = nextD.address - p;
      if (same.length > 1 && nextD && stride !== undefined && nextD.address < p + stride) stride = nextD.address - p;
      let m = 1;
      if (stride && same.length > 1) while (same.includes(m * stride)) m++;
      for (let k = 0; k < m; k++) walked.push({ kind: 'F', address: p + k * (stride ?? 0), size: stride, hit: f });
      if (stride === undefined) break;
      p += m * stride;
    }
    zonesFound = Math.max(zonesFound, walked.length);
    candidates.push(...propose(walked, n, d ?? 0, ecc, base).map((c) => ({ ...c, walked: walked.length })));
  }
  if (!candidates.length) return undefined;
  // One empty header alone is too little evidence: "DBGC" also occurs in code and data.
  if (zonesFound < 2 && !(first.size > 0 && first.start >= 0 && first.start <= first.size)) return undefined;
  // Prefer region sizes a person would choose: page multiples, then powers of two (computed
  // once per candidate: there can be thousands, and the sort compares each many times).
  const score = (c: RamoopsConfig): number => (isPow2(c.memSize) ? 2 : 0) + (c.memSize % 4096 === 0 ? 1 : 0);
  const scored = candidates.map((c) => ({ ...c, score: score(c.config) }));
  // A configuration that explains more of the headers found wins first.
  scored.sort((a, b) => b.walked - a.walked || b.score - a.score || a.config.memSize - b.config.memSize);
  const top = scored[0];
  if (!top) return undefined;
  // The compressor is not part of the layout; a stored record's stream magic tells it.
  const compress = n0Compressor(mem, top.config);
  if (compress) reasons.push(`dmesg records are compressed with ${compress} (stream magic)`);
  const best = compress ? { ...top, config: { ...top.config, compress } } : top;
  const sameShape = scored.slice(1).filter((a) => a.walked === best.walked && a.score === score(best.config) && a.config.memSize !== best.config.memSize);
  reasons.push(`${zonesFound} zone headers found from 0x${base.toString(16)}; the computed layout puts every zone exactly on one`);
  if (versionCode !== undefined)
    reasons.push(`ftrace signatures carry kernel version ${versionCode >>> 16}.${(versionCode >>> 8) & 0xff}.${versionCode & 0xff}`);
  if (sameShape.length)
    reasons.push(`${sameShape.length} other configuration(s) fit equally (e.g. the last zone's size or the slack at the end cannot be seen)`);
  const confidence = sameShape.length === 0 && isPow2(best.config.memSize) ? 'high' : sameShape.length === 0 ? 'medium' : 'low';
  reasons.push(`layout rules that fit: ${best.label}`);
  return {
    config: best.config,
    layoutLabel: best.label,
    confidence,
    reasons,
    alternatives: sameShape.slice(0, 5).map((a) => a.config),
    versionCode,
    zonesFound,
  };
}

/** Configurations that reproduce the walked zones exactly. */
function propose(walked: readonly Walked[], n: number, d: number, ecc: number, base: number): { config: RamoopsConfig; label: string }[] {
  const after = walked.slice(n);
  const ds = after.filter((w) => w.kind === 'D');
  const fs = after.filter((w) => w.kind === 'F');
  const m = fs.length;
  const fz = fs[0]?.size ?? undefined;
  const pow2Options = (w: Walked | undefined): number[] => {
    if (!w) return [0];
    if (w.size !== undefined) return isPow2(w.size) ? [w.size] : [];
    // Last zone: at least big enough for what its header says it holds.
    const need = Math.max(w.hit.size, 0) + HEADER_SIZE + 1;
    const out: number[] = [];
    for (let s = Math.max(512, roundDownPow2(need) * (isPow2(need) ? 1 : 2)); s <= MAX_ZONE && out.length < 6; s *= 2) out.push(s);
    return out;
  };
  // Which D zone after dmesg is console and which pmsg; with one, either is possible.
  const roles: { c: Walked | undefined; p: Walked | undefined }[] = [];
  if (ds.length === 2) roles.push({ c: ds[0], p: ds[1] });
  else if (ds.length === 1) roles.push({ c: ds[0], p: undefined }, { c: undefined, p: ds[0] });
  else if (ds.length === 0) roles.push({ c: undefined, p: undefined });
  const fOptions: number[] = [];
  if (m && fz) {
    const last = fs[m - 1];
    for (let f = 1; f <= MAX_ZONE * 64; f *= 2) {
      const z = Math.floor(f / m);
      if (z === fz || z - (z % 2) === fz) fOptions.push(f);
    }
    void last;
  } else if (m && !fz) {
    for (let f = 4096; f <= MAX_ZONE && fOptions.length < 6; f *= 2) fOptions.push(f);
  } else fOptions.push(0);
  const out: { config: RamoopsConfig; label: string }[] = [];
  const r = n ? roundDownPow2(d) : 0;
  // Thousands of candidates are tried: compare placements, never build their layouts.
  const expected = expectZones(walked.map((w) => ({ address: w.address, ftrace: w.kind === 'F', size: w.size })));
  // Rule sets that differ only in where pmsg goes relative to ftrace place the same zones when
  // the configuration lacks one of the two: each distinct placement is tried once, and every
  // rule set's label is credited in RULES order, as if each had been tried.
  const rulesFor = (orderMatters: boolean): { rules: LayoutRules; label: string; group: number }[] => {
    const keys: string[] = [];
    return RULES.map((r) => {
      const key = `${r.post49}:${r.evenZones}:${orderMatters ? r.pmsgFirst : '-'}`;
      if (!keys.includes(key)) keys.push(key);
      return { rules: { ...r, ftraceZones: Math.max(1, m) }, label: r.label, group: keys.indexOf(key) };
    });
  };
  const rulesBoth = rulesFor(true);
  const rulesOne = rulesFor(false);
  for (const role of roles) {
    for (const c of pow2Options(role.c)) {
      for (const p of pow2Options(role.p)) {
        for (const f of fOptions) {
          const fixed = c + p + f;
          // dump_mem lies in [n*d, n*(d+2)) for 4.10+ (floor and even rounding), exactly n*r in 4.9;
          // with ftrace zones up to 2m+1 bytes of slack may follow. Each region size is tried once,
          // in increasing order: (dump_mem, slack) pairs with the same sum are the same
          // configuration, and below only its first appearance counts.
          const lo = n * d;
          const hi = n ? n * (d + 2) + 2 : 1;
          const maxSlack = m && fz ? 2 * m + 1 : 0;
          // Only mem_size varies below, and buildConfig checks nothing else of it but that it is not 0.
          let sized: RamoopsConfig;
          try {
            sized = buildConfig({
              memAddress: base,
              memSize: Math.max(1, lo + fixed),
              recordSize: r,
              consoleSize: c,
              ftraceSize: f,
              pmsgSize: p,
              ecc,
              cpus: m || undefined,
            }).config;
          } catch {
            continue;
          }
          const rules = p && f ? rulesBoth : rulesOne;
          for (let size = Math.max(1, lo + fixed); size < hi + fixed + maxSlack; size++) {
            const config = { ...sized, memSize: size };
            const placed: boolean[] = [];
            let label: string | undefined;
            for (const rr of rules) {
              placed[rr.group] ??= layoutPlaces(config, rr.rules, expected);
              if (placed[rr.group]) label = label === undefined ? rr.label : `${label}; ${rr.label}`;
            }
            if (label !== undefined) out.push({ config, label });
          }
        }
      }
    }
  }
  // Keep one entry per configuration (several rule sets can fit the same zones).
  const byKey = new Map<string, { config: RamoopsConfig; label: string }>();
  for (const o of out) {
    const k = `${o.config.memSize}:${o.config.recordSize}:${o.config.consoleSize}:${o.config.ftraceSize}:${o.config.pmsgSize}:${o.config.eccSize}`;
    const prev = byKey.get(k);
    if (prev === undefined) {
      byKey.set(k, o);
      continue;
    }
    const labels = prev.label.split('; ');
    for (const l of o.label.split('; ')) if (!labels.includes(l)) labels.push(l);
    byKey.set(k, { config: prev.config, label: labels.join('; ') });
  }
  return [...byKey.values()];
}

/**
 * The compressor of the stored dmesg records: raw LZO, LZ4 and 842 streams carry no magic, so
 * try each decoder on the first record and keep the one whose text starts like a pstore dump
 * ("Panic#1 Part1"). undefined means deflate, the default, or nothing to judge by. Deflate, the
 * default and by far the most common, is tried first on the record's opening bytes alone (a few
 * ECC blocks corrected, a few hundred bytes inflated); the rest need the whole record.
 */
function n0Compressor(mem: PhysicalMemory, c: RamoopsConfig): string | undefined {
  if (!c.recordSize) return undefined;
  let layout: Layout;
  try {
    layout = computeLayout(c, { post49: true, pmsgFirst: false, evenZones: true, ftraceZones: c.cpus ?? 1 });
  } catch {
    return undefined;
  }
  const payload = (z: Zone, prefix: number | undefined): Uint8Array | undefined => {
    try {
      const r = readZone(mem.read(z.address, z.geometry.size), z.geometry, {
        expectedSig: PERSISTENT_RAM_SIG,
        emptyNeedsStartZero: false,
        rsMode: 'v5.3+',
        prefix,
      });
      if (r.status !== 'ok') return undefined;
      const h = parseDmesgHeader(r.oldLog, true);
      return h && h.compressed ? r.oldLog.subarray(h.length) : undefined;
    } catch {
      return undefined;
    }
  };
  const dumpText = (text: Uint8Array | undefined): boolean => text !== undefined && DUMP_START.test(String.fromCharCode(...text.subarray(0, 40)));
  const zones = layout.zones.filter((zz) => zz.kind === 'dmesg').slice(0, 4);
  for (const z of zones) if (dumpText(inflatePrefix(payload(z, 1024) ?? new Uint8Array(0), 40))) return undefined;
  for (const z of zones) {
    const whole = payload(z, undefined);
    if (whole === undefined) continue;
    for (const algorithm of ['zstd', 'lzo', 'lz4', '842', 'zlib'] as const) {
      try {
        if (dumpText(decompress(algorithm, whole, 4 * z.geometry.size))) return algorithm;
      } catch {
        // not this one
      }
    }
  }
  return undefined;
}

const DUMP_START = /^(Panic|Oops|Emergency|Shutdown|Restart|Halt|Poweroff|Unknown)#\d+ Part\d+\n/;
