// Errors: what makes ramoops_probe refuse, found by running the probe's own arithmetic
// (computeLayout) and translating its failure into a reason and a fix.
import { hex, LayoutError } from '../errors.js';
import type { RamoopsConfig } from '../config/types.js';
import { isPow2, roundDownPow2 } from '../config/numbers.js';
import { hasEvenZoneSizes, isPost49, pmsgBeforeFtrace } from '../kernel/version.js';
import { computeLayout, type Layout, type LayoutRules, type ZoneKind } from '../layout/layout.js';
import { HEADER_SIZE } from '../zone/geometry.js';
import { sizeText } from './format.js';
import type { Problem } from './types.js';

/** The layout rules of the configuration's kernel (the newest kernels' when unknown; even zone sizes when the sublevel leaves it open). */
export function layoutRulesFor(config: RamoopsConfig, overrides: Partial<LayoutRules> = {}): LayoutRules {
  const v = config.kernel;
  return {
    post49: v ? isPost49(v) : true,
    pmsgFirst: v ? pmsgBeforeFtrace(v) : true,
    evenZones: v ? hasEvenZoneSizes(v) !== false : true,
    ftraceZones: config.ftracePerCpu ? (config.cpus ?? 1) : 1,
    ...overrides,
  };
}

/** The probe's verdict: the layout, or the errors with the kernel's message. */
export function probeProblems(config: RamoopsConfig): { readonly layout: Layout | undefined; readonly problems: readonly Problem[] } {
  const problems: Problem[] = [];
  if (!config.memSize) {
    problems.push({
      severity: 'error',
      code: 'no-mem-size',
      message:
        config.source === 'dt'
          ? 'the region size (reg) is 0: probe fails with "The memory size and the record/console size must be non-zero"'
          : 'mem_size is 0 or not given: the module path does not even register a ramoops device, nothing appears in pstore',
      fix: 'give the region size: ramoops.mem_size=0x100000 (module path) or the size cells of reg (device tree)',
      kernelMessage: config.source === 'dt' ? 'The memory size and the record/console size must be non-zero' : undefined,
    });
    return { layout: undefined, problems };
  }
  if (!Number.isInteger(config.eccSize) || config.eccSize < 0 || config.eccSize > 127) {
    problems.push(eccRangeProblem(config.eccSize));
    return { layout: undefined, problems };
  }
  try {
    return { layout: computeLayout(config, layoutRulesFor(config)), problems };
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    problems.push(explain(config, e.message));
    return { layout: undefined, problems };
  }
}

/**
 * ECC sizes outside 1..127, as seen on Debian 6.1 (harness boots): a negative module value
 * fails probe in persistent_ram_init_ecc; above 127 the 128 data bytes and the parity no
 * longer fit a 255-byte Reed-Solomon codeword and decode_rs8 hits BUG at the next probe.
 */
export function eccRangeProblem(ecc: number): Problem {
  if (ecc < 0) {
    const asU32 = ecc >>> 0;
    return {
      severity: 'error',
      code: 'ecc-out-of-range',
      message: `ecc ${ecc} is negative: the kernel reads it as ${asU32} parity bytes per block and probe fails ("invalid ecc_size ${asU32}")`,
      fix: 'use ecc 16 (module path: ramoops.ecc=1 also means 16); 0 turns ECC off',
      kernelMessage: `persistent_ram_init_ecc: invalid ecc_size ${asU32} (total …, buffer size …)`,
    };
  }
  return {
    severity: 'error',
    code: 'ecc-out-of-range',
    message: `ecc ${ecc} is more than 127: 128 data bytes plus ${ecc} parity bytes do not fit the 255-byte Reed-Solomon codeword; the parity written is unusable and the next boot's probe hits BUG in decode_rs8 while reading the old records, so ramoops never comes up (and as a module, modprobe dies)`,
    fix: 'use ecc 16 (or 1..127); 0 turns ECC off',
    kernelMessage: 'kernel BUG at lib/reed_solomon/decode_rs.c:43!',
  };
}

