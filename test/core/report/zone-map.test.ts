// The zone map pictures: terminal table + bar, and the SVG (golden files; UPDATE_GOLDEN=1
// rewrites them; rsvg-convert, when installed, proves the SVG is well-formed and renders).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeXml, regionOf, zoneGroups, zoneMapSvg, zoneMapText } from '../../../src/report/zone-map.js';
import type { Problem } from '../../../src/validate/types.js';
import { repoRoot } from '../../helpers/paths.js';
import { fromCmdline } from '../validate/helpers.js';

const C61 =
  'memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000 ramoops.console_size=0x10000 ramoops.pmsg_size=0x4000 ramoops.ftrace_size=0x8000 ramoops.ecc=16';
const result = fromCmdline(C61, { kernel: '6.1.192', cpus: 2 });
const layout = result.layout;
if (!layout) throw new Error('the c61 configuration must have a layout');

const golden = (name: string, actual: string): string => {
  const dir = join(repoRoot(), 'test', 'golden', 'validate');
  const file = join(dir, name);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
  }
  return readFileSync(file, 'utf8');
};

test('groups: runs of equal zones become one row', (t) => {
  t.deepEqual(
    zoneGroups(layout).map((g) => [g.kind, g.first.index, g.count]),
    [
      ['dmesg', 0, 57],
      ['console', 0, 1],
      ['ftrace', 0, 2],
      ['pmsg', 0, 1],
    ],
  );
  t.deepEqual(regionOf(layout), { start: 0x8000000, size: 0x100000 });
});

test('terminal: table, a bar of exactly the width, addresses at both ends, a legend', (t) => {
  const text = zoneMapText(layout, { width: 40 });
  const bar = /^\[([DCPF.]+)\]$/m.exec(text)?.[1] ?? '';
  t.is(bar.length, 40);
  t.regex(bar, /^D+C+F+P+$/);
  t.regex(text, /^dmesg 0\.\.56 +0x8000000 +0x80e4000 +57 x 16384 +14532 +11%$/m);
  t.regex(text, /^0x8000000 +0x8100000$/m);
  t.regex(text, /D dmesg {2}C console {2}P pmsg {2}F ftrace/);
  t.is(text, golden('c61-zone-map.txt', text));
});

test('terminal: a small zone still gets a letter; unused tail shown as dots', (t) => {
  const r = fromCmdline(
    'memmap=0x1000000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x1000000 ramoops.record_size=0x100000 ramoops.console_size=0x100 ramoops.ftrace_size=0 ramoops.pmsg_size=0x1000',
    { kernel: '6.1.192' },
  );
  const text = r.layout ? zoneMapText(r.layout, { width: 30 }) : '';
  const bar = /^\[(.+)\]$/m.exec(text)?.[1] ?? '';
  t.is(bar.length, 30);
  t.regex(bar, /C/);
  t.regex(bar, /\.$/);
  t.regex(text, /^unused /m);
});

test('SVG: self-contained, zones coloured, ECC hatched, addresses and problems written, text escaped', (t) => {
  const evil: Problem = { severity: 'warning', code: 'region-not-reserved', message: 'a <b> & "c" \'d\'', fix: 'x < y' };
  const svg = zoneMapSvg(layout, [...result.problems, evil]);
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.regex(svg, /<\/svg>\n$/);
  t.notRegex(svg, /href=|<script|@import/);
  t.regex(svg, /<pattern id="ecc"/);
  t.is((svg.match(/fill="url\(#ecc\)"/g) ?? []).length, layout.zones.length);
  for (const a of ['0x8000000', '0x80e4000', '0x80f4000', '0x80fc000', '0x8100000']) t.true(svg.includes(`>${a}</text>`), a);
  t.true(svg.includes('a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;'));
  t.false(svg.includes('a <b>'));
  t.is(escapeXml('<&>"\''), '&lt;&amp;&gt;&quot;&apos;');
  t.is(svg, golden('c61-zone-map.svg', svg));
});

test('SVG: without a layout it lists the problems only', (t) => {
  const r = fromCmdline('ramoops.mem_address=0x8000000 ramoops.mem_size=0x2000');
  const svg = zoneMapSvg(r.layout, r.problems);
  t.regex(svg, /the kernel would refuse it/);
  t.regex(svg, /ERROR no-room/);
});

const haveRsvg = spawnSync('rsvg-convert', ['--version']).status === 0;
(haveRsvg ? test : test.skip)('SVG: rsvg-convert parses and renders it', (t) => {
  const svg = zoneMapSvg(layout, result.problems);
  const out = spawnSync('rsvg-convert', ['-f', 'png'], { input: svg });
  t.is(out.status, 0, out.stderr?.toString());
  t.deepEqual([...out.stdout.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});
