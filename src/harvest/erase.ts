// What unlinking pstore files does to a ramoops region (docs/format.md §10): the backend
// resets the record's zone (start = size = 0, signature kept), so the next boot finds it
// empty. ftrace is the exception: only zone 0 is reset, per-CPU zones keep their data.

import { parsePstoreName } from './names.js';

/** What an erase did and what it left. */
export interface EraseReport {
  /** Files unlinked. */
  readonly unlinked: readonly string[];
  /** Files not unlinked, with why (not safely archived, unsafe name, rm failed). */
  readonly kept: readonly { readonly file: string; readonly why: string }[];
  /** Files listed again right after the unlink (should be none but `kept`). */
  readonly remaining: readonly string[];
  /** The zones the kernel reset, in words. */
  readonly zonesCleared: readonly string[];
  readonly notes: readonly string[];
}

/** The zones the kernel resets when these files are unlinked, and what it does not reset. */
export function zonesClearedBy(files: readonly string[]): { readonly zones: readonly string[]; readonly notes: readonly string[] } {
  const zones: string[] = [];
  const notes: string[] = [];
  for (const f of files) {
    const p = parsePstoreName(f);
    if (p === undefined) continue;
    if (p.backend !== 'ramoops') {
      zones.push(`${p.backend} record ${p.type} ${p.id} (backend erase)`);
      continue;
    }
    switch (p.type) {
      case 'dmesg':
        zones.push(`dmesg zone ${p.id}`);
        break;
      case 'ftrace':
        zones.push('ftrace zone 0');
        notes.push("with per-CPU ftrace only ftrace zone 0 is reset: the other CPUs' zones keep their data and show up again at the next boot");
        break;
      default:
        zones.push(`${p.type} zone`);
    }
  }
  return { zones, notes };
}
