// Reed-Solomon codec with the exact parameters and decoder verdicts of the Linux kernel's
// lib/reed_solomon as ramoops uses it: init_rs(symsize 8, gfpoly 0x11d, fcr 0, prim 1, nroots E),
// shortened RS(255, 255-E), data first (d[0] highest order), parity p[0] highest order.
//
// Speed matters for clean blocks (a dump holds thousands, nearly all intact), so the check is a
// re-encode and compare: a slicing-by-4 LFSR (four 256-row tables, one table row XOR per data
// byte, no per-byte shifting or branching) gives the parity the data should carry. Only when it
// differs are syndromes formed, and from the E-byte difference alone, so their cost does not
// grow with the block length. Berlekamp-Massey, Chien search and Forney reproduce the kernel's
// arithmetic (same BM variant and truncations), so inputs beyond capacity get the kernel's
// verdict too; both rules were checked bit for bit against libfec builds that carry them.
import { ConfigError } from '../../errors.js';
import { GF_EXP, GF_LOG, GF_MUL, GF_ORDER } from './gf256.js';

/** Which kernel decoder's return value rule to follow (see RsCodec.decode). */
export type RsMode = 'v5.3+' | 'legacy';

/** Optional out-parameter of RsCodec.decode: what the decoder found, for callers that report offsets. */
export interface RsCorrections {
  /** Ascending symbol positions: 0..len-1 are data bytes, len + i is parity byte i. */
  positions: number[];
  /** The error value at the same index: XORed into data, or what parity would need (parity is never written). */
  values: number[];
}

/** Reed-Solomon codec for one parity length, as the kernel's ramoops ECC uses it. */
export interface RsCodec {
  readonly nroots: number;
  /** parity of data (length 1..255-nroots) -> new Uint8Array(nroots) */
  encode(data: Uint8Array): Uint8Array;
  /** Check and correct `data` IN PLACE against `parity` (parity is not modified).
   *  Returns >= 0: number of symbols corrected (kernel >= 5.3 semantics: symbols actually changed, data or parity),
   *  or -1 for uncorrectable (kernel -EBADMSG: locator degree 0 with nonzero syndrome, root count != degree,
   *  error located in the implicit zero padding, or error pattern not reproducing the syndromes). Data is left
   *  untouched when -1 is returned.
   *  'legacy' (kernel <= 5.2): returns the number of roots of the error locator (zero-valued and
   *  padding positions included, those are not applied), -1 only when that differs from its degree.
   *  `corrections`, when given, is cleared and then lists the non-zero error values found in data
   *  and parity (only filled when the result is >= 0). */
  decode(data: Uint8Array, parity: Uint8Array, mode?: RsMode, corrections?: RsCorrections): number;
}

/** Symbols in the unshortened codeword. */
const NN = GF_ORDER;

/** The cached codec for `nroots` parity bytes (1..127); throws ConfigError otherwise. */
export function rsCodec(nroots: number): RsCodec {
  if (!Number.isInteger(nroots) || nroots < 1 || nroots > 127) {
    throw new ConfigError('ecc size', `Reed-Solomon parity length ${nroots} out of range 1..127`);
  }
  let c = cache.get(nroots);
  if (!c) {
    c = new Codec(nroots);
    cache.set(nroots, c);
  }
  return c;
}

const cache = new Map<number, RsCodec>();

/** g(x) = prod_{i<E} (x - alpha^i), coefficient of x^k at index k, g[E] = 1. */
function generator(e: number): Uint8Array {
  const g = new Uint8Array(e + 1);
  g[0] = 1;
  for (let i = 0; i < e; i++) {
    const root = GF_EXP[i]!;
    // times (x - root), which is (x + root) in characteristic 2
    for (let k = i + 1; k > 0; k--) g[k] = g[k - 1]! ^ GF_MUL[(g[k]! << 8) | root]!;
    g[0] = GF_MUL[(g[0] << 8) | root]!;
  }
  return g;
}

const generators = new Map<number, Uint8Array>();

