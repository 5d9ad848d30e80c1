// The read-zones step: every zone read as the kernel's probe does, with a report per zone.
import { hex } from '../errors.js';
import type { Zone } from '../layout/layout.js';
import { emptyNeedsStartZero } from '../kernel/version.js';
import { PERSISTENT_RAM_SIG } from '../zone/geometry.js';
import { probeSignature, readZone, type ZoneRead } from '../zone/read.js';
import { decideMaybe, plausibleFtraceCode, tryRead, type Located, type ZonesRead } from './context.js';
import { perCpuCheck } from './per-cpu.js';
import type { ZoneReport } from './types.js';

export function readZones(ctx: Located): ZonesRead {
  const { mem, config, layout, v, rsMode, exactCode, decisions, warnings } = ctx;
  const needStart0 = v
    ? decideMaybe(
        emptyNeedsStartZero(v),
        layout.rules.evenZones,
        'an empty zone needs start == 0 (follows the even-zone backport found in the layout)',
        decisions,
      )
    : true;
  const reads = new Map<Zone, ZoneRead | undefined>();
  const reports: ZoneReport[] = [];
  let ftraceCode: number | undefined;
  const le = config.abi?.littleEndian ?? true;
  for (const z of layout.zones) {
    const bytes = tryRead(mem, z);
    let read: ZoneRead | undefined;
    if (!bytes) {
      warnings.push({
        code: 'zone-not-captured',
        zone: `${z.kind}-${z.index}`,
        address: z.address,
        message: `${z.kind} zone ${z.index} at ${hex(z.address)} (${z.geometry.size} bytes) is not in the dump (${mem.description}); skipped`,
      });
    } else {
      let expectedSig = PERSISTENT_RAM_SIG;
      if (z.kind === 'ftrace') {
        const sig = probeSignature(bytes, z.geometry, rsMode, le);
        if (plausibleFtraceCode(sig, exactCode)) {
          expectedSig = sig;
          ftraceCode ??= (sig ^ PERSISTENT_RAM_SIG) >>> 0;
        } else expectedSig = exactCode !== undefined ? (PERSISTENT_RAM_SIG ^ exactCode) >>> 0 : (PERSISTENT_RAM_SIG ^ 0x7fffffff) >>> 0;
      }
      read = readZone(bytes, z.geometry, { expectedSig, emptyNeedsStartZero: needStart0, rsMode, littleEndian: le });
      warnAboutRead(ctx, z, read);
    }
    reads.set(z, read);
    reports.push(report(z, read));
  }
  perCpuCheck(mem, config, layout, reads, rsMode, exactCode, decisions, warnings);
  if (ftraceCode !== undefined && exactCode === undefined) {
    decisions.push(
      `ftrace zones were written by kernel version code ${hex(ftraceCode)} (${ftraceCode >>> 16}.${(ftraceCode >>> 8) & 0xff}.${ftraceCode & 0xff})`,
    );
  }
  return { ...ctx, reads, reports, ftraceCode };
}

function warnAboutRead({ warnings }: Located, z: Zone, read: ZoneRead): void {
  if (read.status === 'invalid' || read.status === 'bad-signature') {
    warnings.push({
      code: `zone-${read.status}`,
      zone: `${z.kind}-${z.index}`,
      address: z.address,
      message: `${z.kind} zone ${z.index} at ${hex(z.address)}: ${read.detail}; the kernel resets it, no record`,
    });
  }
  if (read.ecc && read.ecc.unrecoverable) {
    warnings.push({
      code: 'ecc-unrecoverable',
      zone: `${z.kind}-${z.index}`,
      address: z.address,
      message: `${z.kind} zone ${z.index} at ${hex(z.address)}: ${read.ecc.unrecoverable} block(s) with uncorrectable errors`,
    });
  }
}

function report(z: Zone, read: ZoneRead | undefined): ZoneReport {
  return {
    kind: z.kind,
    index: z.index,
    address: z.address,
    size: z.geometry.size,
    capacity: z.geometry.capacity,
    eccBytes: z.geometry.size - 12 - z.geometry.capacity,
    status: read ? read.status : 'not-captured',
    detail: read ? read.detail : 'not in the dump',
    ecc: read?.ecc,
  };
}
