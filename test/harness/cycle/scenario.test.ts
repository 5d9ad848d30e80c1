// Scenario files: every built-in loads; malformed files are refused with the field named;
// expectations are judged as documented.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinScenarioNames, judgeExpectations, loadScenario, overrideWords, parseScenario, ScenarioError } from '../../../harness/cycle/scenario.js';

test('every built-in scenario loads and ends in exactly one panic step', (t) => {
  const names = builtinScenarioNames();
  t.true(names.length >= 14, names.join(','));
  for (const n of names) {
    const s = loadScenario(n);
    t.is(s.name, n, `${n}: name field equals the file name`);
    t.is(s.crash.filter((c) => c.expect === 'panic').length, 1, n);
    t.is(s.crash[s.crash.length - 1]?.expect, 'panic', n);
    t.not(s.description, '', n);
  }
});

test('the oops-then-panic scenario has the two steps and the documented expectations', (t) => {
  const s = loadScenario('oops-then-panic');
  t.deepEqual(
    s.crash.map((c) => [c.expect, c.repeat]),
    [
      ['oops', 1],
      ['panic', 1],
    ],
  );
  t.deepEqual(s.cmdline, []);
  t.true(s.requires.some((r) => r.test.includes('/proc/sys/kernel/panic_on_oops')));
  t.deepEqual(
    s.expect.map((e) => [e.file, e.min, e.contains]),
    [
      ['^dmesg-ramoops-\\d+$', 2, undefined],
      ['^dmesg-ramoops-\\d+$', 1, 'Oops#1 Part1'],
      ['^dmesg-ramoops-\\d+$', 1, 'Panic#'],
    ],
  );
});

test('malformed scenarios name the field', (t) => {
  const cases: [unknown, RegExp][] = [
    [[], /\(top\): must be a JSON object/],
    [{ name: 'x', crash: [] }, /crash: must be a non-empty array/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'oops' }] }, /crash: exactly one step expects a panic, and it is the last/],
    [
      {
        name: 'x',
        crash: [
          { run: 'a', expect: 'panic' },
          { run: 'b', expect: 'oops' },
        ],
      },
      /the last/,
    ],
    [{ name: 'x', crash: [{ run: 'a', expect: 'boom' }] }, /crash\[0\]\.expect: must be panic, oops, warning or none/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic', repeat: 2 }] }, /cannot repeat/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], expect: [{ file: '(' }] }, /expect\[0\]\.file: not a regular expression/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], cmdline: ['a b'] }, /cmdline\[0\]: one kernel command line word/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], bogus: 1 }, /bogus: unknown field/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], expect: [{ file: 'a', min: 3, max: 1 }] }, /min 3 > max 1/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], kselftest: { collection: 'pstore' } }, /kselftest\.tests: must name at least one test/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], kselftest: { collection: '../etc', tests: ['a'] } }, /kselftest\.collection: a plain file name/],
    [{ name: 'x', crash: [{ run: 'a', expect: 'panic' }], kselftest: { collection: 'pstore', tests: ['a'], dir: 'x' } }, /kselftest\.dir: unknown field/],
  ];
  for (const [data, re] of cases) {
    const e = t.throws(() => parseScenario(data, 'case.json'), { instanceOf: ScenarioError });
    t.regex(e?.message ?? '', re);
    t.regex(e?.message ?? '', /^scenario case\.json: /);
  }
});

test('a user file loads by path; an unknown name lists the built-ins', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rh-scen-'));
  const f = path.join(dir, 'mine.json');
  writeFileSync(f, JSON.stringify({ name: 'mine', crash: [{ run: 'echo c > /proc/sysrq-trigger', expect: 'panic' }] }));
  t.is(loadScenario(f).name, 'mine');
  const e = t.throws(() => loadScenario('no-such-scenario'), { instanceOf: ScenarioError });
  t.regex(e?.message ?? '', /built-in: .*oops-then-panic/);
  t.throws(() => loadScenario('../etc/passwd'), { instanceOf: ScenarioError });
});

