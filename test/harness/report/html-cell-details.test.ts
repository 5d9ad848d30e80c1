import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { cellDetailsHtml, firstDifference } from '../../../harness/report/html/cell-details.js';
import type { CycleReport, RunReport } from '../../../harness/report/run-report.js';
import { renderRunHtml } from '../../../harness/report/html/run-page.js';
import { repoRoot } from '../../helpers/paths.js';

// A real capture of Debian's 6.1 (ECC 16): the guest's dmesg-ramoops-0 and region, laid out as
// a run's artifacts folder, with the host's copy one byte off, a serial log longer than the tail.
const FIX = join(repoRoot(), 'test/fixtures/deb61-ecc16-corrected');
const FLIP = 5000;

async function artifacts(): Promise<{ path: string; report: RunReport; cleanup: () => Promise<void> }> {
  const d = await dir({ prefix: 'ramoops-cell-details-', unsafeCleanup: true });
  const guest = readFileSync(join(FIX, 'expected/dmesg-ramoops-0'));
  const host = Buffer.from(guest);
  host[FLIP] = 0x3c; // '<': the marked byte must still be escaped
  for (const [side, bytes] of [
    ['host', host],
    ['guest', guest],
  ] as const) {
    mkdirSync(join(d.path, `cycle1-${side}`));
    writeFileSync(join(d.path, `cycle1-${side}`, 'dmesg-ramoops-0'), bytes);
  }
  writeFileSync(join(d.path, 'cycle1-region.bin'), readFileSync(join(FIX, 'region.bin')));
  writeFileSync(
    join(d.path, 'serial.log'),
    [...Array.from({ length: 99 }, (_, i) => `line ${i} </pre><script>x()</script>`), 'Command line: console=ttyS0 rh.key=SECRETKEY quiet'].join('\n'),
  );
  const [release, cmdline] = readFileSync(join(FIX, 'guest-info.txt'), 'utf8').split('\n');
  const file = {
    name: 'dmesg-ramoops-0',
    size: guest.length,
    length: guest.length,
    mtime: undefined,
    eccNotice: 'ECC: 3 Corrected bytes, 0 unrecoverable blocks',
  };
  const cycle = {
    cycle: 1,
    verdict: 'mismatch',
    reason: undefined,
    panicSeenBy: 'qmp',
    reset: 'guest-reset',
    pmemsave: 'not-checked',
    corrupted: [],
    host: { files: [file], decisions: [], warnings: [] },
    guest: { files: [file] },
    comparison: { matched: false, files: [{ name: 'dmesg-ramoops-0', status: 'differs', problems: [], mtimeCompared: false }], missing: [], extra: [] },
    checks: [{ name: 'expect /^dmesg-ramoops-0$/', ok: true, detail: '' }],
    timings: { crash: 1.5, capture: 0.25 },
  } as unknown as CycleReport;
  const report = {
    verdict: 'mismatch',
    exitCode: 1,
    seconds: 12.5,
    cmdline,
    kernel: { spec: 'debian', release, path: undefined },
    scenario: { name: 'panic-sysrq', source: 'built-in' },
    timings: { boot: 3 },
    cycles: [cycle],
    fault: undefined,
    skipped: undefined,
    outDir: d.path,
  } as unknown as RunReport;
  return { path: d.path, report, cleanup: d.cleanup };
}

test('firstDifference: the first differing offset, the shorter length for a prefix, undefined when equal', (t) => {
  t.is(firstDifference(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 9, 3)), 1);
  t.is(firstDifference(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), 2);
  t.is(firstDifference(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), undefined);
});

test('details of a real capture: host beside guest around the first difference, marked and escaped; zone map; ECC; capped serial tail', async (t) => {
  const a = await artifacts();
  t.teardown(() => a.cleanup());
  const html = cellDetailsHtml(a.path, a.report);
  t.true(html.includes('dmesg-ramoops-0: first difference at byte 5000'));
  const marks = [...html.matchAll(/<mark class="diff">([^<]*)<\/mark>/g)].map((m) => m[1]);
  const guestByte = String.fromCharCode(readFileSync(join(FIX, 'expected/dmesg-ramoops-0'))[FLIP] ?? 0);
  t.deepEqual(marks, ['&lt;', guestByte]);
  // Each side shows a bounded window, and says how much it left out.
  t.regex(html, /<b>host<\/b> \(24346 bytes\) <i>4232 bytes before not shown; 18578 bytes after not shown<\/i>/);
  t.true(html.includes('<svg') && html.includes('dmesg 0..'), 'zone map of the ECC 16 layout');
  t.true(html.includes('host dmesg-ramoops-0: ECC: 3 Corrected bytes'));
  t.true(html.includes('timings: crash 1.50 s, capture 0.25 s'));
  t.true(html.includes('(last 40 of 100 lines;'));
  t.false(html.includes('line 59 '));
  t.true(html.includes('line 98 &lt;/pre&gt;&lt;script&gt;'));
  t.true(html.includes('rh.key=&lt;run key&gt; quiet') && !html.includes('SECRETKEY'), 'the run key is hidden as in report.json');
  t.false(html.includes('<script>'));
});

test("the page of one run: one row, its details already open, the run's verdict in the summary", async (t) => {
  const a = await artifacts();
  t.teardown(() => a.cleanup());
  const html = renderRunHtml(a.report);
  t.true(html.includes('<p id="summary">1 cells: pass 0, mismatch 1, fault 0, skipped 0 (exit 1)</p>'));
  t.is(html.split('<tr class="cell ').length, 2);
  t.true(html.includes('<details open><summary>details of cell 1</summary>'));
  t.true(html.includes('first difference at byte 5000'));
});