/**
 * Whether `parity` is exactly the RS parity of `data` for nroots = parity.length: what
 * rsCodec(nroots).decode(data, parity) === 0 means (decode returns 0 only when the re-encoded
 * parity equals the stored one; any difference yields corrections or -1). A byte-at-a-time
 * LFSR without the codec's slicing tables: for one short block at each of many parity lengths
 * (scan's ECC detection tries 1..E) building the tables costs far more than they save.
 */
export function rsParityMatches(data: Uint8Array, parity: Uint8Array): boolean {
  const e = parity.length;
  if (e < 1 || e > 127) throw new ConfigError('ecc size', `Reed-Solomon parity length ${e} out of range 1..127`);
  if (data.length < 1 || data.length + e > NN) {
    throw new ConfigError('ecc block length', `${data.length} data bytes with ${e} parity bytes do not fit RS(255): need 1..${NN - e}`);
  }
  let g = generators.get(e);
  if (!g) generators.set(e, (g = generator(e)));
  const p = new Uint8Array(e);
  for (let i = 0; i < data.length; i++) {
    const row = (data[i]! ^ p[0]!) << 8;
    for (let j = 0; j < e - 1; j++) p[j] = p[j + 1]! ^ GF_MUL[row | g[e - 1 - j]!]!;
    p[e - 1] = GF_MUL[row | g[0]!]!;
  }
  for (let i = 0; i < e; i++) if (p[i] !== parity[i]) return false;
  return true;
}

class Codec implements RsCodec {
  readonly nroots: number;
  /** Register words: ceil(E/4); parity byte p[i] sits at bits 8*(i%4) of word i>>2, bytes past E stay 0. */
  private readonly words: number;
  /** Slicing tables T_k[x] (k = 0..3) at ((k*256)+x)*words: remainder of x * x^(E+k) mod g. */
  private readonly table: Int32Array;
  /** words + 1 entries; the extra zero word is what shifts into the top. */
  private readonly reg: Int32Array;
  // Decoder scratch, reused: a codec is not re-entrant, and JS gives it no concurrency anyway.
  private readonly diff: Uint8Array;
  private readonly syn: Uint8Array;
  private readonly lambdaA: Uint8Array;
  private readonly lambdaB: Uint8Array;
  /** Whichever of lambdaA/lambdaB holds the last locator (Berlekamp-Massey swaps them). */
  private locator: Uint8Array;
  private readonly bPoly: Uint8Array;
  private readonly omega: Uint8Array;
  private readonly rootLoc: Int32Array;
  private readonly errVal: Uint8Array;
  private readonly check: Uint8Array;

  constructor(e: number) {
    this.nroots = e;
    const w = (e + 3) >> 2;
    this.words = w;
    this.reg = new Int32Array(w + 1);
    this.table = buildTables(e, w);
    this.diff = new Uint8Array(e);
    this.syn = new Uint8Array(e);
    this.lambdaA = new Uint8Array(e + 1);
    this.lambdaB = new Uint8Array(e + 1);
    this.locator = this.lambdaA;
    this.bPoly = new Uint8Array(e + 1);
    this.omega = new Uint8Array(e);
    this.rootLoc = new Int32Array(e);
    this.errVal = new Uint8Array(e);
    this.check = new Uint8Array(e);
  }

  private checkLength(len: number): void {
    if (len < 1 || len + this.nroots > NN) {
      throw new ConfigError('ecc block length', `${len} data bytes with ${this.nroots} parity bytes do not fit RS(255): need 1..${NN - this.nroots}`);
    }
  }

  encode(data: Uint8Array): Uint8Array {
    this.checkLength(data.length);
    this.remainder(data);
    const out = new Uint8Array(this.nroots);
    const reg = this.reg;
    for (let i = 0; i < out.length; i++) out[i] = reg[i >> 2]! >>> ((i & 3) << 3);
    return out;
  }

