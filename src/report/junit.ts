// JUnit XML: the one writer behind run, matrix and harvest reports (CI shows each testcase as a
// row), and the one XML escape. Each report keeps the exact document it always wrote
// (test/golden/junit/): the few differences between them are the `style` below.

// XML 1.0 allows tab, LF, CR and everything from U+0020 except the surrogates and U+FFFE/FFFF;
// kernel logs can hold any byte, so the rest is shown as \xNN rather than making the file invalid.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text safe inside an XML attribute or element. */
export function xmlEscape(s: string): string {
  return s
    .replace(XML_INVALID, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** A failure or an error: a one-line message and the full text. */
export interface JunitProblem {
  readonly message: string;
  readonly body: string;
}

export interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly seconds: number;
  readonly skipped?: string;
  readonly failure?: JunitProblem;
  readonly error?: JunitProblem;
  /** The case's <system-out>; none when empty. */
  readonly out?: string;
}

export interface JunitSuite {
  readonly name: string;
  readonly seconds: number;
  readonly timestamp?: string;
  readonly cases: readonly JunitCase[];
  /** The suite's own <system-out>, after its cases. */
  readonly out?: string;
}

/** How a document writes what is optional in JUnit. */
export interface JunitStyle {
  /** Where skipped="N" counts go: nowhere (harvest), the suites (run) or also <testsuites> (matrix). */
  readonly skippedCounts: 'none' | 'suites' | 'all';
  /** A testcase with nothing inside: `<testcase .../>`, or open and closed (harvest). */
  readonly emptyCase: 'self-closing' | 'open-close';
}

export interface JunitDocument {
  /** <testsuites name=...>, when given. */
  readonly name?: string;
  readonly seconds: number;
  readonly suites: readonly JunitSuite[];
  readonly style: JunitStyle;
}

interface Counts {
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
}

function counts(cases: readonly JunitCase[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.failure !== undefined).length,
    errors: cases.filter((c) => c.error !== undefined).length,
    skipped: cases.filter((c) => c.skipped !== undefined).length,
  };
}

function countAttrs(c: Counts, skipped: boolean): string {
  return `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}"${skipped ? ` skipped="${c.skipped}"` : ''}`;
}

function caseLines(c: JunitCase, style: JunitStyle): string[] {
  const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" time="${c.seconds.toFixed(3)}"`;
  const inner: string[] = [];
  if (c.skipped !== undefined) inner.push(`      <skipped message="${xmlEscape(c.skipped)}"/>`);
  for (const [tag, p] of [
    ['failure', c.failure],
    ['error', c.error],
  ] as const) {
    if (p !== undefined) inner.push(`      <${tag} message="${xmlEscape(p.message)}">${xmlEscape(p.body)}</${tag}>`);
  }
  if (c.out !== undefined && c.out !== '') inner.push(`      <system-out>${xmlEscape(c.out)}</system-out>`);
  if (inner.length === 0 && style.emptyCase === 'self-closing') return [`${open}/>`];
  return [`${open}>`, ...inner, '    </testcase>'];
}

/** The document, with a trailing newline. */
export function junitDocument(d: JunitDocument): string {
  const all = counts(d.suites.flatMap((s) => s.cases));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${d.name === undefined ? '' : ` name="${xmlEscape(d.name)}"`} ${countAttrs(all, d.style.skippedCounts === 'all')} time="${d.seconds.toFixed(3)}">`,
  ];
  for (const s of d.suites) {
    const timestamp = s.timestamp === undefined ? '' : ` timestamp="${xmlEscape(s.timestamp)}"`;
    lines.push(
      `  <testsuite name="${xmlEscape(s.name)}" ${countAttrs(counts(s.cases), d.style.skippedCounts !== 'none')} time="${s.seconds.toFixed(3)}"${timestamp}>`,
    );
    for (const c of s.cases) lines.push(...caseLines(c, d.style));
    if (s.out !== undefined) lines.push(`    <system-out>${xmlEscape(s.out)}</system-out>`);
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
