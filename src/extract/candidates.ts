// The layouts a configuration can have: one per kernel era (or the given version's), zone-size
// rule and, for per-CPU ftrace without a CPU count, every count that fits.
import type { RamoopsConfig } from '../config/types.js';
import type { LayoutRules } from '../layout/layout.js';
import { describeVersion, hasEvenZoneSizes, isPost49, pmsgBeforeFtrace } from '../kernel/version.js';

interface Candidate {
  readonly rules: LayoutRules;
  readonly label: string;
}

const FTRACE_MAX_CPUS = 256;

export function candidates(config: RamoopsConfig): Candidate[] {
  const v = config.kernel;
  const eras: { post49: boolean; pmsgFirst: boolean; even: boolean[]; label: string }[] = [];
  if (v) {
    const even = hasEvenZoneSizes(v);
    eras.push({ post49: isPost49(v), pmsgFirst: pmsgBeforeFtrace(v), even: even === 'unknown' ? [true, false] : [even], label: describeVersion(v) });
  } else {
    eras.push({ post49: true, pmsgFirst: true, even: [true, false], label: '6.2+' });
    eras.push({ post49: true, pmsgFirst: false, even: [true, false], label: '4.10..6.1' });
    eras.push({ post49: false, pmsgFirst: false, even: [false], label: '4.9' });
  }
  const cpuChoices: number[] = [];
  if (config.cpus !== undefined) cpuChoices.push(config.cpus);
  else if (config.ftracePerCpu && config.ftraceSize) {
    // A zone smaller than its 12-byte header cannot exist; larger CPU counts are impossible.
    for (let n = 1; n <= FTRACE_MAX_CPUS && Math.floor(config.ftraceSize / n) > 12; n++) cpuChoices.push(n);
  } else cpuChoices.push(1);
  const out: Candidate[] = [];
  for (const e of eras) {
    for (const even of e.even) {
      for (const n of e.post49 && config.ftracePerCpu ? cpuChoices : [1]) {
        out.push({
          rules: { post49: e.post49, pmsgFirst: e.pmsgFirst, evenZones: even, ftraceZones: n },
          label: `${e.label} layout${even ? ', even zone sizes' : ''}${e.post49 && config.ftracePerCpu && config.ftraceSize ? `, ${n} ftrace zone${n > 1 ? 's' : ''}` : ''}`,
        });
      }
    }
  }
  return out;
}