  decode(data: Uint8Array, parity: Uint8Array, mode: RsMode = 'v5.3+', corrections?: RsCorrections): number {
    const e = this.nroots;
    this.checkLength(data.length);
    if (parity.length !== e) {
      throw new ConfigError('ecc parity', `${parity.length} parity bytes given, codec has ${e}`);
    }
    if (corrections) {
      corrections.positions.length = 0;
      corrections.values.length = 0;
    }
    this.remainder(data);
    const reg = this.reg;
    let differs = 0;
    const full = e >> 2;
    for (let j = 0; j < full; j++) {
      const p = j << 2;
      differs |= reg[j]! ^ (parity[p]! | (parity[p + 1]! << 8) | (parity[p + 2]! << 16) | (parity[p + 3]! << 24));
    }
    for (let p = full << 2; p < e; p++) differs |= ((reg[p >> 2]! >>> ((p & 3) << 3)) ^ parity[p]!) & 0xff;
    if (differs === 0) return 0;
    return this.correct(data, parity, mode === 'legacy', corrections);
  }

  /** Remainder of data(x) * x^E mod g(x) into this.reg (the parity a clean block would carry). */
  private remainder(data: Uint8Array): void {
    if (this.words === 4) remainder4(this.table, data, this.reg);
    else remainderAny(this.table, this.words, data, this.reg);
  }

  /** Slow path: the block is not a codeword. Same verdicts as decode_rs.c from the syndromes on. */
  private correct(data: Uint8Array, parity: Uint8Array, legacy: boolean, corrections: RsCorrections | undefined): number {
    const e = this.nroots;
    const len = data.length;
    const pad = NN - e - len;
    this.syndromes(parity);
    const deg = this.berlekampMassey();
    const lambda = this.locator;
    if (deg === 0) {
      // Non-zero syndrome but nothing to locate: 5.3+ says -EBADMSG; <= 5.2 found 0 roots of a
      // degree-0 locator, called that consistent and returned 0 without touching anything.
      return legacy ? 0 : -1;
    }
    const count = this.chien(lambda, deg, pad);
    if (count !== deg) {
      // 5.3+ rejects a root in the padding as well as missing roots; <= 5.2 only the latter.
      if (!legacy) return -1;
      if (count + countRootsBelow(lambda, deg, pad) !== deg) return -1;
    }
    const nonZero = this.forney(lambda, deg, count);
    if (!legacy && !this.reproducesSyndromes(count)) return -1;

    const errVal = this.errVal;
    const rootLoc = this.rootLoc;
    const dataEnd = NN - e;
    for (let r = 0; r < count; r++) {
      const ev = errVal[r]!;
      if (ev === 0) continue;
      const k = rootLoc[r]!;
      if (k < dataEnd) data[k - pad] = data[k - pad]! ^ ev;
      if (corrections) {
        corrections.positions.push(k - pad);
        corrections.values.push(ev);
      }
    }
    return legacy ? deg : nonZero;
  }

