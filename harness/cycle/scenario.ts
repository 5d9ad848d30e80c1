// Scenarios are data: what the guest runs before a crash, how it crashes (one step, or oopses
// and warnings before the panic), what it runs after the warm reboot, and what both sides
// must then show. Built-ins live in guest/scenarios/*.json; a user's own file works the same.
// This module only loads and checks them, and judges expectations; cycle.ts runs them.
import { projectDir } from '../io/project-dir.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** What a crash step must lead to. */
export type StepOutcome = 'panic' | 'oops' | 'warning' | 'none';

/** One command of the crash: run over SSH as root, then wait for its outcome. */
export interface CrashStep {
  readonly run: string;
  /**
   * panic: the guest panics (must be the last step). oops / warning: the kernel logs an oops or
   * a WARN ("---[ end trace") and the guest lives on. none: the command must exit 0.
   */
  readonly expect: StepOutcome;
  /** Run the step this many times (more dumps than zones, to wrap the ring). */
  readonly repeat: number;
}

/** A kernel feature the scenario needs, as a guest-side test. */
export interface Requirement {
  readonly what: string;
  /** Shell test that exits 0 when the guest has it. */
  readonly test: string;
}

/** Files both sides must show after the reboot (judged on the guest's files; the host's equal them). */
export interface FileExpectation {
  /** A regular expression for file names, e.g. "^dmesg-ramoops-\\d+$". */
  readonly file: string;
  /** At least this many files match (default 1). */
  readonly min: number;
  /** At most this many (default unlimited; 0 = must be absent). */
  readonly max: number | undefined;
  /** Some matching file contains this text. */
  readonly contains: string | undefined;
}

/**
 * Kernel selftest scripts the scenario runs (tools/testing/selftests/<collection> of the booted
 * kernel's source, copied into the run's 9p share): their exit statuses become kselftest TAP.
 */
export interface KselftestSpec {
  /** The folder under tools/testing/selftests, e.g. "pstore". */
  readonly collection: string;
  /** The scripts reported, in TAP order; the scenario's commands run them with kselftest-run. */
  readonly tests: readonly string[];
  /** Edits to the copied scripts, each with its reason (shown in the TAP and the report). */
  readonly adapt: readonly KselftestAdaptation[];
}

/**
 * A literal text replacement in one copied script: for an upstream check that cannot pass on
 * the kernels it ships with. The original tree is never touched; a script that no longer holds
 * the text is run as shipped and the report says the adaptation was not needed.
 */
export interface KselftestAdaptation {
  readonly file: string;
  readonly replace: string;
  readonly with: string;
  readonly why: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Where it was read from (for messages). */
  readonly source: string;
  readonly requires: readonly Requirement[];
  /** More kernel command line words; ramoops.* and pstore.* words override the run's configuration. */
  readonly cmdline: readonly string[];
  /** Guest CPUs this scenario needs at least (the run's --cpus wins when larger). */
  readonly cpus: number | undefined;
  /** Commands before the crash, each must exit 0. */
  readonly before: readonly string[];
  readonly crash: readonly CrashStep[];
  /** Commands after the warm reboot and the guest-side read, each must exit 0. */
  readonly after: readonly string[];
  readonly expect: readonly FileExpectation[];
  /** Kernel selftests the commands run (the run shares a host folder into the guest for them). */
  readonly kselftest?: KselftestSpec | undefined;
}

/** A scenario file that is not what the format says. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly field: string,
    message: string,
  ) {
    super(`scenario ${source}: ${field}: ${message}`);
  }
}

/** The folder of built-in scenarios (guest/scenarios). */
export function builtinScenarioDir(): string {
  return path.join(projectDir('guest'), 'scenarios');
}

