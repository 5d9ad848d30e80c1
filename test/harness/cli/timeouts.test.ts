// --timeout of run and matrix: the whole job's seconds, or per phase; a wrong phase or value is one InputError naming the flag.
import test from 'ava';
import { InputError } from '../../../harness/cli/input.js';
import { parseTimeout } from '../../../harness/cli/timeouts.js';

test('a bare number is the whole run, as before', (t) => {
  t.deepEqual(parseTimeout('900'), { totalMs: 900_000, phases: {} });
  t.deepEqual(parseTimeout(undefined), { totalMs: undefined, phases: {} });
});

test('phases by name, with run for the whole', (t) => {
  t.deepEqual(parseTimeout('boot=120,ssh=60.5,run=1800'), { totalMs: 1_800_000, phases: { boot: 120_000, ssh: 60_500 } });
  t.deepEqual(parseTimeout('panic=30, reset=10'), { totalMs: undefined, phases: { panic: 30_000, reset: 10_000 } });
});

const refused = test.macro((t, text: string, message: string) => {
  const e = t.throws(() => parseTimeout(text), { instanceOf: InputError });
  t.is(e?.flag, '--timeout');
  t.is(e?.message, message);
});

test('unknown phase', refused, 'bot=120', '--timeout: unknown phase "bot"; give run, boot, panic, reset, ssh (e.g. --timeout boot=300,ssh=120)');
test(
  'unknown phase after a good one',
  refused,
  'boot=120,crash=5',
  '--timeout: unknown phase "crash"; give run, boot, panic, reset, ssh (e.g. --timeout boot=300,ssh=120)',
);
test('not seconds', refused, 'boot=2m', '--timeout: boot=2m is not a positive number of seconds');
test('zero', refused, '0', '--timeout: 0 is not a positive number of seconds');
test('empty value', refused, 'ssh=', '--timeout: ssh= is not a positive number of seconds');