  /**
   * S_i = c(alpha^i), i < E, computed as diff(alpha^i) with diff = re-encoded parity XOR stored
   * parity: the received word minus diff(x) is a codeword (a multiple of g(x)), and g vanishes
   * at every alpha^i. E*E steps instead of (len+E)*E.
   */
  private syndromes(parity: Uint8Array): void {
    const e = this.nroots;
    const mul = GF_MUL;
    const reg = this.reg;
    const diff = this.diff;
    const syn = this.syn;
    for (let p = 0; p < e; p++) diff[p] = ((reg[p >> 2]! >>> ((p & 3) << 3)) ^ parity[p]!) & 0xff;
    // four syndromes at a time: independent Horner chains overlap their table-load latency
    let i = 0;
    for (; i + 4 <= e; i += 4) {
      const r0 = GF_EXP[i]! << 8;
      const r1 = GF_EXP[i + 1]! << 8;
      const r2 = GF_EXP[i + 2]! << 8;
      const r3 = GF_EXP[i + 3]! << 8;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < e; p++) {
        const d = diff[p]!;
        s0 = mul[r0 | s0]! ^ d;
        s1 = mul[r1 | s1]! ^ d;
        s2 = mul[r2 | s2]! ^ d;
        s3 = mul[r3 | s3]! ^ d;
      }
      syn[i] = s0;
      syn[i + 1] = s1;
      syn[i + 2] = s2;
      syn[i + 3] = s3;
    }
    for (; i < e; i++) {
      const row = GF_EXP[i]! << 8;
      let s = 0;
      for (let p = 0; p < e; p++) s = mul[row | s]! ^ diff[p]!;
      syn[i] = s;
    }
  }

  /**
   * Berlekamp-Massey in the kernel's formulation (same update rule, same truncation of x*B(x)
   * at degree E), so that beyond capacity the locator, and every verdict drawn from it, is the
   * kernel's. Leaves the locator in this.locator; returns its degree.
   */
  private berlekampMassey(): number {
    const e = this.nroots;
    const mul = GF_MUL;
    const syn = this.syn;
    let lambda = this.lambdaA;
    let t = this.lambdaB;
    const b = this.bPoly;
    for (let i = 0; i <= e; i++) {
      lambda[i] = 0;
      t[i] = 0;
      b[i] = 0;
    }
    lambda[0] = 1;
    b[0] = 1;
    let el = 0;
    // Upper bounds on the degrees of lambda and B, never decreasing: every coefficient above
    // them is 0 in both lambda buffers and in B, so loops can stop there and still produce
    // exactly the kernel's full-length arithmetic.
    let degL = 0;
    let degB = 0;
    for (let r = 1; r <= e; r++) {
      let d = 0;
      for (let i = Math.min(r - 1, degL); i >= 0; i--) d ^= mul[(lambda[i]! << 8) | syn[r - 1 - i]!]!;
      if (d !== 0) {
        // T = lambda + d*x*B (x*B truncated at degree E); the buffers then trade places
        const degT = Math.max(degL, Math.min(degB + 1, e));
        t[0] = lambda[0]!;
        const dRow = d << 8;
        const bTop = Math.min(degB, e - 1);
        for (let i = 0; i <= bTop; i++) t[i + 1] = lambda[i + 1]! ^ mul[dRow | b[i]!]!;
        for (let i = bTop + 2; i <= degT; i++) t[i] = lambda[i]!;
        const old = lambda;
        lambda = t;
        t = old;
        if (2 * el <= r - 1) {
          el = r - el;
          const dInv = GF_EXP[NN - GF_LOG[d]!]! << 8;
          for (let i = 0; i <= degL; i++) b[i] = mul[dInv | old[i]!]!;
          for (let i = degL + 1; i <= degB; i++) b[i] = 0;
          degB = Math.max(degB, degL);
          degL = degT;
          continue;
        }
        degL = degT;
      }
      // B = x*B, dropping the coefficient that would pass degree E
      const top = Math.min(degB + 1, e);
      for (let i = top; i > 0; i--) b[i] = b[i - 1]!;
      b[0] = 0;
      degB = top;
    }
    this.locator = lambda;
    let deg = 0;
    for (let i = 1; i <= e; i++) if (lambda[i] !== 0) deg = i;
    return deg;
  }

  /**
   * Chien search over the real symbols: position k of the 255-symbol word (k < pad is the
   * implicit padding) is an error location when lambda(alpha^(k+1)) = 0. Fills rootLoc in
   * ascending k; stops at deg roots (there are no more).
   */
  private chien(lambda: Uint8Array, deg: number, pad: number): number {
    const rootLoc = this.rootLoc;
    if (deg === 1) {
      // the common single error: lambda = 1 + l1*x has its root at 1/l1 = alpha^(255 - log l1)
      const k = NN - 1 - GF_LOG[lambda[1]!]!;
      if (k < pad) return 0;
      rootLoc[0] = k;
      return 1;
    }
    const mul = GF_MUL;
    const exp = GF_EXP;
    const top = lambda[deg]!;
    let count = 0;
    let k = pad;
    // four positions per pass: independent Horner chains overlap their table-load latency
    for (; k + 4 <= NN; k += 4) {
      const r0 = exp[k + 1]! << 8;
      const r1 = exp[k + 2]! << 8;
      const r2 = exp[k + 3]! << 8;
      const r3 = exp[k + 4]! << 8;
      let v0 = top;
      let v1 = top;
      let v2 = top;
      let v3 = top;
      for (let i = deg - 1; i >= 0; i--) {
        const c = lambda[i]!;
        v0 = mul[r0 | v0]! ^ c;
        v1 = mul[r1 | v1]! ^ c;
        v2 = mul[r2 | v2]! ^ c;
        v3 = mul[r3 | v3]! ^ c;
      }
      if ((v0 && v1 && v2 && v3) === 0) {
        if (v0 === 0) rootLoc[count++] = k;
        if (v1 === 0) rootLoc[count++] = k + 1;
        if (v2 === 0) rootLoc[count++] = k + 2;
        if (v3 === 0) rootLoc[count++] = k + 3;
        if (count === deg) return count;
      }
    }
    for (; k < NN; k++) {
      const row = exp[k + 1]! << 8;
      let v = top;
      for (let i = deg - 1; i >= 0; i--) v = mul[row | v]! ^ lambda[i]!;
      if (v === 0) {
        rootLoc[count] = k;
        if (++count === deg) break;
      }
    }
    return count;
  }

  /**
   * Forney: error value at each root, fcr = 0: omega(X^-1) * (X^-1)^(fcr-1) / lambda'(X^-1),
   * omega = S(x)*lambda(x) mod x^deg (the kernel truncates at deg, not at E). Fills errVal;
   * returns how many are non-zero.
   */
  private forney(lambda: Uint8Array, deg: number, count: number): number {
    const mul = GF_MUL;
    const syn = this.syn;
    const omega = this.omega;
    const rootLoc = this.rootLoc;
    const errVal = this.errVal;
    for (let i = 0; i < deg; i++) {
      let v = 0;
      for (let j = 0; j <= i; j++) v ^= mul[(syn[i - j]! << 8) | lambda[j]!]!;
      omega[i] = v;
    }
    let nonZero = 0;
    for (let r = 0; r < count; r++) {
      const xInv = GF_EXP[rootLoc[r]! + 1]!;
      const xRow = xInv << 8;
      let num = 0;
      for (let i = deg - 1; i >= 0; i--) num = mul[xRow | num]! ^ omega[i]!;
      if (num === 0) {
        errVal[r] = 0;
        continue;
      }
      // lambda'(x) keeps the odd coefficients: Horner in x^2 over lambda_1, lambda_3, ...
      const x2Row = mul[xRow | xInv]! << 8;
      let den = 0;
      for (let i = deg & 1 ? deg : deg - 1; i >= 1; i -= 2) den = mul[x2Row | den]! ^ lambda[i]!;
      // den != 0: with deg distinct roots lambda is square-free
      const q = mul[xRow | den]!;
      errVal[r] = mul[(num << 8) | GF_EXP[NN - GF_LOG[q]!]!]!;
      nonZero++;
    }
    return nonZero;
  }

  /** 5.3+ check: the error pattern found must give back every syndrome, else the locator was false. */
  private reproducesSyndromes(count: number): boolean {
    const e = this.nroots;
    const syn = this.syn;
    const errVal = this.errVal;
    const rootLoc = this.rootLoc;
    const chk = this.check;
    chk.fill(0, 0, e);
    for (let r = 0; r < count; r++) {
      const ev = errVal[r]!;
      if (ev === 0) continue;
      // error value times X^i, X = alpha^(254-k), as a running log kept below 255
      const step = NN - 1 - rootLoc[r]!;
      let l = GF_LOG[ev]!;
      for (let i = 0; i < e; i++) {
        chk[i] = chk[i]! ^ GF_EXP[l]!;
        l += step;
        if (l >= NN) l -= NN;
      }
    }
    for (let i = 0; i < e; i++) if (chk[i] !== syn[i]) return false;
    return true;
  }
}

