// Pictures of a ramoops region: a terminal view (table of zone groups, a proportional bar with
// one letter per zone kind, a legend) and a self-contained SVG for bug reports (zones coloured
// by kind, ECC parity hatched, addresses labelled, problems listed). Pure: values -> string.
import type { Layout, Zone, ZoneKind } from '../layout/layout.js';
import type { Problem } from '../validate/types.js';
import { table } from './table.js';

/** Consecutive zones of one kind and size, shown as one row ("dmesg 0..62"). */
export interface ZoneGroup {
  readonly kind: ZoneKind;
  readonly first: Zone;
  readonly count: number;
  /** Offset from the region start. */
  readonly offset: number;
  /** Bytes the group covers. */
  readonly bytes: number;
}

const LETTER: Readonly<Record<ZoneKind | 'unused', string>> = { dmesg: 'D', console: 'C', pmsg: 'P', ftrace: 'F', unused: '.' };
const COLOUR: Readonly<Record<ZoneKind | 'unused', string>> = { dmesg: '#4e79a7', console: '#59a14f', pmsg: '#f28e2b', ftrace: '#b07aa1', unused: '#d9d9d9' };
const SEVERITY_COLOUR = { error: '#c62828', warning: '#b26a00', info: '#555555' } as const;

const hex = (n: number): string => '0x' + n.toString(16);

/** The region's start address and size as the layout implies them. */
export function regionOf(layout: Layout): { readonly start: number; readonly size: number } {
  const z0 = layout.zones[0];
  const last = layout.zones[layout.zones.length - 1];
  if (!z0 || !last) return { start: 0, size: layout.unused };
  return { start: z0.address - z0.offset, size: last.offset + last.geometry.size + layout.unused };
}

/** Zones merged into runs of the same kind and size. */
export function zoneGroups(layout: Layout): readonly ZoneGroup[] {
  const out: ZoneGroup[] = [];
  for (const z of layout.zones) {
    const prev = out[out.length - 1];
    if (prev && prev.kind === z.kind && prev.first.geometry.size === z.geometry.size && prev.offset + prev.bytes === z.offset) {
      out[out.length - 1] = { ...prev, count: prev.count + 1, bytes: prev.bytes + z.geometry.size };
    } else {
      out.push({ kind: z.kind, first: z, count: 1, offset: z.offset, bytes: z.geometry.size });
    }
  }
  return out;
}

const groupName = (g: ZoneGroup): string => (g.count > 1 ? `${g.kind} ${g.first.index}..${g.first.index + g.count - 1}` : `${g.kind} ${g.first.index}`);
const eccShare = (z: Zone): number => (z.geometry.size - 12 - z.geometry.capacity) / z.geometry.size;

/** Split `width` cells over `sizes` proportionally, every non-zero part at least one cell. */
function apportion(sizes: readonly number[], width: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const cells = sizes.map((s) => (s > 0 ? Math.max(1, Math.round((s / total) * width)) : 0));
  // Give or take the rounding difference from the largest part so the bar is exactly `width`.
  let diff = width - cells.reduce((a, b) => a + b, 0);
  while (diff !== 0) {
    const i = cells.indexOf(Math.max(...cells));
    if (i < 0 || (diff < 0 && (cells[i] ?? 0) <= 1)) break;
    cells[i] = (cells[i] ?? 0) + Math.sign(diff);
    diff -= Math.sign(diff);
  }
  return cells;
}

