// The one runner of apt/dpkg/make for the kernel and package fetchers: stdout back, every
// failure a HarnessError('kernel') that names the command and quotes its output.
import test from 'ava';
import { HarnessError } from '../../../harness/errors.js';
import { runTool } from '../../../harness/proc/tool.js';

test('stdout comes back; C locale; sbin on PATH', async (t) => {
  t.is(await runTool('sh', ['-c', 'echo "$LC_ALL"']), 'C');
  t.regex(await runTool('sh', ['-c', 'echo "$PATH"']), /:\/usr\/sbin:\/sbin$/);
});

test('a missing command, a failing one, and stdout quoted when asked', async (t) => {
  const missing = await t.throwsAsync(runTool('no-such-tool-rh', [], { missing: 'install it' }), { instanceOf: HarnessError });
  t.is(missing?.message, 'no-such-tool-rh not found: install it');
  t.is((missing as HarnessError | undefined)?.stage, 'kernel');
  const failed = await t.throwsAsync(runTool('sh', ['-c', 'echo out; echo err >&2; exit 3']), { instanceOf: HarnessError });
  t.is(failed?.message, 'sh -c echo out; echo err >&2; exit 3 failed: err');
  const long = await t.throwsAsync(runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'], { longOutput: true }), { instanceOf: HarnessError });
  t.is(long?.message, 'sh -c echo out; echo err >&2; exit 3 failed: err | out');
});

test('cancelled by its signal', async (t) => {
  const c = new AbortController();
  const p = runTool('sleep', ['5'], { signal: c.signal });
  c.abort();
  const e = await t.throwsAsync(p, { instanceOf: HarnessError });
  t.is(e?.message, 'sleep cancelled');
});