/** Roots of lambda among padding positions 0..pad-1 (only the <= 5.2 rule needs them). */
function countRootsBelow(lambda: Uint8Array, deg: number, pad: number): number {
  let n = 0;
  for (let k = 0; k < pad; k++) {
    const x = GF_EXP[k + 1]!;
    let v = 0;
    for (let i = deg; i >= 0; i--) v = GF_MUL[(v << 8) | x]! ^ lambda[i]!;
    if (v === 0) n++;
  }
  return n;
}

/** The four slicing tables, derived from a plain byte-at-a-time LFSR over g(x). */
function buildTables(e: number, w: number): Int32Array {
  const g = generator(e);
  const table = new Int32Array(4 * 256 * w);
  const p = new Uint8Array(e);
  for (let x = 0; x < 256; x++) {
    p.fill(0);
    // feed x, then up to three zero bytes; the state after k zeros is T_k[x]
    let feed = x;
    for (let k = 0; k < 4; k++) {
      const fb = feed ^ p[0]!;
      const row = fb << 8;
      for (let j = 0; j < e - 1; j++) p[j] = p[j + 1]! ^ GF_MUL[row | g[e - 1 - j]!]!;
      p[e - 1] = GF_MUL[row | g[0]!]!;
      feed = 0;
      const base = (k * 256 + x) * w;
      for (let i = 0; i < e; i++) table[base + (i >> 2)] = table[base + (i >> 2)]! | (p[i]! << ((i & 3) << 3));
    }
  }
  return table;
}

