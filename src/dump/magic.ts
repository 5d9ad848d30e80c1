// What a dump's first bytes say it is. Apart from the readers so that a caller can tell a raw
// file from the others without loading them: `ramoops scan` starts its search over a raw file
// first and loads the readers and the inference code while it runs.

/** The signature of disk_dump_header for kdump files (makedumpfile diskdump_mod.h KDUMP_SIGNATURE). */
export const KDUMP_SIGNATURE = 'KDUMP   ';

// struct makedumpfile_header's signature[16] (makedumpfile.h; QEMU MakedumpfileHeader), NUL-padded.
const FLATTENED_SIGNATURE = 'makedumpfile';

/** True when `head` starts with the ELF magic (\x7fELF). */
export function isElf(head: Uint8Array): boolean {
  return head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/** True when `head` starts with "KDUMP   ". */
export function isKdump(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  for (let i = 0; i < 8; i++) if (head[i] !== KDUMP_SIGNATURE.charCodeAt(i)) return false;
  return true;
}

/** True when `head` starts with the flattened format's signature. */
export function isFlattened(head: Uint8Array): boolean {
  if (head.length < 16) return false;
  for (let i = 0; i < 16; i++) {
    const want = i < FLATTENED_SIGNATURE.length ? FLATTENED_SIGNATURE.charCodeAt(i) : 0;
    if (head[i] !== want) return false;
  }
  return true;
}

/** What the first bytes say the dump is: ELF, kdump, a flattened stream, or nothing known (raw). */
export function detectFormat(head: Uint8Array): 'elf' | 'kdump' | 'flattened' | 'raw' {
  if (isElf(head)) return 'elf';
  if (isKdump(head)) return 'kdump';
  if (isFlattened(head)) return 'flattened';
  return 'raw';
}
