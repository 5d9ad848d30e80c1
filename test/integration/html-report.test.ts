// The HTML report of a real matrix, loaded in a real browser: two cells on Debian's stock kernel,
// one of which fails by design (its scenario expects text the kernel never logs). Headless
// chromium runs the page's script and dumps the DOM of report.html#cell-N, which must open that
// cell's details; the numbers on the page are matrix.json's. A screenshot is kept (path logged).
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dir } from 'tmp-promise';
import type { MatrixReport } from '../../harness/matrix/run.js';
import { onPath, serialUnless, x86SkipReason } from '../helpers/integration.js';
import { repoRoot } from '../helpers/paths.js';

const reason = x86SkipReason({ debianKernel: true }) ?? (onPath('chromium') ? undefined : 'chromium is not installed (make setup installs it)');
const htmlTest = serialUnless(reason);

const NEVER = '<b>text the kernel never logs</b>';

/** The DOM after the page's scripts ran, with `hash` in the address. */
async function dumpDom(page: string, hash: string): Promise<string> {
  const r = await execa('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--dump-dom', `${pathToFileURL(page).href}${hash}`], {
    timeout: 120_000,
  });
  return r.stdout;
}

/** The element with this id, from its opening tag to the first `</close>` after it. */
function element(dom: string, id: string, close: string): string {
  const at = dom.indexOf(`id="${id}"`);
  if (at < 0) return '';
  const start = dom.lastIndexOf('<', at);
  return dom.slice(start, dom.indexOf(`</${close}>`, at) + close.length + 3);
}

htmlTest("the matrix page shows every cell with matrix.json's numbers, and #cell-N opens the failed cell to its files", async (t) => {
  t.timeout(60 * 60_000);
  const tmp = await dir({ prefix: 'ramoops-html-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => tmp.cleanup());
  const scenario = join(tmp.path, 'must-fail.json');
  writeFileSync(
    scenario,
    JSON.stringify({
      name: 'must-fail',
      description: 'a panic whose expectation cannot hold',
      crash: [{ run: 'echo c > /proc/sysrq-trigger', expect: 'panic' }],
      expect: [{ file: '^dmesg-ramoops-0$', contains: NEVER }],
    }),
  );
  const out = join(tmp.path, 'out');
  const r = await execa(
    process.execPath,
    [
      join(repoRoot(), 'dist/harness/cli/main.js'),
      'matrix',
      '--jobs',
      '2',
      '--out',
      out,
      '--kernels',
      'debian',
      '--configs',
      'default:',
      '--scenarios',
      'panic-sysrq',
      scenario,
    ],
    { reject: false, all: true },
  );
  const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as MatrixReport;
  t.is(r.exitCode, 1, r.all);
  t.deepEqual(
    m.cells.map((c) => `${c.scenario} ${c.verdict}`),
    ['panic-sysrq pass', 'must-fail mismatch'],
    r.all,
  );

  const page = join(out, 'report.html');
  const dom = await dumpDom(page, '#cell-2');
  const summary = /<p id="summary">([^<]*)<\/p>/.exec(dom)?.[1];
  t.is(summary, `2 cells: pass 1, mismatch 1, fault 0, skipped 0 (exit ${m.exitCode})`);
  m.cells.forEach((c, i) => {
    const row = element(dom, `cell-${i + 1}`, 'tr');
    t.true(row.includes(`data-verdict="${c.verdict}"`) && row.includes(`<td class="verdict">${c.verdict}</td>`), row);
    t.true(row.includes(`<td class="seconds">${c.seconds.toFixed(1)}</td>`), `${c.seconds} in ${row}`);
  });
  // The failed cell's details: opened by the hash, its failed check (the hostile text still
  // text), dmesg-ramoops-0 host beside guest, the zone map and the serial tail.
  const failed = element(dom, 'd-cell-2', 'tr');
  t.true(failed.includes('<details open="">'), failed.slice(0, 300));
  t.true(failed.includes('FAIL expect') && failed.includes('&lt;b&gt;text the kernel never logs&lt;/b&gt;'));
  t.false(failed.includes(NEVER));
  t.regex(
    failed,
    /<div class="file" data-file="dmesg-ramoops-0"><h4>dmesg-ramoops-0: identical<\/h4><div class="pair"><div class="side"><b>host<\/b>.*<div class="side"><b>guest<\/b>/s,
  );
  t.true(failed.includes('<svg') && failed.includes('<pre class="serial">'));
  // The other cell stays closed.
  t.true(element(dom, 'd-cell-1', 'tr').includes('<details>'));

  const shots = join(repoRoot(), '.scratch', 'html-report');
  mkdirSync(shots, { recursive: true });
  const shot = join(shots, `matrix-cell-2-${Date.now()}.png`);
  await execa(
    'chromium',
    ['--headless=new', '--no-sandbox', '--disable-gpu', `--screenshot=${shot}`, '--window-size=1280,2400', `${pathToFileURL(page).href}#cell-2`],
    { timeout: 120_000 },
  );
  t.true(readFileSync(shot).subarray(1, 4).toString() === 'PNG', shot);
  t.log(`screenshot: ${shot}`);
});
