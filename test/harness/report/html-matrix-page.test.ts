import test from 'ava';
import { renderMatrixHtml } from '../../../harness/report/html/matrix-page.js';
import type { MatrixReport } from '../../../harness/matrix/run.js';

const hostile = '</script><img src=x onerror=alert(1)>';

function report(): MatrixReport {
  const cell = {
    index: 0,
    kernel: 'k',
    kernelLabel: '6.1.0',
    config: 'c',
    scenario: 's',
    label: 'k / c / s',
    outDir: '/o',
    verdict: 'mismatch' as const,
    seconds: 1.5,
    why: hostile,
  };
  return {
    tool: 'ramoops-harness matrix',
    startedAt: '',
    seconds: 2,
    jobs: 1,
    kernels: [],
    summary: { pass: 0, mismatch: 1, fault: 0, skipped: 0, cells: 1 },
    exitCode: 1,
    cells: [cell],
    outDir: '/o',
  };
}

test('a hostile why stays text: no tag from it reaches the page', (t) => {
  const html = renderMatrixHtml(report());
  t.false(html.includes('<img'));
  t.is(html.split('</script>').length, 2);
  t.true(html.includes('&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'));
  t.true(html.includes('1 cells: '));
});