test('expectations: min, max, contains', (t) => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const files = [
    { name: 'dmesg-ramoops-0', bytes: enc('Panic#2 Part1\nx') },
    { name: 'dmesg-ramoops-1', bytes: enc('Oops#1 Part1\ny') },
  ];
  const s = parseScenario(
    {
      name: 'x',
      crash: [{ run: 'a', expect: 'panic' }],
      expect: [
        { file: '^dmesg-', min: 2 },
        { file: '^dmesg-', contains: 'Oops#1' },
        { file: '^pmsg-' },
        { file: '^dmesg-', max: 1 },
        { file: '^ftrace-', max: 0 },
      ],
    },
    't',
  );
  t.deepEqual(
    judgeExpectations(s.expect, files).map((c) => c.ok),
    [true, true, false, false, true],
  );
  t.regex(judgeExpectations(s.expect, files)[2]?.detail ?? '', /0 file\(s\) match, want at least 1/);
});

test("scenario words override the run's words of the same parameter", (t) => {
  t.is(
    overrideWords('ramoops.mem_size=0x100000 ramoops.record_size=0x4000 pstore.compress=lz4', ['ramoops.record_size=0x1000']),
    'ramoops.mem_size=0x100000 pstore.compress=lz4 ramoops.record_size=0x1000',
  );
});

test('the selftests scenario runs the three pstore scripts with kselftest-run: before, as the crash, after the read', (t) => {
  const s = loadScenario('selftests');
  t.deepEqual(
    { ...s.kselftest, adapt: undefined },
    { collection: 'pstore', tests: ['pstore_tests', 'pstore_crash_test', 'pstore_post_reboot_tests'], adapt: undefined },
  );
  t.deepEqual(
    s.kselftest?.adapt.map((a) => a.file),
    ['pstore_post_reboot_tests'],
  );
  // selftests-verbatim: the same run, the scripts exactly as shipped.
  const v = loadScenario('selftests-verbatim');
  t.deepEqual(v.kselftest?.adapt, []);
  t.deepEqual([v.before, v.crash, v.after, v.requires, v.expect], [s.before, s.crash, s.after, s.requires, s.expect]);
  const run = '/usr/lib/ramoops-harness/kselftest-run pstore';
  t.deepEqual(s.before, [`${run} pstore_tests`]);
  t.deepEqual(s.crash, [{ run: `${run} pstore_crash_test`, expect: 'panic', repeat: 1 }]);
  t.deepEqual(s.after, [`${run} pstore_post_reboot_tests`]);
  t.regex(s.requires[0]?.test ?? '', /\/rh-share 9p/);
  t.is(parseScenario({ name: 'x', crash: [{ run: 'a', expect: 'panic' }] }, 't').kselftest, undefined);
});

test('kselftest.adapt: each edit names its file, literal text and reason; anything else is refused with its field', (t) => {
  const base = { name: 'x', crash: [{ run: 'a', expect: 'panic' }] };
  const ks = (adapt: unknown): unknown => ({ ...base, kselftest: { collection: 'pstore', tests: ['t'], adapt } });
  t.deepEqual(parseScenario(ks([{ file: 't', replace: 'a b', with: '', why: 'w' }]), 't').kselftest?.adapt, [
    { file: 't', replace: 'a b', with: '', why: 'w' },
  ]);
  for (const [adapt, field] of [
    [{}, /kselftest\.adapt: must be a list/],
    [[{ file: '../t', replace: 'a', with: 'b', why: 'w' }], /kselftest\.adapt\[0\]\.file/],
    [[{ file: 't', replace: '', with: 'b', why: 'w' }], /kselftest\.adapt\[0\]\.replace/],
    [[{ file: 't', replace: 'a', why: 'w' }], /kselftest\.adapt\[0\]\.with/],
    [[{ file: 't', replace: 'a', with: 'b', why: ' ' }], /kselftest\.adapt\[0\]\.why: must say why/],
    [[{ file: 't', replace: 'a', with: 'b', why: 'w', sed: 's/x/y/' }], /kselftest\.adapt\[0\]\.sed: unknown field/],
  ] as const) {
    const e = t.throws(() => parseScenario(ks(adapt), 't'), { instanceOf: ScenarioError });
    t.regex(e?.message ?? '', field);
  }
});
