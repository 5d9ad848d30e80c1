// The output side of the LZ77-style decoders (LZ4, LZO, 842): a byte buffer that grows up to
// the caller's limit, so a small record never allocates the whole work-buffer size and a bad
// stream can never make it grow past that limit.

/** Output bytes of a decoder, bounded by `limit`; callers check room before writing. */
export class Window {
  private buf: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  constructor(
    readonly limit: number,
    sizeHint: number,
  ) {
    this.buf = new Uint8Array(Math.max(0, Math.min(limit, Math.max(sizeHint, 4096))));
  }

  /** Room for `n` more bytes (the caller has checked `length + n <= limit`). */
  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends `src[from, from + n)`. */
  literal(src: Uint8Array, from: number, n: number): void {
    this.reserve(n);
    this.buf.set(src.subarray(from, from + n), this.length);
    this.length += n;
  }

  /** Appends `n` bytes copied one at a time from `distance` back, so a short distance repeats a pattern. */
  match(distance: number, n: number): void {
    this.reserve(n);
    const b = this.buf;
    let o = this.length;
    let m = o - distance;
    if (distance >= n) b.copyWithin(o, m, m + n);
    else for (const end = o + n; o < end;) b[o++] = b[m++] ?? 0;
    this.length += n;
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  /** The byte at `pos` (< length). */
  at(pos: number): number {
    return this.buf[pos] ?? 0;
  }

  /** The bytes written, as a copy of exactly `length` bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
