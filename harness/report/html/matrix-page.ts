/** What the page needs of a matrix report (structural, so report/ does not import matrix/). */
export interface MatrixPageInput {
  readonly summary: Readonly<Record<string, number>> & { readonly cells: number };
  readonly exitCode: number;
  readonly cells: readonly {
    readonly kernelLabel: string; readonly config: string; readonly scenario: string;
    readonly verdict: string; readonly seconds: number; readonly why: string | undefined;
  }[];
}

/** Escapes text for HTML bodies and attributes: guest bytes are untrusted. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The line a CI page can quote. */
export function summaryLine(report: MatrixPageInput): string {
  const s = report.summary;
  const parts = Object.keys(s).filter((k) => k !== 'cells').map((k) => `${k} ${s[k]}`);
  return `${report.summary.cells} cells: ${parts.join(', ')} (exit ${report.exitCode})`;
}

const CSS = 'body{font:14px sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}'
  + '.pass{background:#cfc}.mismatch{background:#fcc}.fault{background:#f99}.skipped{background:#eee}';

// Filters only hide rows; no data is read from the DOM, so nothing untrusted reaches script.
const JS = 'function f(){var o=document.getElementById("failed").checked;'
  + 'document.querySelectorAll("tr.cell").forEach(function(r){r.hidden=o&&r.dataset.verdict==="pass"});}';

/** One self-contained page (inline CSS/JS, no network) for a matrix: every cell and its verdict. */
export function renderMatrixHtml(report: MatrixPageInput): string {
  const rows = report.cells.map((c) => `<tr class="cell ${escapeHtml(c.verdict)}" data-verdict="${escapeHtml(c.verdict)}">`
    + `<td>${escapeHtml(c.kernelLabel)}</td><td>${escapeHtml(c.config)}</td><td>${escapeHtml(c.scenario)}</td>`
    + `<td>${escapeHtml(c.verdict)}</td><td>${c.seconds.toFixed(1)}</td><td>${escapeHtml(c.why ?? '')}</td></tr>`);
  return '<!doctype html><html><head><meta charset="utf-8"><title>ramoops matrix</title>'
    + `<style>${CSS}</style><script>${JS}</script></head><body>`
    + `<p id="summary">${escapeHtml(summaryLine(report))}</p>`
    + '<label><input type="checkbox" id="failed" onchange="f()"> failed only</label>'
    + '<table><tr><th>kernel</th><th>config</th><th>scenario</th><th>verdict</th><th>s</th><th>why</th></tr>'
    + rows.join('') + '</table></body></html>\n';
}
