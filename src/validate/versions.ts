// Options whose effect depends on the kernel version (docs/format.md §1, §11): zone sizes
// rounded to even (ALIGN, 6.1.158/5.4.286 backports and 6.6+), pmsg before ftrace (6.2+),
// DT mem-type (5.15+), max_reason (5.8+), DT flags (4.10+), the old-Chromebook rule (5.4+),
// ecc/mem_type written back to sysfs (6.19+).
import { roundDownPow2 } from '../config/numbers.js';
import { atLeast, describeVersion, hasEvenZoneSizes } from '../kernel/version.js';
import { computeLayout, type Layout } from '../layout/layout.js';
import { hex } from '../errors.js';
import { layoutRulesFor } from './probe.js';
import type { Problem, Severity, ValidateInput } from './types.js';

const zonesKey = (l: Layout): string => l.zones.map((z) => `${z.kind}${z.index}@${z.offset}+${z.geometry.size}`).join(' ');

/** Every version-dependence warning (or info, when the version is known and only other kernels differ). */
export function versionProblems(input: ValidateInput, layout: Layout | undefined): readonly Problem[] {
  const c = input.config;
  const v = c.kernel;
  const out: Problem[] = [];
  const known = (s: boolean): Severity => (s ? 'info' : 'warning');
  if (!v) {
    out.push({
      severity: 'info',
      code: 'kernel-version-unknown',
      message: 'no kernel version given: the layout is the one current kernels (6.6+) compute, and version rules are checked for the newest behaviour',
      fix: 'give the kernel version as `uname -r` prints it (--kernel-version)',
    });
  }
  if (layout && layout.rules.post49) {
    const alt = safeLayout(input, !layout.rules.evenZones);
    if (alt && zonesKey(alt) !== zonesKey(layout)) {
      const even = v ? hasEvenZoneSizes(v) : 'unknown';
      const firstDiff = layout.zones.find((z, i) => {
        const o = alt.zones[i];
        return !o || o.offset !== z.offset || o.geometry.size !== z.geometry.size;
      });
      const dumpMem = c.memSize - layout.consoleSize - layout.ftraceSize - layout.pmsgSize;
      const cnt = layout.recordSize ? Math.floor(dumpMem / layout.recordSize) : 0;
      out.push({
        severity: known(even !== 'unknown'),
        code: 'version-zone-rounding',
        zone: firstDiff ? { kind: firstDiff.kind, index: firstDiff.index } : undefined,
        message: `a zone size comes out odd (${firstDiff ? `${firstDiff.kind} zones` : 'zones'}): kernels with the ALIGN change (6.6+, 6.1.158+, 5.4.286+; believed 6.3 upstream) round it down to even, older ones do not, so zone addresses differ between kernel versions and even between 6.1.x sublevels${
          even === 'unknown'
            ? ` (for ${v ? describeVersion(v) : 'an unknown kernel'} it is not known which; shown rounded)`
            : ` (this kernel ${even ? 'rounds' : 'does not round'})`
        }`,
        fix:
          firstDiff?.kind === 'ftrace'
            ? `make ftrace_size / possible CPUs even (e.g. ftrace_size ${hex(roundDownPow2(c.ftraceSize))} with a power-of-two CPU count)`
            : `make mem_size - console - ftrace - pmsg an exact multiple of record_size: mem_size ${hex(c.memSize - (dumpMem - cnt * layout.recordSize))} gives ${cnt} records of exactly ${hex(layout.recordSize)} on every kernel`,
      });
    }
  }
  if (layout && layout.ftraceSize > 0 && layout.pmsgSize > 0 && layout.rules.post49) {
    out.push({
      severity: known(v !== undefined),
      code: 'version-zone-order',
      message: `pmsg and ftrace are both on: kernels from 6.2 place pmsg before the ftrace zones, older ones after, so their addresses depend on the version${v ? ` (${describeVersion(v)}: pmsg ${layout.rules.pmsgFirst ? 'first' : 'last'})` : ''}`,
      fix: 'tell every tool that reads the region which kernel wrote it (--kernel-version)',
    });
  }
  const dt = input.source === 'dt' ? input.dt : undefined;
  const given = (name: string, module: unknown): boolean => (dt ? dt.properties.includes(name) : module !== undefined);
  if (dt && dt.properties.includes('mem-type') && !(v && atLeast(v, 5, 15))) {
    out.push({
      severity: v ? 'warning' : 'info',
      code: 'version-mem-type',
      message: `mem-type is read only by kernels from 5.15${v ? `; ${describeVersion(v)} ignores it and maps the region ${dt.properties.includes('unbuffered') ? 'unbuffered' : 'write-combined'}` : ''}`,
      fix: 'for an uncached mapping on older kernels use the `unbuffered;` property',
    });
  }
  if (given('max-reason', input.settings?.maxReason) && !(v && atLeast(v, 5, 8))) {
    out.push({
      severity: v ? 'warning' : 'info',
      code: 'version-max-reason',
      message: `max_reason exists only from 5.8${v ? `; ${describeVersion(v)} ignores it (${dt ? 'no-dump-oops decides' : 'the module reports an unknown parameter'}) and stores oopses and panics${dt?.properties.includes('no-dump-oops') ? ' — only panics with no-dump-oops' : ''}` : ''}`,
      fix: dt ? 'on older kernels use no-dump-oops; for Panic only' : 'on older kernels use ramoops.dump_oops=0 for Panic only',
    });
  }
  if (dt && dt.properties.includes('flags') && v && !atLeast(v, 4, 10)) {
    out.push({
      severity: 'warning',
      code: 'version-dt-flags',
      message: `the flags property exists only from 4.10; ${describeVersion(v)} ignores it and has a single ftrace zone`,
      fix: 'drop flags, or use a 4.10+ kernel for per-CPU ftrace zones',
    });
  }
  if (dt && dt.parentName !== 'reserved-memory' && c.recordSize > 0 && c.ftraceSize === 0 && c.eccSize === 0) {
    const applied =
      c.consoleSize === c.recordSize && c.pmsgSize === c.recordSize && !dt.properties.includes('console-size') && !dt.properties.includes('pmsg-size');
    const unset = c.consoleSize === 0 && c.pmsgSize === 0;
    if (applied || unset) {
      out.push({
        severity: known(v !== undefined),
        code: 'version-chromebook',
        message: `the node is not under reserved-memory and sets only record-size: kernels from 5.4 then make console-size and pmsg-size equal to record-size (old-Chromebook compatibility), older kernels leave them 0${v ? ` (${describeVersion(v)}: ${applied ? 'applied' : 'not applied'})` : ''}`,
        fix: 'put the node under /reserved-memory and give console-size and pmsg-size explicitly',
      });
    }
  }
  if (input.fromSysfs && !(v && atLeast(v, 6, 19))) {
    out.push({
      severity: 'info',
      code: 'version-sysfs-ecc',
      message:
        'ecc and mem_type in /sys/module/ramoops/parameters are the module parameters as given, not what is in effect (the kernel writes them back only from 6.19): a device-tree ecc-size reads as 0 there',
      fix: 'check the boot log line "ramoops: using 0x…@0x…, ecc: N" for the ECC size in effect',
    });
  }
  return out;
}

function safeLayout(input: ValidateInput, evenZones: boolean): Layout | undefined {
  try {
    return computeLayout(input.config, layoutRulesFor(input.config, { evenZones }));
  } catch {
    return undefined;
  }
}
