// The ECC notice pstore appends to every record of a zone with ECC (docs/format.md §5):
// LF "ECC: <c> Corrected bytes, <u> unrecoverable blocks" LF or LF "ECC: No errors detected"
// LF, without the "ECC: " prefix before 5.18.

/** A record's trailing ECC notice. */
export interface EccNoticeInfo {
  /** The line as the kernel wrote it, without the LFs around it. */
  readonly text: string;
  readonly corrected: number;
  readonly unrecoverable: number;
  /** True for the 5.18+ form with "ECC: ". */
  readonly prefixed: boolean;
  /** Bytes the notice takes at the end of the record, both LFs included. */
  readonly length: number;
}

const NOTICE = /\n((ECC: )?(?:(\d{1,10}) Corrected bytes, (\d{1,10}) unrecoverable blocks|No errors detected))\n$/;

/** The notice at the end of a record, or undefined when the zone had no ECC. */
export function parseEccNotice(bytes: Uint8Array): EccNoticeInfo | undefined {
  // The longest notice is under 80 bytes; latin1 keeps one char per byte so lengths are byte counts.
  const tail = latin1(bytes.subarray(Math.max(0, bytes.length - 96)));
  const m = NOTICE.exec(tail);
  if (m === null || m[1] === undefined) return undefined;
  return {
    text: m[1],
    corrected: m[3] === undefined ? 0 : Number(m[3]),
    unrecoverable: m[4] === undefined ? 0 : Number(m[4]),
    prefixed: m[2] !== undefined,
    length: m[1].length + 2,
  };
}

/** The record without its ECC notice: what stays the same when a later boot counts errors differently. */
export function withoutEccNotice(bytes: Uint8Array): Uint8Array {
  const n = parseEccNotice(bytes);
  return n === undefined ? bytes : bytes.subarray(0, bytes.length - n.length);
}

/** One char per byte, so the text indexes like the bytes. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}
