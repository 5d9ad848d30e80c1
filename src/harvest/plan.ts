// Which folders a harvest adds to an archive. The rules that make the archive safe to harvest
// into again and again: a crash's folder name depends only on the record (time, reason,
// content hash), so a record seen before maps to a folder that exists and is skipped; boot
// logs (console, pmsg, ftrace) go beside the newest crash when that crash is new, since they
// are the log of the boot that crashed; boot logs already archived anywhere are not stored
// twice; new boot logs without a new crash get a folder of their own.

import type { Analysis, CrashInfo, RecordInfo, Sha256 } from './group.js';
import { archiveName } from './names.js';

/** What is in the archive already. */
export interface ArchiveState {
  /** Folder names present. */
  readonly folders: ReadonlySet<string>;
  /** `<file>:<sha256>` of every archived file (from the meta.json files). */
  readonly files: ReadonlySet<string>;
}

/** One folder of the plan. */
export interface PlannedFolder {
  readonly name: string;
  readonly kind: 'crash' | 'logs';
  /** The dump, for kind crash. */
  readonly crash: CrashInfo | undefined;
  /** Boot logs written into this folder. */
  readonly logs: readonly RecordInfo[];
  /** `exists`: the same record was archived before; nothing is written. */
  readonly status: 'new' | 'exists';
}

/** The folders to write or skip, in time order. */
export interface ArchivePlan {
  readonly folders: readonly PlannedFolder[];
  /** Boot logs identical to an archived copy: not written again. */
  readonly logsAlreadyArchived: readonly RecordInfo[];
}

/** Key of an archived file in ArchiveState.files. */
export function archivedFileKey(file: string, sha256: string): string {
  return `${file}:${sha256}`;
}

/** Plans where each harvested record goes. */
export function planArchive(analysis: Analysis, state: ArchiveState, sha256: Sha256): ArchivePlan {
  const newLogs = analysis.bootLogs.filter((l) => !state.files.has(archivedFileKey(l.file, l.sha256)));
  const logsAlreadyArchived = analysis.bootLogs.filter((l) => state.files.has(archivedFileKey(l.file, l.sha256)));
  const newest = analysis.crashes[analysis.crashes.length - 1];
  // Only when the newest crash is new can the logs be of the boot that wrote it; a newest
  // crash archived before means the logs come from a later boot that did not crash.
  const attachTo = newest !== undefined && !state.folders.has(newest.name) && newLogs.length > 0 ? newest.name : undefined;
  const folders: PlannedFolder[] = analysis.crashes.map((c) => ({
    name: c.name,
    kind: 'crash',
    crash: c,
    logs: c.name === attachTo ? newLogs : [],
    status: state.folders.has(c.name) ? 'exists' : 'new',
  }));
  if (attachTo === undefined && newLogs.length > 0) {
    // Named like a crash so it sorts among them; the hash covers each log's name and content.
    const key = newLogs.map((l) => archivedFileKey(l.file, l.sha256)).join('\n');
    const name = archiveName(Math.max(...newLogs.map((l) => l.mtime.seconds)), 'logs', sha256(new TextEncoder().encode(key)));
    folders.push({ name, kind: 'logs', crash: undefined, logs: newLogs, status: state.folders.has(name) ? 'exists' : 'new' });
  }
  return { folders, logsAlreadyArchived };
}
