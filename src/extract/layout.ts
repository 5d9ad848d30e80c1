// The layout step: which of the candidate layouts the dump was written with.
import { LayoutError, type RamoopsError, isRamoopsError } from '../errors.js';
import type { RamoopsConfig } from '../config/types.js';
import { computeLayout, type Layout, type Zone } from '../layout/layout.js';
import { versionCode } from '../kernel/version.js';
import type { PhysicalMemory } from '../dump/memory.js';
import { PERSISTENT_RAM_SIG } from '../zone/geometry.js';
import { probeSignature } from '../zone/read.js';
import { candidates } from './candidates.js';
import { plausibleFtraceCode, tryRead, type RsMode } from './context.js';

function sameZones(a: Layout, b: Layout): boolean {
  return a.zones.length === b.zones.length && a.zones.every((z, i) => z.offset === b.zones[i]?.offset && z.geometry.size === b.zones[i]?.geometry.size);
}

export /**
 * Pick the layout whose zones carry the signatures the kernel writes into every zone it probes.
 * Candidates come in order of preference; a candidate whose every captured zone validates wins
 * over any with a mismatch, and among those the one validating most zones (the CPU count).
 */
function chooseLayout(mem: PhysicalMemory, config: RamoopsConfig, rsMode: RsMode, decisions: string[]): Layout {
  const exactCode = config.kernel ? versionCode(config.kernel) : undefined;
  // Zones repeat across candidates: probe each (kind, offset, size) once.
  const memo = new Map<string, boolean | undefined>();
  const probe = (z: Zone): boolean | undefined => {
    const key = `${z.kind === 'ftrace' ? 'f' : 'd'}:${z.offset}:${z.geometry.size}`;
    if (memo.has(key)) return memo.get(key);
    const bytes = tryRead(mem, z);
    let ok: boolean | undefined;
    if (bytes) {
      const sig = probeSignature(bytes, z.geometry, rsMode, config.abi?.littleEndian ?? true);
      ok = z.kind === 'ftrace' ? plausibleFtraceCode(sig, exactCode) : sig === PERSISTENT_RAM_SIG;
    }
    memo.set(key, ok);
    return ok;
  };
  let valid: { layout: Layout; good: number; label: string } | undefined;
  let fallback: { layout: Layout; score: number; label: string } | undefined;
  let firstError: RamoopsError | undefined;
  const distinct: Layout[] = [];
  for (const c of candidates(config)) {
    let layout: Layout;
    try {
      layout = computeLayout(config, c.rules);
    } catch (e) {
      if (isRamoopsError(e)) {
        firstError ??= e;
        continue;
      }
      throw e;
    }
    if (distinct.length < 2 && !distinct.some((d) => sameZones(d, layout))) distinct.push(layout);
    let good = 0;
    let bad = 0;
    for (const z of layout.zones) {
      const ok = probe(z);
      if (ok === true) good++;
      else if (ok === false) {
        bad++;
        if (valid) break; // cannot beat a fully valid candidate any more
      }
    }
    if (bad === 0 && (!valid || good > valid.good)) valid = { layout, good, label: c.label };
    const score = good - 2 * bad;
    if (!valid && (!fallback || score > fallback.score)) fallback = { layout, score, label: c.label };
  }
  const best = valid ?? (fallback ? { layout: fallback.layout, good: fallback.score, label: fallback.label } : undefined);
  if (!best) throw firstError ?? new LayoutError('no layout candidate fits this configuration');
  if (distinct.length > 1) {
    decisions.push(
      valid
        ? `several layouts fit this configuration (kernel version rules, CPU count); chose "${best.label}": all ${best.good} captured zones carry valid signatures`
        : `several layouts fit this configuration and none has valid signatures in every zone; chose "${best.label}" as the closest`,
    );
  }
  return best.layout;
}
