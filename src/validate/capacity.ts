// Warnings about what the zones can hold: rounded sizes, no dmesg zones at all, ECC overhead,
// dmesg records too small for a useful oops report, a console zone smaller than a boot log.
import { hex } from '../errors.js';
import { roundDownPow2, isPow2 } from '../config/numbers.js';
import { atLeast } from '../kernel/version.js';
import type { Layout, ZoneKind } from '../layout/layout.js';
import { sizeText, human } from './format.js';
import type { Problem, ValidateInput } from './types.js';

/** Log text below which a dmesg record cannot hold a typical oops report (3-6 KiB of text). */
export const MIN_RECORD_TEXT = 4096;
/** Console capacity below which a boot log at the default console log level does not fit. */
export const MIN_CONSOLE_PAYLOAD = 16 * 1024;
/** Share of a zone taken by ECC parity above which we warn. */
export const MAX_ECC_SHARE = 0.25;

type SizeField = 'recordSize' | 'consoleSize' | 'ftraceSize' | 'pmsgSize';
const NAMES: Readonly<Record<SizeField, readonly [modparam: string, dt: string]>> = {
  recordSize: ['record_size', 'record-size'],
  consoleSize: ['console_size', 'console-size'],
  ftraceSize: ['ftrace_size', 'ftrace-size'],
  pmsgSize: ['pmsg_size', 'pmsg-size'],
};

/** The setting's name as the user wrote it (DT property or module parameter). */
export function settingName(field: SizeField, source: ValidateInput['source']): string {
  return NAMES[field][source === 'dt' ? 1 : 0];
}

