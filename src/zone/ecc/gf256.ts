// GF(2^8) arithmetic for the kernel's ramoops Reed-Solomon code: field polynomial
// x^8+x^4+x^3+x^2+1 (0x11d), primitive element alpha = 2. Tables are built once at module
// load; everything else in the ECC code is table lookups on them.

/** The field polynomial the kernel passes to init_rs (ram_core's default). */
export const GF_POLY = 0x11d;

/** Number of non-zero field elements; exponents of alpha live modulo this. */
export const GF_ORDER = 255;

/** Stand-in for log(0), which does not exist; chosen so that GF_EXP[GF_LOG[0] + x] is 0 for any in-range log x. */
export const LOG_ZERO = 2 * GF_ORDER;

/**
 * alpha^i for 0 <= i < 510 (two periods), then zeros up to 2*LOG_ZERO: the sum of two logs from
 * GF_LOG (LOG_ZERO included) indexes it directly, no modulo and no zero test.
 */
export const GF_EXP: Uint8Array = new Uint8Array(2 * LOG_ZERO + 1);

/** log_alpha(x) for x = 1..255 (in 0..254); GF_LOG[0] = LOG_ZERO. */
export const GF_LOG: Uint16Array = new Uint16Array(256);

/** Full multiplication table: GF_MUL[(a << 8) | b] = a*b. 64 KiB, worth it for the branch-free decoder steps. */
export const GF_MUL: Uint8Array = new Uint8Array(256 * 256);

{
  let x = 1;
  for (let i = 0; i < GF_ORDER; i++) {
    GF_EXP[i] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLY;
  }
  GF_LOG[0] = LOG_ZERO;
  // Two periods cover log a + log b; the zero sentinel region must read as 0.
  for (let i = GF_ORDER; i < 2 * GF_ORDER; i++) GF_EXP[i] = GF_EXP[i - GF_ORDER]!;
  // Indices >= LOG_ZERO (= 510) are only reached when an operand was 0: leave them 0.
  for (let a = 1; a < 256; a++) {
    const la = GF_LOG[a]!;
    for (let b = 1; b < 256; b++) GF_MUL[(a << 8) | b] = GF_EXP[la + GF_LOG[b]!]!;
  }
}

/** a*b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  return GF_MUL[((a & 0xff) << 8) | (b & 0xff)]!;
}

/** alpha^e for any integer e (negative allowed). */
export function gfPow(e: number): number {
  const r = e % GF_ORDER;
  return GF_EXP[r < 0 ? r + GF_ORDER : r]!;
}

/** Multiplicative inverse of a non-zero element; throws RangeError for 0 (a logic error, not bad input). */
export function gfInv(a: number): number {
  if ((a & 0xff) === 0) throw new RangeError('gfInv(0)');
  return GF_EXP[GF_ORDER - GF_LOG[a & 0xff]!]!;
}

/** a/b for b != 0; throws RangeError for b = 0. */
export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}