function explain(config: RamoopsConfig, kernelMessage: string): Problem {
  const r = {
    record: roundDownPow2(config.recordSize),
    console: roundDownPow2(config.consoleSize),
    ftrace: roundDownPow2(config.ftraceSize),
    pmsg: roundDownPow2(config.pmsgSize),
  };
  const others = r.console + r.ftrace + r.pmsg;
  const base = { severity: 'error' as const, kernelMessage };
  if (/must be non-zero/.test(kernelMessage)) {
    return {
      ...base,
      code: 'all-sizes-zero',
      message: 'record, console, ftrace and pmsg sizes are all 0: probe fails and nothing is stored',
      fix:
        config.source === 'dt'
          ? 'add record-size = <0x4000>; to the node (on the DT path every size defaults to 0)'
          : 'set at least ramoops.record_size (e.g. 0x4000) to a non-zero value',
    };
  }
  const noRoom = /^no room for (\w+) mem region/.exec(kernelMessage);
  if (noRoom || kernelMessage === 'no room for dumps') {
    const kind = (noRoom?.[1] ?? 'dmesg') as ZoneKind;
    const need = others + (r.record || 0);
    return {
      ...base,
      code: 'no-room',
      zone: { kind, index: 0 },
      message: `the zones do not fit in mem_size ${sizeText(config.memSize)}: console ${hex(r.console)} + ftrace ${hex(r.ftrace)} + pmsg ${hex(r.pmsg)}${r.record ? ` + at least one record ${hex(r.record)}` : ''} = ${sizeText(need)}; probe fails`,
      fix: `make mem_size at least ${hex(need)} or shrink the console/ftrace/pmsg zones`,
    };
  }
  if (/record count == 0/.test(kernelMessage)) {
    return {
      ...base,
      code: 'dmesg-count-zero',
      zone: { kind: 'dmesg', index: 0 },
      message: `after console, ftrace and pmsg (${sizeText(others)}) only ${sizeText(config.memSize - others)} is left for dmesg, less than one record of ${sizeText(r.record)}; probe fails`,
      fix: `make mem_size at least ${hex(others + r.record)} or lower record_size to ${hex(roundDownPow2(config.memSize - others))}`,
    };
  }
  if (/(record|zone) size == 0/.test(kernelMessage)) {
    const kind: ZoneKind = /^ftrace/.test(kernelMessage) ? 'ftrace' : 'dmesg';
    return {
      ...base,
      code: 'zone-size-zero',
      zone: { kind, index: 0 },
      message:
        kind === 'ftrace'
          ? `ftrace_size ${sizeText(r.ftrace)} split over ${config.cpus ?? 1} possible CPUs (per-CPU ftrace) leaves zones of 0 bytes; probe fails`
          : `the dmesg zones come out 0 bytes long; probe fails`,
      fix:
        kind === 'ftrace'
          ? `make ftrace_size at least ${hex(4096 * (config.cpus ?? 1))} (4 KiB per possible CPU) or turn per-CPU ftrace off (DT flags bit 0)`
          : 'raise record_size',
    };
  }
  if (/invalid ecc_size/.test(kernelMessage)) {
    const zone = /^(\w+) zone (\d+)/.exec(kernelMessage);
    const detail = /invalid ecc_size .*\)/.exec(kernelMessage)?.[0] ?? 'invalid ecc_size';
    return {
      ...base,
      // The line persistent_ram_init_ecc logs (seen on Debian 6.1); probe then fails with -EINVAL.
      kernelMessage: `persistent_ram_init_ecc: ${detail}`,
      code: 'ecc-invalid',
      zone: zone ? { kind: zone[1] as ZoneKind, index: Number(zone[2]) } : undefined,
      message: `with ecc ${config.eccSize} the parity does not leave room for data in ${zone ? `the ${zone[1]} zone` : 'a zone'}: probe fails with "invalid ecc_size"`,
      fix: `lower ecc (16 is the usual value) or enlarge the smallest zone (every zone needs more than ${(config.eccSize + 1) * 2 + HEADER_SIZE} bytes)`,
    };
  }
  if (/12-byte header/.test(kernelMessage)) {
    const zone = /^(\w+) zone (\d+)/.exec(kernelMessage);
    return {
      ...base,
      // For dmesg zones the negative buffer size reaches kzalloc first (seen on Debian 6.1).
      kernelMessage: zone?.[1] === 'dmesg' ? 'cannot allocate pstore crash dump buffer' : kernelMessage,
      code: 'zone-too-small',
      zone: zone ? { kind: zone[1] as ZoneKind, index: Number(zone[2]) } : undefined,
      message: `a zone is too small to hold its 12-byte header (${kernelMessage})`,
      fix: 'enlarge that zone (sizes of at least a few KiB are useful)',
    };
  }
  return { ...base, code: 'config-invalid', message: `the kernel refuses this layout: ${kernelMessage}`, fix: 'change the sizes' };
}

/** Whether a size setting will be changed by the kernel's rounding. */
export function roundsDown(n: number): boolean {
  return n > 0 && !isPow2(n);
}
