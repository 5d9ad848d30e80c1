// The cleanup registry: order, exactly-once, early disposal, timeout and signal handling.
import test from 'ava';
import { Lifetime, RunAbortedError, withLifetime } from '../../../harness/proc/lifetime.js';

test('disposers run newest first, once, on normal return', async (t) => {
  const log: string[] = [];
  const r = await withLifetime({}, (life) => {
    life.defer('a', () => void log.push('a'));
    life.defer('b', async () => {
      await new Promise((res) => setTimeout(res, 10));
      log.push('b');
    });
    return Promise.resolve(42);
  });
  t.is(r, 42);
  t.deepEqual(log, ['b', 'a']);
});

test('disposers run on error, and a failing disposer does not stop the others', async (t) => {
  const log: string[] = [];
  const warnings: string[] = [];
  await t.throwsAsync(
    withLifetime({ warn: (m) => warnings.push(m) }, (life) => {
      life.defer('a', () => void log.push('a'));
      life.defer('bad', () => {
        throw new Error('boom');
      });
      return Promise.reject(new Error('work failed'));
    }),
    { message: 'work failed' },
  );
  t.deepEqual(log, ['a']);
  t.deepEqual(warnings, ['bad: boom']);
});

test('early dispose runs once and is not repeated at close; forget skips it', async (t) => {
  const life = new Lifetime();
  let n = 0;
  let m = 0;
  const reg = life.defer('x', () => void n++);
  life.defer('y', () => void m++).forget();
  await reg.dispose();
  await reg.dispose();
  await life.close();
  await life.close();
  t.is(n, 1);
  t.is(m, 0);
});

test('a hanging disposer is abandoned after its limit', async (t) => {
  const warnings: string[] = [];
  const life = new Lifetime({ disposerTimeoutMs: 50, warn: (w) => warnings.push(w) });
  let after = false;
  life.defer('after', () => void (after = true));
  life.defer('hang', () => new Promise<void>(() => {}));
  await life.close();
  t.true(after);
  t.regex(warnings[0] ?? '', /hang: still running/);
});

test('timeout aborts the signal and rejects even when the work ignores it', async (t) => {
  let sawAbort = false;
  let cleaned = false;
  const e = await t.throwsAsync(
    withLifetime({ timeoutMs: 50 }, async (life) => {
      life.defer('c', () => void (cleaned = true));
      life.signal.addEventListener('abort', () => (sawAbort = true));
      await new Promise((res) => setTimeout(res, 5000).unref());
    }),
    { instanceOf: RunAbortedError },
  );
  t.is(e?.exitCode, 124);
  t.true(sawAbort);
  t.true(cleaned);
});

test('registering after close disposes at once', async (t) => {
  const life = new Lifetime();
  await life.close();
  let ran = false;
  life.defer('late', () => void (ran = true));
  await new Promise((res) => setImmediate(res));
  t.true(ran);
});

test.serial('SIGTERM: abort, clean up, then exit 143', async (t) => {
  const exits: number[] = [];
  let cleaned = false;
  const done = withLifetime({ handleSignals: true, exit: (c) => exits.push(c) }, async (life) => {
    life.defer('c', () => void (cleaned = true));
    process.kill(process.pid, 'SIGTERM');
    // A referenced timer: the signal arrives asynchronously and the loop must stay up for it.
    await new Promise((res) => {
      const timer = setTimeout(res, 5000);
      life.signal.addEventListener('abort', () => clearTimeout(timer));
    });
  });
  const e = await t.throwsAsync(done, { instanceOf: RunAbortedError });
  t.is(e?.abortCause, 'SIGTERM');
  t.true(cleaned);
  await new Promise((res) => setImmediate(res));
  t.deepEqual(exits, [143]);
  // Handlers are removed after the run.
  t.is(process.listenerCount('SIGTERM'), 0);
});