/** Names of the built-in scenarios. */
export function builtinScenarioNames(dir = builtinScenarioDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** The scenario named `spec`: a built-in name, or a path to a JSON file (anything with / or .json). */
export function loadScenario(spec: string, dir = builtinScenarioDir()): Scenario {
  const isPath = spec.includes('/') || spec.endsWith('.json');
  if (!isPath && !/^[a-z0-9][a-z0-9-]*$/.test(spec)) throw new ScenarioError(spec, 'name', 'a built-in name is lowercase letters, digits and dashes');
  const file = isPath ? path.resolve(spec) : path.join(dir, `${spec}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    const known = isPath ? '' : ` (built-in: ${builtinScenarioNames(dir).join(', ')})`;
    throw new ScenarioError(spec, 'file', `cannot read ${file}${known}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(spec, 'json', e instanceof Error ? e.message : String(e));
  }
  return parseScenario(data, isPath ? file : spec);
}

/** The scenario `--crash` makes: one command that must panic the guest. */
export function crashOnlyScenario(command: string): Scenario {
  return {
    name: 'crash',
    description: `run \`${command}\` and expect a panic`,
    source: '--crash',
    requires: [],
    cmdline: [],
    cpus: undefined,
    before: [],
    crash: [{ run: command, expect: 'panic', repeat: 1 }],
    after: [],
    expect: [],
  };
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a parsed JSON value against the scenario format; every problem names its field. */
export function parseScenario(data: unknown, source: string): Scenario {
  const bad = (field: string, msg: string): never => {
    throw new ScenarioError(source, field, msg);
  };
  if (!isObj(data)) return bad('(top)', 'must be a JSON object');
  const known = new Set(['name', 'description', 'requires', 'cmdline', 'cpus', 'before', 'crash', 'after', 'expect', 'kselftest']);
  for (const k of Object.keys(data)) if (!known.has(k)) bad(k, `unknown field (known: ${[...known].join(', ')})`);
  const str = (field: string, v: unknown): string => (typeof v === 'string' && v.trim() !== '' ? v : bad(field, 'must be a non-empty string'));
  const strings = (field: string, v: unknown): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return bad(field, 'must be an array of strings');
    return v.map((x, i) => str(`${field}[${i}]`, x));
  };
  const count = (field: string, v: unknown, min: number): number | undefined => {
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 1000 ? v : bad(field, `must be an integer ${min}..1000`);
  };
  const name = str('name', data['name']);
  const description = data['description'] === undefined ? '' : str('description', data['description']);
  const requires = (Array.isArray(data['requires']) ? data['requires'] : data['requires'] === undefined ? [] : bad('requires', 'must be an array')).map(
    (r: unknown, i: number): Requirement => {
      if (!isObj(r)) return bad(`requires[${i}]`, 'must be {"what": ..., "test": ...}');
      return { what: str(`requires[${i}].what`, r['what']), test: str(`requires[${i}].test`, r['test']) };
    },
  );
  const cmdline = strings('cmdline', data['cmdline']);
  for (const [i, w] of cmdline.entries()) if (/\s/.test(w)) bad(`cmdline[${i}]`, 'one kernel command line word per entry (no spaces)');
  if (!Array.isArray(data['crash']) || data['crash'].length === 0) return bad('crash', 'must be a non-empty array of steps');
  const crash = data['crash'].map((s: unknown, i: number): CrashStep => {
    const f = `crash[${i}]`;
    if (!isObj(s)) return bad(f, 'must be {"run": ..., "expect": "panic" | "oops" | "warning" | "none"}');
    for (const k of Object.keys(s)) if (!['run', 'expect', 'repeat'].includes(k)) bad(`${f}.${k}`, 'unknown field (known: run, expect, repeat)');
    const expect = s['expect'];
    if (expect !== 'panic' && expect !== 'oops' && expect !== 'warning' && expect !== 'none') return bad(`${f}.expect`, 'must be panic, oops, warning or none');
    return { run: str(`${f}.run`, s['run']), expect, repeat: count(`${f}.repeat`, s['repeat'], 1) ?? 1 };
  });
  const panics = crash.filter((s) => s.expect === 'panic');
  if (panics.length !== 1 || crash[crash.length - 1]?.expect !== 'panic') bad('crash', 'exactly one step expects a panic, and it is the last');
  if (panics[0] !== undefined && panics[0].repeat !== 1) bad('crash', 'the panic step cannot repeat (the guest is dead after it)');
  const expect = (Array.isArray(data['expect']) ? data['expect'] : data['expect'] === undefined ? [] : bad('expect', 'must be an array')).map(
    (e: unknown, i: number): FileExpectation => {
      const f = `expect[${i}]`;
      if (!isObj(e)) return bad(f, 'must be {"file": REGEX, "min"?: N, "max"?: N, "contains"?: TEXT}');
      for (const k of Object.keys(e)) if (!['file', 'min', 'max', 'contains'].includes(k)) bad(`${f}.${k}`, 'unknown field (known: file, min, max, contains)');
      const file = str(`${f}.file`, e['file']);
      try {
        new RegExp(file);
      } catch (x) {
        bad(`${f}.file`, `not a regular expression: ${x instanceof Error ? x.message : String(x)}`);
      }
      const max = count(`${f}.max`, e['max'], 0);
      const min = count(`${f}.min`, e['min'], 0) ?? (max === 0 ? 0 : 1);
      if (max !== undefined && min > max) bad(f, `min ${min} > max ${max}`);
      return { file, min, max, contains: e['contains'] === undefined ? undefined : str(`${f}.contains`, e['contains']) };
    },
  );
  const ks = data['kselftest'];
  let kselftest: KselftestSpec | undefined;
  if (ks !== undefined) {
    if (!isObj(ks)) return bad('kselftest', 'must be {"collection": NAME, "tests": [NAME, ...]}');
    for (const k of Object.keys(ks))
      if (!['collection', 'tests', 'adapt'].includes(k)) bad(`kselftest.${k}`, 'unknown field (known: collection, tests, adapt)');
    const plain = (field: string, v: unknown): string => {
      const s = str(field, v);
      return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(s) ? s : bad(field, 'a plain file name (letters, digits, _ . -)');
    };
    const tests = strings('kselftest.tests', ks['tests']).map((t, i) => plain(`kselftest.tests[${i}]`, t));
    if (tests.length === 0) bad('kselftest.tests', 'must name at least one test');
    const adaptList = ks['adapt'] ?? [];
    if (!Array.isArray(adaptList)) return bad('kselftest.adapt', 'must be a list of {"file", "replace", "with", "why"}');
    const adapt = adaptList.map((a: unknown, i): KselftestAdaptation => {
      const f = `kselftest.adapt[${i}]`;
      if (!isObj(a)) return bad(f, 'must be {"file": NAME, "replace": TEXT, "with": TEXT, "why": TEXT}');
      for (const k of Object.keys(a)) if (!['file', 'replace', 'with', 'why'].includes(k)) bad(`${f}.${k}`, 'unknown field (known: file, replace, with, why)');
      const by = a['with'];
      if (typeof by !== 'string') bad(`${f}.with`, 'must be a string (may be empty)');
      const why = typeof a['why'] === 'string' && a['why'].trim() !== '' ? a['why'] : bad(`${f}.why`, 'must say why the shipped script cannot pass');
      return { file: plain(`${f}.file`, a['file']), replace: str(`${f}.replace`, a['replace']), with: String(by), why };
    });
    kselftest = { collection: plain('kselftest.collection', ks['collection']), tests, adapt };
  }
  return {
    name,
    description,
    source,
    requires,
    cmdline,
    cpus: count('cpus', data['cpus'], 1),
    before: strings('before', data['before']),
    crash,
    after: strings('after', data['after']),
    expect,
    ...(kselftest === undefined ? {} : { kselftest }),
  };
}

/** One judged expectation or scenario step: the report's `checks`. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Judges the expectations on a set of files (the guest's, which the host's must equal). */
export function judgeExpectations(expect: readonly FileExpectation[], files: readonly { readonly name: string; readonly bytes: Uint8Array }[]): Check[] {
  const dec = new TextDecoder('utf-8', { fatal: false });
  return expect.map((e) => {
    const re = new RegExp(e.file);
    const hits = files.filter((f) => re.test(f.name));
    const problems: string[] = [];
    if (hits.length < e.min) problems.push(`${hits.length} file(s) match, want at least ${e.min}`);
    if (e.max !== undefined && hits.length > e.max) problems.push(`${hits.length} file(s) match, want at most ${e.max}`);
    if (e.contains !== undefined && !hits.some((f) => dec.decode(f.bytes).includes(e.contains ?? '')))
      problems.push(`no matching file contains ${JSON.stringify(e.contains)}`);
    const name = `expect /${e.file}/${e.contains === undefined ? '' : ` contains ${JSON.stringify(e.contains)}`}`;
    const seen = hits.map((f) => f.name).join(', ') || 'none';
    return { name, ok: problems.length === 0, detail: problems.length === 0 ? `matched: ${seen}` : `${problems.join('; ')} (matched: ${seen})` };
  });
}

/** The scenario's ramoops./pstore. words (they override the run's) and the other words. */
export function splitScenarioCmdline(s: Scenario): { ramoops: string[]; other: string[] } {
  const ramoops = s.cmdline.filter((w) => /^(ramoops|pstore)\./.test(w));
  return { ramoops, other: s.cmdline.filter((w) => !ramoops.includes(w)) };
}

/** `base` words with `over`'s words replacing any of the same parameter. */
export function overrideWords(base: string, over: readonly string[]): string {
  const key = (w: string): string => w.split('=')[0] ?? w;
  const replaced = new Set(over.map(key));
  return [...base.split(/\s+/).filter((w) => w !== '' && !replaced.has(key(w))), ...over].join(' ');
}
