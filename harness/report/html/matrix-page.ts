/** What the page needs of a matrix report (structural, so report/ does not import matrix/). */
export interface MatrixPageInput {
  readonly summary: Readonly<Record<string, number>> & { readonly cells: number };
  readonly exitCode: number;
  readonly cells: readonly {
    readonly kernelLabel: string;
    readonly config: string;
    readonly scenario: string;
    readonly verdict: string;
    readonly seconds: number;
    readonly why: string | undefined;
  }[];
}

/** Escapes text for HTML bodies and attributes: guest bytes are untrusted. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The line a CI page can quote. */
export function summaryLine(report: MatrixPageInput): string {
  const s = report.summary;
  const parts = Object.keys(s)
    .filter((k) => k !== 'cells')
    .map((k) => `${k} ${s[k]}`);
  return `${report.summary.cells} cells: ${parts.join(', ')} (exit ${report.exitCode})`;
}

const CSS =
  'body{font:14px sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}' +
  '.pass{background:#cfc}.mismatch{background:#fcc}.fault{background:#f99}.skipped{background:#eee}tr.kernel th{text-align:left;background:#ddd}' +
  '.pair{display:flex;gap:8px}.side{flex:1;min-width:0}.side pre,pre.serial{white-space:pre-wrap;word-break:break-all;max-height:24em;overflow:auto;background:#f8f8f8;border:1px solid #ccc;padding:4px}' +
  'mark.diff{background:#f33;color:#fff;font-weight:bold}.bad{color:#a00}.zonemap svg{max-width:100%;height:auto}';

// Filters only hide rows and the hash only opens a row's details; no data is read from the DOM
// into markup, so nothing untrusted reaches script.
const JS =
  'function f(){var o=document.getElementById("failed").checked,k=document.getElementById("kernel").value,' +
  's=document.getElementById("scenario").value;document.querySelectorAll("tr.cell").forEach(function(r){' +
  'r.hidden=(o&&r.dataset.verdict==="pass")||(k!==""&&r.dataset.kernel!==k)||(s!==""&&r.dataset.scenario!==s);' +
  'var d=document.getElementById("d-"+r.id);if(d)d.hidden=r.hidden;});}' +
  'function h(){var m=/^#(cell-\\d+)$/.exec(location.hash);if(!m)return;var d=document.querySelector("#d-"+m[1]+" details");' +
  'if(d){d.open=true;d.scrollIntoView();}}window.addEventListener("hashchange",h);window.addEventListener("DOMContentLoaded",h);';

function options(id: string, label: string, values: readonly string[]): string {
  const opts = [...new Set(values)].map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join('');
  return `<label>${label} <select id="${id}" onchange="f()"><option value="">all</option>${opts}</select></label> `;
}

/**
 * One self-contained page (inline CSS/JS, no network) for a matrix: the cells grouped by kernel,
 * each with its verdict and a row that opens to `details[i]` (already escaped HTML), filters by
 * verdict, kernel and scenario; `#cell-N` in the address opens cell N.
 */
export function renderMatrixHtml(report: MatrixPageInput, details: readonly (string | undefined)[] = []): string {
  const rows: string[] = [];
  let kernel: string | undefined;
  report.cells.forEach((c, i) => {
    if (c.kernelLabel !== kernel) rows.push(`<tr class="kernel"><th colspan="6">kernel ${escapeHtml((kernel = c.kernelLabel))}</th></tr>`);
    const data = `data-verdict="${escapeHtml(c.verdict)}" data-kernel="${escapeHtml(c.kernelLabel)}" data-scenario="${escapeHtml(c.scenario)}"`;
    rows.push(
      `<tr class="cell ${escapeHtml(c.verdict)}" id="cell-${i + 1}" ${data}>` +
        `<td><a href="#cell-${i + 1}">${i + 1}</a> ${escapeHtml(c.kernelLabel)}</td><td>${escapeHtml(c.config)}</td><td>${escapeHtml(c.scenario)}</td>` +
        `<td class="verdict">${escapeHtml(c.verdict)}</td><td class="seconds">${c.seconds.toFixed(1)}</td><td>${escapeHtml(c.why ?? '')}</td></tr>`,
    );
    const d = details[i];
    if (d !== undefined)
      rows.push(`<tr class="details" id="d-cell-${i + 1}"><td colspan="6"><details><summary>details of cell ${i + 1}</summary>${d}</details></td></tr>`);
  });
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>ramoops matrix</title>' +
    `<style>${CSS}</style><script>${JS}</script></head><body>` +
    `<p id="summary">${escapeHtml(summaryLine(report))}</p>` +
    '<label><input type="checkbox" id="failed" onchange="f()"> failed only</label> ' +
    options(
      'kernel',
      'kernel',
      report.cells.map((c) => c.kernelLabel),
    ) +
    options(
      'scenario',
      'scenario',
      report.cells.map((c) => c.scenario),
    ) +
    '<table><tr><th>cell / kernel</th><th>config</th><th>scenario</th><th>verdict</th><th>s</th><th>why</th></tr>' +
    rows.join('') +
    '</table></body></html>\n'
  );
}
