// A cpio "newc" (SVR4, no CRC) writer: the format the kernel's initramfs unpacker reads
// (init/initramfs.c; layout in Documentation/driver-api/early-userspace/buffer-format.rst).
// Pure: entries in, bytes out. Owner, group and mtime are always 0 so the same inputs give
// the same archive, which is what lets the guest image be cached by content hash.
import { gzipSync } from 'fflate';

/** One archive member; paths are relative to the archive root ("bin/sh", not "/bin/sh"). */
export type CpioEntry =
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly type: 'dir'; readonly path: string; readonly mode: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | {
      readonly type: 'chardev';
      readonly path: string;
      readonly mode: number;
      readonly major: number;
      readonly minor: number;
    };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const HEADER_LEN = 110;
const TRAILER = 'TRAILER!!!';
const encoder = new TextEncoder();

interface Member {
  readonly name: Uint8Array;
  readonly mode: number;
  readonly nlink: number;
  readonly data: Uint8Array;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function hex8(field: string, n: number): string {
  // The header has room for 32 bits per field; a larger value would corrupt the archive silently.
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`cpio ${field} ${n} does not fit a newc header field`);
  }
  return n.toString(16).padStart(8, '0');
}

function normalisePath(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((part) => part === '' || part === '..')) {
    throw new RangeError(`cpio path ${JSON.stringify(path)} is empty, has an empty part or escapes the root`);
  }
  return p;
}

function toMember(e: CpioEntry): Member {
  const name = encoder.encode(normalisePath(e.path));
  switch (e.type) {
    case 'file':
      return { name, mode: S_IFREG | (e.mode & 0o7777), nlink: 1, data: e.data, rdevMajor: 0, rdevMinor: 0 };
    case 'dir':
      return { name, mode: S_IFDIR | (e.mode & 0o7777), nlink: 2, data: new Uint8Array(0), rdevMajor: 0, rdevMinor: 0 };
    case 'symlink':
      // A symlink's target is its data, without a terminating NUL.
      return { name, mode: S_IFLNK | 0o777, nlink: 1, data: encoder.encode(e.target), rdevMajor: 0, rdevMinor: 0 };
    case 'chardev':
      return {
        name,
        mode: S_IFCHR | (e.mode & 0o7777),
        nlink: 1,
        data: new Uint8Array(0),
        rdevMajor: e.major,
        rdevMinor: e.minor,
      };
  }
}

function header(m: Member, ino: number): Uint8Array {
  const fields: readonly (readonly [string, number])[] = [
    ['ino', ino],
    ['mode', m.mode],
    ['uid', 0],
    ['gid', 0],
    ['nlink', m.nlink],
    ['mtime', 0],
    ['filesize', m.data.length],
    ['devmajor', 0],
    ['devminor', 0],
    ['rdevmajor', m.rdevMajor],
    ['rdevminor', m.rdevMinor],
    ['namesize', m.name.length + 1],
    ['check', 0],
  ];
  return encoder.encode('070701' + fields.map(([f, v]) => hex8(f, v)).join(''));
}

/**
 * Serialises entries, in the given order, into a newc archive ending in TRAILER!!!.
 * Parents must come before children (the kernel does not create missing directories).
 */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const seen = new Set<string>();
  const members: Member[] = [];
  for (const e of entries) {
    const p = normalisePath(e.path);
    if (seen.has(p)) throw new RangeError(`cpio path ${JSON.stringify(p)} appears twice`);
    seen.add(p);
    members.push(toMember(e));
  }
  const trailer: Member = {
    name: encoder.encode(TRAILER),
    mode: 0,
    nlink: 1,
    data: new Uint8Array(0),
    rdevMajor: 0,
    rdevMinor: 0,
  };
  members.push(trailer);

  let total = 0;
  for (const m of members) {
    const nameEnd = HEADER_LEN + m.name.length + 1;
    total += nameEnd + pad4(nameEnd) + m.data.length + pad4(m.data.length);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  members.forEach((m, i) => {
    // Distinct inode numbers: the kernel treats equal (ino, dev) pairs with nlink > 1 as hard
    // links, and GNU cpio does the same when extracting. The trailer conventionally has ino 0.
    out.set(header(m, m === trailer ? 0 : i + 1), pos);
    pos += HEADER_LEN;
    out.set(m.name, pos);
    pos += m.name.length + 1; // the NUL is already there: the buffer starts zeroed
    pos += pad4(HEADER_LEN + m.name.length + 1);
    out.set(m.data, pos);
    pos += m.data.length + pad4(m.data.length);
  });
  return out;
}

/** gzip with a zero mtime, so equal archives compress to equal bytes. */
export function gzipCpio(archive: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return gzipSync(archive, { level, mtime: 0 });
}
