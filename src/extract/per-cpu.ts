// Whether the per-CPU ftrace zone count fits the dump's signatures, said as a decision or a warning.
import { hex, isRamoopsError, type Warning } from '../errors.js';
import type { RamoopsConfig } from '../config/types.js';
import type { Layout, Zone } from '../layout/layout.js';
import type { PhysicalMemory } from '../dump/memory.js';
import { probeSignature, type ZoneRead } from '../zone/read.js';
import { plausibleFtraceCode, tryRead, type RsMode } from './context.js';
import { chooseLayout } from './layout.js';

/**
 * Per-CPU ftrace zones follow the writer's possible-CPU count (nr_cpu_ids). Without `cpus` the
 * count comes from the zone signatures (chooseLayout): say so. With a `cpus` whose zones lack
 * the ftrace signature, say which zones were seen and which count the signatures fit.
 */
export function perCpuCheck(
  mem: PhysicalMemory,
  config: RamoopsConfig,
  layout: Layout,
  reads: ReadonlyMap<Zone, ZoneRead | undefined>,
  rsMode: RsMode,
  exactCode: number | undefined,
  decisions: string[],
  warnings: Warning[],
): void {
  const fz = layout.zones.filter((z) => z.kind === 'ftrace');
  if (!layout.rules.post49 || !config.ftracePerCpu || fz.length === 0) return;
  const signed = (z: Zone): boolean => {
    const bytes = tryRead(mem, z);
    return bytes !== undefined && plausibleFtraceCode(probeSignature(bytes, z.geometry, rsMode, config.abi?.littleEndian ?? true), exactCode);
  };
  const where = (zs: readonly Zone[]): string => zs.map((z) => hex(z.address)).join(', ');
  if (config.cpus === undefined) {
    decisions.push(
      `ftrace: ${fz.length} per-CPU zone${fz.length > 1 ? 's' : ''} of ${fz[0]?.geometry.size ?? 0} bytes (one per possible CPU of the writing kernel), inferred from the ftrace signatures at ${where(fz)}; --cpus N sets the count`,
    );
    return;
  }
  const bad = fz.filter((z) => reads.get(z)?.status === 'bad-signature');
  let alt: Zone[] | undefined;
  try {
    alt = chooseLayout(mem, { ...config, cpus: undefined }, rsMode, []).zones.filter((z) => z.kind === 'ftrace');
  } catch (e) {
    if (!isRamoopsError(e)) throw e;
  }
  const altFits = alt !== undefined && alt.length > 0 && alt.every(signed);
  // A count that leaves zones unsigned is wrong; so is one smaller than what the signatures show
  // (its zones start where the real ones do, but it misses the other CPUs' zones).
  if (bad.length === 0 && !(altFits && alt !== undefined && alt.length !== fz.length)) return;
  const fit =
    altFits && alt !== undefined
      ? `the ftrace signatures seen fit ${alt.length} CPU${alt.length > 1 ? 's' : ''}: zones at ${where(alt)} (${alt[0]?.geometry.size ?? 0} bytes each)`
      : 'no CPU count makes every ftrace zone carry its signature';
  const first = bad[0] ?? fz[0];
  warnings.push({
    code: 'cpus-mismatch',
    zone: `ftrace-${first?.index ?? 0}`,
    address: first?.address ?? 0,
    message: `cpus ${config.cpus} does not match the dump: ${bad.length ? `of the ${fz.length} ftrace zone${fz.length > 1 ? 's' : ''} it implies, ${bad.length} ${bad.length === 1 ? 'carries' : 'carry'} no ftrace signature (at ${where(bad)})` : `it implies ${fz.length} ftrace zone${fz.length > 1 ? 's' : ''} (at ${where(fz)})`}; ${fit}. Extracted with cpus ${config.cpus} as given; leave it out to infer it`,
  });
}
