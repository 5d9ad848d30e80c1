// One bounded little/big-endian cursor over a Uint8Array. All binary reads go through it so
// that an out-of-range read is a TruncatedError naming the structure, never a RangeError.
import { TruncatedError } from '../errors.js';

export class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    readonly littleEndian = true,
    start = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get length(): number {
    return this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(at: number, n: number): void {
    if (at < 0 || n < 0 || at + n > this.bytes.length) {
      throw new TruncatedError(this.what, at, n, Math.max(0, this.bytes.length - at));
    }
  }

  seek(pos: number): this {
    this.need(pos, 0);
    this.pos = pos;
    return this;
  }

  u8At(at: number): number {
    this.need(at, 1);
    return this.view.getUint8(at);
  }
  u16At(at: number): number {
    this.need(at, 2);
    return this.view.getUint16(at, this.littleEndian);
  }
  u32At(at: number): number {
    this.need(at, 4);
    return this.view.getUint32(at, this.littleEndian);
  }
  i32At(at: number): number {
    this.need(at, 4);
    return this.view.getInt32(at, this.littleEndian);
  }
  u64At(at: number): bigint {
    this.need(at, 8);
    return this.view.getBigUint64(at, this.littleEndian);
  }
  /** A 64-bit value that must fit a JS number (offsets, sizes); larger values are truncation-level errors. */
  u64NumAt(at: number): number {
    const v = this.u64At(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new TruncatedError(`${this.what} (64-bit value ${v} too large)`, at, 8, 8);
    }
    return Number(v);
  }
  /** A C `unsigned long` of a kernel whose word is `wordBytes` long (4 on 32-bit, 8 on 64-bit), in this reader's byte order. */
  wordAt(at: number, wordBytes: 4 | 8): bigint {
    return wordBytes === 8 ? this.u64At(at) : BigInt(this.u32At(at));
  }
  bytesAt(at: number, n: number): Uint8Array {
    this.need(at, n);
    return this.bytes.subarray(at, at + n);
  }

  u8(): number {
    const v = this.u8At(this.pos);
    this.pos += 1;
    return v;
  }
  u16(): number {
    const v = this.u16At(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.u32At(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.i32At(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.u64At(this.pos);
    this.pos += 8;
    return v;
  }
  take(n: number): Uint8Array {
    const v = this.bytesAt(this.pos, n);
    this.pos += n;
    return v;
  }
}
