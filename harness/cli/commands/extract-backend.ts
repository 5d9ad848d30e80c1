// `ramoops extract` on the storage file of another pstore backend (QEMU acpi-erst store, OVMF
// variable store): the same output folder, table and JSON shape as for a RAM dump.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DETECT_BYTES, detectBackend, extractBackend, parseKernelVersion, type Backend, type BackendExtraction } from '../../../src/index.js';
import { hexAddr, table } from '../../../src/report/table.js';
import { writeConfined } from '../../io/artifacts.js';
import { resolveSettings, type ConfigArgs } from '../config-options.js';
import { InputError, prepareEmptyOutDir } from '../input.js';
import { collapseWarnings } from '../warnings.js';

/** Backend stores are small (OVMF's VARS file is 528 KiB or 2 MiB, an ERST store a few hundred KiB): refuse what cannot be one. */
const MAX_STORE = 64 << 20;

/** The backend a file's own first bytes say it is, or undefined (then it is a RAM dump). */
export function sniffBackend(path: string): Backend | undefined {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(DETECT_BYTES);
    const n = readSync(fd, head, 0, DETECT_BYTES, 0);
    return detectBackend(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

export interface BackendArgs extends ConfigArgs {
  dump: string;
  out: string;
  force: boolean;
  verbose: boolean;
  json: boolean;
}

/** JSON view of a backend extraction (bytes omitted; ids as decimal strings: ERST ids pass 2^53). */
export function backendJson(x: BackendExtraction, outDir: string): unknown {
  return {
    outDir,
    backend: x.backend,
    files: x.files.map((f) => ({
      name: f.name,
      type: f.type,
      id: f.id.toString(),
      size: f.size,
      mtime: f.mtime ?? null,
      offset: hexAddr(f.offset),
      compression: f.compression ?? null,
      notes: f.notes,
    })),
    decisions: x.decisions,
    warnings: x.warnings,
  };
}

/** Extract `a.dump` as the storage of `backend`; exit code 0 (a damaged store gives what it can, with warnings). */
export function extractBackendFile(a: BackendArgs, backend: Backend, size: number): void {
  if (size > MAX_STORE)
    throw new InputError('--backend', `${a.dump} is ${size} bytes; a ${backend} store is at most ${MAX_STORE} bytes: is this a RAM dump? drop --backend`);
  const { settings, warnings: cfgWarnings } = resolveSettings(a);
  const kernel = settings.kernelVersion === undefined ? undefined : parseKernelVersion(settings.kernelVersion);
  const x = extractBackend(backend, new Uint8Array(readFileSync(a.dump)), {
    ...(kernel ? { kernel } : {}),
    ...(settings.compress !== undefined ? { compress: settings.compress } : {}),
  });
  const dir = prepareEmptyOutDir('--out', a.out, a.force);
  for (const f of x.files) writeConfined(dir, f.name, f.bytes, f.mtime);
  const warnings = [...cfgWarnings, ...x.warnings];
  if (a.json) {
    process.stdout.write(JSON.stringify({ ...(backendJson(x, dir) as object), warnings }, null, 2) + '\n');
  } else {
    const rows = x.files.map((f) => [f.name, f.size, hexAddr(f.offset), f.mtime ? new Date(f.mtime.seconds * 1000).toISOString() : '-', f.notes.join('; ')]);
    process.stdout.write(table(['file', 'size', 'offset', 'mtime', 'notes'], rows) + '\n');
    process.stdout.write(`${x.files.length} file(s) written to ${dir} (${backend} store)\n`);
    for (const d of x.decisions) process.stdout.write(`note: ${d}\n`);
    for (const w of a.verbose ? warnings.map((w) => w.message) : collapseWarnings(warnings)) process.stderr.write(`warning: ${w}\n`);
  }
  process.exitCode = 0;
}