// Why slicing-by-4 works: with R the register as a polynomial of degree < E, four bytes give
// R' = (R*x^4 + d0 x^(E+3) + d1 x^(E+2) + d2 x^(E+1) + d3 x^E) mod g. The top four register
// bytes fold into the d's (b_k = d_k ^ p_k) and the rest of R*x^4 is the register shifted by one
// word, already reduced. A length that is not a multiple of 4 is handled as if preceded by zero
// bytes, which leave a zero register unchanged.

/** Generic width: `reg` has words+1 entries, the last one permanently 0. */
function remainderAny(t: Int32Array, w: number, data: Uint8Array, reg: Int32Array): void {
  reg.fill(0);
  const n = data.length;
  const head = n & 3;
  for (let m = 0; m < head; m++) {
    const o = ((head - 1 - m) * 256 + data[m]!) * w;
    for (let j = 0; j < w; j++) reg[j] = reg[j]! ^ t[o + j]!;
  }
  for (let i = head; i < n; i += 4) {
    const w0 = reg[0]!;
    const o3 = (768 + ((data[i]! ^ w0) & 255)) * w;
    const o2 = (512 + ((data[i + 1]! ^ (w0 >>> 8)) & 255)) * w;
    const o1 = (256 + ((data[i + 2]! ^ (w0 >>> 16)) & 255)) * w;
    const o0 = ((data[i + 3]! ^ (w0 >>> 24)) & 255) * w;
    for (let j = 0; j < w; j++) reg[j] = reg[j + 1]! ^ t[o3 + j]! ^ t[o2 + j]! ^ t[o1 + j]! ^ t[o0 + j]!;
  }
}

/** E = 13..16 (ramoops' default E = 16): the same with the register in four locals. */
function remainder4(t: Int32Array, data: Uint8Array, reg: Int32Array): void {
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  const n = data.length;
  const head = n & 3;
  for (let m = 0; m < head; m++) {
    const o = ((head - 1 - m) * 256 + data[m]!) << 2;
    w0 ^= t[o]!;
    w1 ^= t[o + 1]!;
    w2 ^= t[o + 2]!;
    w3 ^= t[o + 3]!;
  }
  for (let i = head; i < n; i += 4) {
    const o3 = (768 + ((data[i]! ^ w0) & 255)) << 2;
    const o2 = (512 + ((data[i + 1]! ^ (w0 >>> 8)) & 255)) << 2;
    const o1 = (256 + ((data[i + 2]! ^ (w0 >>> 16)) & 255)) << 2;
    const o0 = ((data[i + 3]! ^ (w0 >>> 24)) & 255) << 2;
    w0 = w1 ^ t[o3]! ^ t[o2]! ^ t[o1]! ^ t[o0]!;
    w1 = w2 ^ t[o3 + 1]! ^ t[o2 + 1]! ^ t[o1 + 1]! ^ t[o0 + 1]!;
    w2 = w3 ^ t[o3 + 2]! ^ t[o2 + 2]! ^ t[o1 + 2]! ^ t[o0 + 2]!;
    w3 = t[o3 + 3]! ^ t[o2 + 3]! ^ t[o1 + 3]! ^ t[o0 + 3]!;
  }
  reg[0] = w0;
  reg[1] = w1;
  reg[2] = w2;
  reg[3] = w3;
}
