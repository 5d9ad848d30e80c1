// Understanding and archiving what a machine's /sys/fs/pstore holds (pure; the harness does the I/O).
export { classifyDmesg, stripLogPrefix, frameFunction, type DmesgInfo } from './dmesg.js';
export { parseEccNotice, withoutEccNotice, type EccNoticeInfo } from './ecc.js';
export { zonesClearedBy, type EraseReport } from './erase.js';
export { analyze, crashSummary, type Analysis, type CrashInfo, type HarvestedFile, type RecordInfo, type Sha256 } from './group.js';
export {
  buildManifest,
  crashMeta,
  logsMeta,
  parseCrashMeta,
  recordMeta,
  CRASH_META_FORMAT,
  MANIFEST_FORMAT,
  type CrashMeta,
  type HarvestContext,
  type Manifest,
  type ManifestRecord,
  type RecordMeta,
} from './manifest.js';
export { archiveName, isSafePstoreName, isoSeconds, parsePstoreName, utcStamp, ARCHIVE_NAME, SAFE_PSTORE_NAME, type PstoreName } from './names.js';
export { archivedFileKey, planArchive, type ArchivePlan, type ArchiveState, type PlannedFolder } from './plan.js';
export { harvestErrorJunit, harvestExitCode, harvestJson, harvestJunit, harvestText, xmlEscape, type CrashReport, type HarvestReport } from './report.js';
