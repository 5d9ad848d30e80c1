// The proof step: what the host parsed out of guest RAM against what the guest's own kernel
// shows in /sys/fs/pstore after the warm reboot. Pure (values in, a diff out) so it is tested
// on canned files; cycle.ts feeds it and report.ts renders it.
//
// What is compared, and why only that:
// - the set of names (a record one side has and the other lacks is the worst mismatch);
// - stat's size against our `size` (they differ from the byte count for ftrace, where the
//   kernel reports the binary length but reads back text);
// - the bytes `cat` returns against our bytes, reporting the first differing offset;
// - for dmesg files with a record time, the mtime: pstore sets i_mtime from the record header,
//   seconds and nanoseconds (the latter only when stat printed a fraction: 0 could mean none). console, pmsg and ftrace files (and dmesg records with a zero time) carry the
//   mount time, which says nothing about the parse, so they are not compared.

import type { PstoreFile as HostFile } from '../../src/index.js';
import type { PstoreFile as GuestFile } from '../ssh/session.js';

/** A few bytes around a difference, as hex and as text, for a person reading the diff. */
export interface ByteContext {
  /** Offset of the first byte shown. */
  readonly from: number;
  readonly hex: string;
  readonly text: string;
}

/** One way a file differs. */
export type FileProblem =
  | { readonly kind: 'size'; readonly host: number; readonly guest: number }
  | {
      readonly kind: 'bytes';
      /** First offset where the contents differ (the shorter length when one is a prefix of the other). */
      readonly offset: number;
      readonly hostLength: number;
      readonly guestLength: number;
      readonly host: ByteContext;
      readonly guest: ByteContext;
    }
  | { readonly kind: 'mtime'; readonly host: Timestamp; readonly guest: Timestamp };

/** A file time as pstore sets it (stat shows the nanoseconds too). */
export interface Timestamp {
  readonly seconds: number;
  readonly nanoseconds: number;
}

/** The verdict on one file name. */
export interface FileComparison {
  readonly name: string;
  /** missing: the host parsed it, the guest does not show it; extra: the reverse. */
  readonly status: 'match' | 'differs' | 'missing' | 'extra';
  readonly problems: readonly FileProblem[];
  /** Whether the mtime was part of the verdict (dmesg with a record time). */
  readonly mtimeCompared: boolean;
}

/** Host parse vs guest view, name by name (sorted). */
export interface Comparison {
  /** True when both sides have the same names and every file matches. */
  readonly matched: boolean;
  readonly files: readonly FileComparison[];
  readonly missing: readonly string[];
  readonly extra: readonly string[];
}

const CONTEXT_BEFORE = 16;
const CONTEXT_AFTER = 32;

/** Compares the host's extraction with the guest's /sys/fs/pstore listing. */
export function compareFiles(host: readonly HostFile[], guest: readonly GuestFile[]): Comparison {
  const hostByName = new Map(host.map((f) => [f.name, f] as const));
  const guestByName = new Map(guest.map((f) => [f.name, f] as const));
  const names = [...new Set([...hostByName.keys(), ...guestByName.keys()])].sort();
  const files: FileComparison[] = [];
  for (const name of names) {
    const h = hostByName.get(name);
    const g = guestByName.get(name);
    if (h === undefined) {
      files.push({ name, status: 'extra', problems: [], mtimeCompared: false });
      continue;
    }
    if (g === undefined) {
      files.push({ name, status: 'missing', problems: [], mtimeCompared: false });
      continue;
    }
    const problems: FileProblem[] = [];
    if (h.size !== g.size) problems.push({ kind: 'size', host: h.size, guest: g.size });
    const bytes = firstDifference(h.bytes, g.bytes);
    if (bytes !== undefined) {
      problems.push({
        kind: 'bytes',
        offset: bytes,
        hostLength: h.bytes.length,
        guestLength: g.bytes.length,
        host: byteContext(h.bytes, bytes),
        guest: byteContext(g.bytes, bytes),
      });
    }
    const mtimeCompared = h.type === 'dmesg' && h.mtime !== undefined;
    if (mtimeCompared && h.mtime !== undefined) {
      const guestTime = { seconds: g.mtime.seconds, nanoseconds: g.mtime.nsec };
      if (h.mtime.seconds !== guestTime.seconds || (guestTime.nanoseconds !== 0 && h.mtime.nanoseconds !== guestTime.nanoseconds)) {
        problems.push({ kind: 'mtime', host: { seconds: h.mtime.seconds, nanoseconds: h.mtime.nanoseconds }, guest: guestTime });
      }
    }
    files.push({ name, status: problems.length === 0 ? 'match' : 'differs', problems, mtimeCompared });
  }
  return {
    matched: files.every((f) => f.status === 'match'),
    files,
    missing: files.filter((f) => f.status === 'missing').map((f) => f.name),
    extra: files.filter((f) => f.status === 'extra').map((f) => f.name),
  };
}

/** The first offset where a and b differ, or undefined when they are equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}

/** Bytes around `offset` as hex and printable text (other bytes as '.'). */
export function byteContext(bytes: Uint8Array, offset: number): ByteContext {
  const from = Math.max(0, offset - CONTEXT_BEFORE);
  const slice = bytes.subarray(from, Math.min(bytes.length, offset + CONTEXT_AFTER));
  const hex = [...slice].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = [...slice].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return { from, hex, text };
}

/** The comparison as plain text for diff.txt: one paragraph per file that is not a match. */
export function formatComparison(c: Comparison): string {
  const lines: string[] = [];
  for (const f of c.files) {
    if (f.status === 'match') continue;
    if (f.status === 'missing') {
      lines.push(`${f.name}: parsed by the host, not shown by the guest`);
      continue;
    }
    if (f.status === 'extra') {
      lines.push(`${f.name}: shown by the guest, not parsed by the host`);
      continue;
    }
    lines.push(`${f.name}: differs`);
    for (const p of f.problems) {
      if (p.kind === 'size') lines.push(`  size: host ${p.host}, guest stat ${p.guest}`);
      else if (p.kind === 'mtime') lines.push(`  mtime: host ${timeText(p.host)}, guest ${timeText(p.guest)}`);
      else {
        lines.push(`  bytes: first difference at offset ${p.offset} (0x${p.offset.toString(16)}); host ${p.hostLength} bytes, guest ${p.guestLength} bytes`);
        lines.push(`    host  @0x${p.host.from.toString(16)}: ${p.host.hex}`);
        lines.push(`           |${p.host.text}|`);
        lines.push(`    guest @0x${p.guest.from.toString(16)}: ${p.guest.hex}`);
        lines.push(`           |${p.guest.text}|`);
      }
    }
  }
  return lines.length === 0 ? 'all files match\n' : lines.join('\n') + '\n';
}

function timeText(t: Timestamp): string {
  return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}`;
}