/** Every capacity warning; `layout` is the one the kernel computes (undefined when probe fails). */
export function capacityProblems(input: ValidateInput, layout: Layout | undefined): readonly Problem[] {
  const c = input.config;
  const out: Problem[] = [];
  for (const field of Object.keys(NAMES) as SizeField[]) {
    const v = c[field];
    if (v > 0 && !isPow2(v)) {
      const down = roundDownPow2(v);
      out.push({
        severity: 'warning',
        code: 'size-not-pow2',
        message: `${settingName(field, input.source)} ${sizeText(v)} is not a power of two: the kernel rounds it down to ${sizeText(down)} without a word, ${sizeText(v - down)} less than asked`,
        fix: `write ${hex(down)} (or ${hex(down * 2)}) so the configuration says what the kernel does`,
      });
    }
  }
  if (!layout) return out;
  const first = (kind: ZoneKind) => layout.zones.find((z) => z.kind === kind);
  const dmesg = first('dmesg');
  if (!dmesg) {
    out.push({
      severity: 'warning',
      code: 'dmesg-disabled',
      message:
        c.recordSize === 0
          ? `${settingName('recordSize', input.source)} is 0: there are no dmesg zones, so oopses and panics are not stored at all${input.source === 'dt' ? ' (on the DT path every size defaults to 0)' : ''}`
          : 'console, ftrace and pmsg fill the whole region, leaving no dmesg zones: oopses and panics are not stored',
      fix:
        c.recordSize === 0
          ? `set ${settingName('recordSize', input.source)} to 0x4000 (and make room for it)`
          : `enlarge the region by at least ${hex(layout.recordSize)} for one dmesg record`,
    });
  } else {
    const cap = dmesg.geometry.capacity;
    const text = textCapacity(input, cap);
    if (text.bytes < MIN_RECORD_TEXT) {
      out.push({
        severity: 'warning',
        code: 'record-too-small',
        zone: { kind: 'dmesg', index: 0 },
        message: `each dmesg record holds ${cap} bytes after its header${c.eccSize ? ' and ECC' : ''}, about ${text.bytes} bytes of log text (${text.how}): an oops report with its backtrace is typically 3-6 KiB, and pstore keeps the newest lines, so the start of the report (what went wrong) is what gets cut`,
        fix: `raise ${settingName('recordSize', input.source)} to ${hex(Math.max(0x4000, layout.recordSize * 2))}`,
      });
    }
    if (c.maxReason === 1) {
      out.push({
        severity: 'info',
        code: 'oops-not-stored',
        message: 'max_reason is 1 (Panic): an oops that does not end in a panic leaves no dmesg record',
        fix: input.source === 'dt' ? 'remove no-dump-oops or set max-reason = <2>;' : 'use ramoops.max_reason=2 (the default)',
      });
    }
  }
  const console = first('console');
  if (console && console.geometry.capacity < MIN_CONSOLE_PAYLOAD) {
    const cmd = input.cmdline;
    const level = cmd ? (cmd.ignoreLoglevel ? 8 : (cmd.loglevel ?? (cmd.quiet ? 4 : undefined))) : undefined;
    const quietBoot = level !== undefined && level <= 4;
    out.push({
      severity: quietBoot ? 'info' : 'warning',
      code: 'console-small',
      zone: { kind: 'console', index: 0 },
      message: `the console zone keeps only the last ${console.geometry.capacity} bytes of console output; ${
        quietBoot
          ? `with console loglevel ${level} only warnings and worse reach it, which usually fits`
          : `at ${level === undefined ? 'the default console loglevel (7 unless quiet or loglevel= is given)' : `console loglevel ${level}`} a boot log is typically tens of KiB, so after a hang the file starts somewhere in the middle`
      }`,
      fix: quietBoot
        ? `nothing to do for a quiet boot; raise ${settingName('consoleSize', input.source)} to ${hex(0x10000)} if you want more of the boot`
        : `raise ${settingName('consoleSize', input.source)} to ${hex(0x10000)} or more, or boot with quiet/loglevel=4 so less reaches the console`,
    });
  }
  const kinds = ['dmesg', 'console', 'pmsg', 'ftrace'] as const;
  for (const kind of kinds) {
    const z = first(kind);
    if (!z || !z.geometry.eccSize) continue;
    const share = 1 - z.geometry.capacity / z.geometry.size;
    if (share > MAX_ECC_SHARE) {
      out.push({
        severity: 'warning',
        code: 'ecc-overhead',
        zone: { kind, index: 0 },
        message: `ECC (${c.eccSize} parity bytes per 128-byte block) takes ${Math.round(share * 100)}% of each ${kind} zone: ${sizeText(z.geometry.size)} leaves ${z.geometry.capacity} bytes of payload`,
        fix: 'ecc 16 costs about 11% and corrects 8 bad bytes per block; use it, or enlarge the zones',
      });
    }
  }
  if (c.ftracePerCpu && c.ftraceSize > 0 && c.cpus === undefined) {
    out.push({
      severity: 'info',
      code: 'cpus-assumed',
      message: `per-CPU ftrace: the zones are ftrace_size / nr_cpu_ids each; assumed 1 possible CPU. With N possible CPUs each zone is ${human(roundDownPow2(c.ftraceSize))} / N, and probe fails once that is below 2 bytes`,
      fix: 'give the possible-CPU count (--cpus N; /sys/devices/system/cpu/possible on the machine)',
    });
  }
  return out;
}

/** Rough bytes of log text a dmesg record of `cap` bytes carries, by the writer's compression (docs/format.md §7). */
function textCapacity(input: ValidateInput, cap: number): { readonly bytes: number; readonly how: string } {
  const v = input.config.kernel;
  // 6.6+ knows only deflate and none; older kernels compress with any built algorithm.
  const modern = v === undefined || atLeast(v, 6, 6);
  const given = input.config.compress ?? 'deflate';
  const algo = modern && given !== 'none' ? 'deflate' : given;
  // The dump header ("====<sec>.<usec>-C" and "Panic#1 Part1") takes about 40 bytes.
  if (algo === 'none') return { bytes: cap - 40, how: 'uncompressed' };
  // The other compressors collect their worst-case bound of the buffer, about the buffer itself.
  if (algo !== 'deflate') return { bytes: cap, how: algo };
  const r = modern ? 60 : cap >= 1000 && cap <= 2000 ? 56 : cap <= 3000 ? 54 : cap <= 3999 ? 52 : cap <= 10000 ? 45 : 60;
  return { bytes: Math.floor((cap * 100) / r), how: 'deflate work buffer' };
}
