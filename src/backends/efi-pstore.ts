// efi-pstore (drivers/firmware/efi/efi-pstore.c) reading an OVMF variable store: every live
// variable under LINUX_EFI_CRASH_GUID named dump-type<type>-<part>-<count>-<time>-<C|D> is a
// record; the file is <type>-efi-<(time·100 + part)·1000 + count> (efi_pstore from 6.2).
import { hex, type Warning } from '../errors.js';
import { LINUX_EFI_CRASH_GUID } from './guid.js';
import { liveVariables, readVariableStore, type EfiVariable } from './efi-varstore.js';
import { dropDuplicates, inflaterFor, recordFile, since, type BackendRecord } from './record.js';
import type { BackendExtraction, BackendOptions } from './types.js';

/** DUMP_NAME_LEN: ucs2_as_utf8() keeps at most 65 characters of the name. */
const DUMP_NAME_LEN = 66;
/** efi_pstore's record size: fixed at 1024 up to 6.1, the record_size parameter (min 1024) from 6.2. */
const RECORD_SIZE = 1024;

interface DumpName {
  readonly type: number;
  readonly part: number;
  readonly count: number;
  readonly time: bigint;
  readonly compressed: boolean;
}

/**
 * The kernel's sscanf of the name, tried as "dump-type%u-%u-%d-%llu-%c", then without the
 * data type, then the oldest "dump-type%u-%u-%llu": conversions run left to right and stop at
 * the first mismatch; a format matches when all of its conversions did.
 */
export function parseDumpName(name: string): DumpName | undefined {
  const m = /^dump-type(\d+)-(\d+)-(-?\d+)-(\d+)(?:-([\s\S]))?/.exec(name);
  const u32 = (s: string): number => Number(BigInt.asUintN(32, BigInt(s)));
  if (m) {
    const [, type = '', part = '', count = '', time = '', kind] = m;
    return {
      type: u32(type),
      part: u32(part),
      count: Number(BigInt.asIntN(32, BigInt(count))),
      time: BigInt.asUintN(64, BigInt(time)),
      compressed: kind === 'C',
    };
  }
  const old = /^dump-type(\d+)-(\d+)-(\d+)/.exec(name);
  if (!old) return undefined;
  const [, type = '', part = '', time = ''] = old;
  return { type: u32(type), part: u32(part), count: 0, time: BigInt.asUintN(64, BigInt(time)), compressed: false };
}

/** generic_id(): (timestamp * 100 + part) * 1000 + count, in u64 arithmetic. */
export function genericId(time: bigint, part: number, count: number): bigint {
  return BigInt.asUintN(64, (time * 100n + BigInt(part)) * 1000n + BigInt(count));
}

/**
 * efi_pstore_read() over the live crash-GUID variables. A name that no format matches makes
 * efi_pstore_read_func() return 0, which pstore takes as "no more records"; up to 6.1 a
 * variable larger than 1024 bytes fails GetVariable (buffer too small), which ends the read too.
 */
function records(vars: readonly EfiVariable[], options: BackendOptions, warnings: Warning[]): BackendRecord[] {
  const out: BackendRecord[] = [];
  const sizeLimited = !since(options, 6, 2);
  for (const v of vars.filter((x) => x.vendor === LINUX_EFI_CRASH_GUID)) {
    const name = v.name.slice(0, DUMP_NAME_LEN - 1);
    const d = parseDumpName(name);
    const stop = (why: string): number =>
      warnings.push({
        code: 'read-stopped',
        address: v.offset,
        message: `EFI variable ${JSON.stringify(v.name)} at ${hex(v.offset)}: ${why}: the kernel stops reading efi-pstore here, so no later record appears`,
      });
    if (!d) {
      stop('not a dump-type name');
      break;
    }
    if (sizeLimited && v.data.length > RECORD_SIZE) {
      stop(`${v.data.length} bytes do not fit the kernel's ${RECORD_SIZE}-byte buffer`);
      break;
    }
    const notes = [
      `EFI variable ${v.name} at ${hex(v.offset)}`,
      ...(v.afterDamage ? ['found behind a damaged variable header: the firmware would not show it'] : []),
    ];
    out.push({ type: d.type, id: genericId(d.time, d.part, d.count), compressed: d.compressed, payload: v.data, seconds: d.time, offset: v.offset, notes });
  }
  return out;
}

/** The files /sys/fs/pstore shows for an OVMF variable store holding efi-pstore records. */
export function extractEfi(bytes: Uint8Array, options: BackendOptions = {}): BackendExtraction {
  const warnings: Warning[] = [];
  const decisions: string[] = [];
  const store = readVariableStore(bytes, warnings);
  const live = liveVariables(store);
  const dead = store.variables.filter((v) => v.vendor === LINUX_EFI_CRASH_GUID && !live.includes(v));
  if (dead.length)
    decisions.push(`${dead.length} deleted, superseded or boot-time-only efi-pstore variable(s) in the store, not shown (the firmware hides them from the OS)`);
  const backendName = since(options, 6, 2) ? 'efi_pstore' : 'efi';
  if (!options.kernel)
    decisions.push(
      'no kernel version given: files named as 6.2+ kernels name them (dmesg-efi_pstore-…); give the kernel version for older names (dmesg-efi-…)',
    );
  const inflater = inflaterFor(options, decisions);
  const bufsize = Math.max(RECORD_SIZE, ...live.filter((v) => v.vendor === LINUX_EFI_CRASH_GUID).map((v) => (since(options, 6, 2) ? v.data.length : 0)));
  const files = records(live, options, warnings).map((r) => recordFile(r, backendName, inflater, bufsize, warnings));
  return { backend: 'efi', files: dropDuplicates(files, warnings), decisions, warnings };
}