/** The terminal picture: table of zone groups, a proportional bar of `width` letters, a legend. */
export function zoneMapText(layout: Layout, options: { readonly width?: number } = {}): string {
  const width = options.width ?? 64;
  const region = regionOf(layout);
  const groups = zoneGroups(layout);
  const rows = groups.map((g) => [
    groupName(g),
    hex(g.first.address),
    hex(g.first.address + g.bytes),
    g.count > 1 ? `${g.count} x ${g.first.geometry.size}` : String(g.first.geometry.size),
    g.first.geometry.capacity,
    g.first.geometry.eccSize ? `${Math.round(eccShare(g.first) * 100)}%` : '-',
  ]);
  if (layout.unused > 0) rows.push(['unused', hex(region.start + region.size - layout.unused), hex(region.start + region.size), String(layout.unused), '', '']);
  const tbl = table(['zones', 'start', 'end', 'size', 'payload', 'ecc'], rows);
  const parts = [...groups.map((g) => ({ letter: LETTER[g.kind], bytes: g.bytes })), { letter: LETTER.unused, bytes: layout.unused }];
  const cells = apportion(
    parts.map((p) => p.bytes),
    width,
  );
  const bar = parts.map((p, i) => p.letter.repeat(cells[i] ?? 0)).join('');
  const startLabel = hex(region.start);
  const endLabel = hex(region.start + region.size);
  const ruler = startLabel + ' '.repeat(Math.max(1, width + 2 - startLabel.length - endLabel.length)) + endLabel;
  const present = new Set<ZoneKind | 'unused'>([...groups.map((g) => g.kind), ...(layout.unused > 0 ? (['unused'] as const) : [])]);
  const legend = (['dmesg', 'console', 'pmsg', 'ftrace', 'unused'] as const)
    .filter((k) => present.has(k))
    .map((k) => `${LETTER[k]} ${k}`)
    .join('  ');
  return `${tbl}\n\n[${bar}]\n${ruler}\n${legend}`;
}

/** XML-escape text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** Break text into lines of at most `max` characters at spaces. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > max) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

const SVG_WIDTH = 960;
const MARGIN = 24;

/** A self-contained SVG of the region: coloured zones, hatched ECC parity, addresses, legend and problems (just the problems without a layout). */
export function zoneMapSvg(layout: Layout | undefined, problems: readonly Problem[], options: { readonly title?: string } = {}): string {
  const el: string[] = [];
  const region = layout ? regionOf(layout) : undefined;
  const title =
    options.title ??
    (region
      ? `ramoops region ${hex(region.start)}..${hex(region.start + region.size)} (${region.size} bytes)`
      : 'ramoops configuration: the kernel would refuse it (no layout)');
  el.push(`<text x="${MARGIN}" y="30" font-size="18" font-weight="bold">${escapeXml(title)}</text>`);
  let y = layout ? drawLayout(layout, el) : 40;
  if (problems.length > 0) {
    y += 12;
    el.push(`<text x="${MARGIN}" y="${y}" font-size="15" font-weight="bold">${escapeXml(`Problems (${problems.length})`)}</text>`);
    y += 22;
    for (const p of problems) {
      const lines = wrap(`${p.severity.toUpperCase()} ${p.code}: ${p.message}`, 130);
      const fix = wrap(`fix: ${p.fix}`, 126);
      el.push(`<text x="${MARGIN}" y="${y}" font-size="12" fill="${SEVERITY_COLOUR[p.severity]}">${tspans(lines, MARGIN)}</text>`);
      y += lines.length * 15;
      el.push(`<text x="${MARGIN + 16}" y="${y}" font-size="12" fill="#333333">${tspans(fix, MARGIN + 16)}</text>`);
      y += fix.length * 15 + 8;
    }
  }
  const height = Math.ceil(y + MARGIN);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" font-family="sans-serif">`,
    '<defs><pattern id="ecc" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff" fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="#000000" stroke-width="2" stroke-opacity="0.45"/></pattern></defs>',
    `<rect width="${SVG_WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...el,
    '</svg>',
    '',
  ].join('\n');
}

function tspans(lines: readonly string[], x: number): string {
  return lines.map((l, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : 15}">${escapeXml(l)}</tspan>`).join('');
}

