// Both sides' files as artifacts and as summaries for the report.

import type { PstoreFile as HostFile } from '../../src/index.js';
import { prepareOutDir, UnsafeNameError, writeConfined } from '../io/artifacts.js';
import type { FileSummary } from '../report/run-report.js';
import type { PstoreFile as GuestFile } from '../ssh/session.js';

/** Writes one side's files into a folder of the artifacts; a name pstore would never make is skipped, not followed. */
export function writeFiles(
  dir: string,
  files: readonly { name: string; bytes: Uint8Array; mtime: { seconds: number; nanoseconds: number } | undefined }[],
): void {
  const real = prepareOutDir(dir);
  for (const f of files) {
    try {
      writeConfined(real, f.name, f.bytes, f.mtime);
    } catch (e) {
      if (!(e instanceof UnsafeNameError)) throw e;
    }
  }
}

export function writeHostFiles(dir: string, files: readonly HostFile[]): void {
  writeFiles(
    dir,
    files.map((f) => ({ name: f.name, bytes: f.bytes, mtime: f.mtime })),
  );
}

export function writeGuestFiles(dir: string, files: readonly GuestFile[]): void {
  writeFiles(
    dir,
    files.map((f) => ({ name: f.name, bytes: f.bytes, mtime: { seconds: f.mtime.seconds, nanoseconds: f.mtime.nsec } })),
  );
}

/** The ECC line pstore appends to a file, if any ("5 Corrected bytes, 0 unrecoverable blocks"). */
export function eccNoticeOf(bytes: Uint8Array): string | undefined {
  const tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 96))).toString('latin1');
  return /\n(?:ECC: )?(\d+ Corrected bytes, \d+ unrecoverable blocks|No errors detected)\n$/.exec(tail)?.[1];
}

export function hostSummary(f: HostFile): FileSummary {
  return {
    name: f.name,
    size: f.size,
    length: f.bytes.length,
    mtime: f.mtime?.seconds,
    eccNotice: eccNoticeOf(f.bytes),
    ...(f.compression === undefined ? {} : { compression: `${f.compression.algorithm}${f.compression.ok ? '' : ' (failed)'}` }),
  };
}

export function guestSummary(f: GuestFile): FileSummary {
  return { name: f.name, size: f.size, length: f.bytes.length, mtime: f.mtime.seconds, eccNotice: eccNoticeOf(f.bytes) };
}
