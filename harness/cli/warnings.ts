// Warnings as a user reads them: one line per kind, not one per zone. A 1 MiB region has
// dozens of zones, and 66 lines that differ only in the zone number hide the one that matters;
// each line still says how many, and the first and last address (--verbose and --json list all).
import type { Warning } from '../../src/index.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** One line per warning code; a code seen more than once gets its count and address span. */
export function collapseWarnings(warnings: readonly Warning[]): readonly string[] {
  const byCode = new Map<string, Warning[]>();
  for (const w of warnings) {
    const group = byCode.get(w.code);
    if (group) group.push(w);
    else byCode.set(w.code, [w]);
  }
  const lines: string[] = [];
  for (const group of byCode.values()) {
    const first = group[0];
    if (!first) continue;
    if (group.length === 1) {
      lines.push(first.message);
      continue;
    }
    const addresses = group.map((w) => w.address).filter((a): a is number => a !== undefined);
    const span = addresses.length ? `, ${hex(Math.min(...addresses))} to ${hex(Math.max(...addresses))}` : '';
    lines.push(`${group.length} x ${first.code}${span} (first: ${first.message}; --verbose lists each)`);
  }
  return lines;
}