/** The bar, its address labels and the legend; returns the y below them. */
function drawLayout(layout: Layout, el: string[]): number {
  const barW = SVG_WIDTH - 2 * MARGIN;
  const barH = 56;
  const region = regionOf(layout);
  const x = (offset: number): number => MARGIN + (offset / (region.size || 1)) * barW;
  const f = (n: number): string => (Math.round(n * 100) / 100).toString();
  const groups = zoneGroups(layout);
  // Address labels: the start of every group above the bar, each on the lowest row where it
  // does not run into a neighbour (monospace 11px: about 6.7 px a character).
  const rowEnds: number[] = [];
  const labels = groups.map((g) => {
    const gx = x(g.offset);
    const text = hex(g.first.address);
    const w = text.length * 6.7;
    const endAnchored = gx + w > MARGIN + barW;
    const [l, r] = endAnchored ? [gx - w, gx] : [gx, gx + w];
    let row = rowEnds.findIndex((end) => end + 6 <= l);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = r;
    return { gx, text, endAnchored, row };
  });
  const barY = 50 + 15 * rowEnds.length;

  // Zones: one rectangle each; the ECC parity (data parity + header parity, at the zone's end) hatched over it.
  for (const z of layout.zones) {
    const x0 = x(z.offset);
    const w = Math.max(0.5, x(z.offset + z.geometry.size) - x0);
    const sep = w >= 3 ? ' stroke="#ffffff" stroke-width="0.5"' : '';
    el.push(
      `<rect x="${f(x0)}" y="${barY}" width="${f(w)}" height="${barH}" fill="${COLOUR[z.kind]}"${sep}><title>${escapeXml(`${z.kind} ${z.index} at ${hex(z.address)}, ${z.geometry.size} bytes, payload ${z.geometry.capacity}`)}</title></rect>`,
    );
    if (z.geometry.eccSize) {
      const px = x(z.offset + z.geometry.parityOffset);
      el.push(`<rect x="${f(px)}" y="${barY}" width="${f(Math.max(0.3, x(z.offset + z.geometry.size) - px))}" height="${barH}" fill="url(#ecc)"/>`);
    }
  }
  if (layout.unused > 0) {
    const u0 = x(region.size - layout.unused);
    el.push(`<rect x="${f(u0)}" y="${barY}" width="${f(Math.max(0.5, MARGIN + barW - u0))}" height="${barH}" fill="${COLOUR.unused}"/>`);
  }
  el.push(`<rect x="${MARGIN}" y="${barY}" width="${barW}" height="${barH}" fill="none" stroke="#333333"/>`);
  for (const lb of labels) {
    const ty = barY - 8 - lb.row * 15;
    el.push(`<line x1="${f(lb.gx)}" y1="${ty + 3}" x2="${f(lb.gx)}" y2="${barY}" stroke="#333333" stroke-width="0.5"/>`);
    el.push(`<text x="${f(lb.gx)}" y="${ty}" font-size="11" font-family="monospace"${lb.endAnchored ? ' text-anchor="end"' : ''}>${escapeXml(lb.text)}</text>`);
  }
  el.push(
    `<text x="${MARGIN + barW}" y="${barY + barH + 14}" font-size="11" font-family="monospace" text-anchor="end">${escapeXml(hex(region.start + region.size))}</text>`,
  );

  // Legend: one line per group with sizes and the ECC share.
  let y = barY + barH + 40;
  const legendLine = (colour: string, text: string): void => {
    el.push(`<rect x="${MARGIN}" y="${y - 11}" width="14" height="14" fill="${colour}"/>`);
    el.push(`<text x="${MARGIN + 22}" y="${y}" font-size="13">${escapeXml(text)}</text>`);
    y += 20;
  };
  for (const g of groups) {
    const z = g.first.geometry;
    const ecc = z.eccSize ? `, ECC ${z.eccSize} B/block = ${Math.round(eccShare(g.first) * 100)}% (hatched)` : '';
    legendLine(
      COLOUR[g.kind],
      `${groupName(g)}: ${g.count > 1 ? `${g.count} x ` : ''}${z.size} bytes at ${hex(g.first.address)}, payload ${z.capacity} bytes${ecc}`,
    );
  }
  if (layout.unused > 0) legendLine(COLOUR.unused, `unused: ${layout.unused} bytes at the end`);
  return y;
}
