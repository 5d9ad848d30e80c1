// session.ts against an in-process ssh2 server that runs each exec with the host's /bin/sh:
// the real client code paths (retrying connect, host key pinning, public key auth, exec with
// binary output and exit codes, readPstore's stat/cat commands) without booting a guest.
// The end-to-end check against dropbear in a guest is harness/cycle-smoke.ts.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { HarnessError } from '../../../harness/errors.js';
import { ed25519Pair, generateRunKeys, keyCmdlineWord } from '../../../harness/ssh/keys.js';
import { againIfDropped, HostKeyPin, parseStatLine, shellQuote, SshSession } from '../../../harness/ssh/session.js';

interface FakeGuest {
  readonly port: number;
  readonly hostKeyBase64: string;
  close(): Promise<void>;
  /** Serves a connection accepted elsewhere as if it had come to this guest's port. */
  readonly inject: (sock: net.Socket) => void;
}

/** An SSH server on 127.0.0.1 that accepts `authorized` for root and runs commands with sh. */
async function fakeGuest(authorized: string, port = 0): Promise<FakeGuest> {
  const hostKey = ed25519Pair('fake-guest');
  const allowed = ssh2.utils.parseKey(authorized);
  if (allowed instanceof Error) throw allowed;
  const server = new ssh2.Server({ hostKeys: [hostKey.privateKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (
        ctx.method === 'publickey' &&
        ctx.username === 'root' &&
        ctx.key.algo === allowed.type &&
        ctx.key.data.equals(allowed.getPublicSSH()) &&
        (ctx.signature === undefined || allowed.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo) === true)
      ) {
        ctx.accept();
      } else {
        ctx.reject(['publickey']);
      }
    });
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        const child = spawn('/bin/sh', ['-c', info.command], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.pipe(stream, { end: false });
        child.stderr.pipe(stream.stderr, { end: false });
        child.on('close', (code) => {
          stream.exit(code ?? 255);
          stream.end();
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  const pub = ssh2.utils.parseKey(hostKey.publicKey);
  if (pub instanceof Error) throw pub;
  return {
    port: addr.port,
    hostKeyBase64: pub.getPublicSSH().toString('base64'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    inject: (sock) => server.injectSocket(sock),
  };
}

test('keys: authorized_keys line and its base64 command line word', (t) => {
  const k = generateRunKeys('rh-test');
  t.regex(k.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+ rh-test$/);
  t.regex(k.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
  t.is(k.cmdlineWord, keyCmdlineWord(k.publicKey));
  t.is(Buffer.from(k.cmdlineWord.slice('rh.key='.length), 'base64').toString(), `${k.publicKey}\n`);
  t.notRegex(k.cmdlineWord, /\s/);
  t.throws(() => generateRunKeys('two words'), { instanceOf: HarnessError });
});

test('stat lines: seconds from %Y, nanoseconds from %y', (t) => {
  t.deepEqual(parseStatLine('dmesg-ramoops-0|27388|1795683190|2026-11-26 06:13:10.279046000 +0000'), {
    name: 'dmesg-ramoops-0',
    size: 27388,
    mtime: { seconds: 1795683190, nsec: 279046000 },
  });
  t.deepEqual(parseStatLine('x|0|5|1970-01-01 00:00:05 +0000').mtime, { seconds: 5, nsec: 0 });
  t.deepEqual(parseStatLine('x|0|5|1970-01-01 00:00:05.5 +0000').mtime, { seconds: 5, nsec: 500000000 });
  t.throws(() => parseStatLine('garbage'), { instanceOf: HarnessError });
});

test('shell quoting', (t) => {
  t.is(shellQuote('/sys/fs/pstore/dmesg-ramoops-0'), '/sys/fs/pstore/dmesg-ramoops-0');
  t.is(shellQuote("it's here"), `'it'\\''s here'`);
  t.is(shellQuote('$(reboot)'), `'$(reboot)'`);
});

test('host key pin: first key pinned, announcement line parsed (even after escape codes)', (t) => {
  const pin = new HostKeyPin();
  t.true(pin.verify(Buffer.from('a')));
  t.false(pin.verify(Buffer.from('b')));
  t.is(pin.lastRefused, Buffer.from('b').toString('base64'));
  t.true(pin.expectFromLine('\x1b[2J\x1b[01;01HRAMOOPS-HARNESS-HOSTKEY ssh-ed25519 AAAAC3Nz+/='));
  t.is(pin.pinned, 'AAAAC3Nz+/=');
  t.false(pin.expectFromLine('RAMOOPS-HARNESS-READY'));
});

test('connect retries until the server appears; exec is binary safe and reports exit codes', async (t) => {
  const keys = generateRunKeys();
  // One listener holds the port for the whole test (no free-then-rebind race): it drops the
  // client's first attempts, then hands later connections to the SSH server. Waiting on the
  // attempt count, not on a sleep, proves the retry whatever the machine's load.
  let dropped = 0;
  // Set once the server is up; the listener reads it on every connection.
  let guest: FakeGuest | undefined = undefined;
  const front = net.createServer((sock) => {
    if (guest !== undefined) return guest.inject(sock);
    dropped++;
    sock.resetAndDestroy();
  });
  t.teardown(() => new Promise<void>((resolve) => front.close(() => resolve())));
  const port = await new Promise<number>((resolve) => front.listen(0, '127.0.0.1', () => resolve((front.address() as net.AddressInfo).port)));
  const pin = new HostKeyPin();
  const connecting = SshSession.connect({ port, privateKey: keys.privateKey, hostKey: pin, timeout: 60_000, retryMs: 100 });
  while (dropped < 2) await new Promise((r) => setTimeout(r, 20));
  guest = await fakeGuest(keys.publicKey);
  const session = await connecting;
  try {
    t.is(pin.pinned, guest.hostKeyBase64);
    const r = await session.exec("printf '\\000\\001\\377\\n'; echo err >&2; exit 3", { timeout: 10_000 });
    t.is(r.code, 3);
    t.deepEqual([...r.stdout], [0, 1, 255, 10]);
    t.is(r.stderr.toString(), 'err\n');
    const big = await session.exec('head -c 3000000 /dev/zero', { timeout: 20_000 });
    t.is(big.stdout.length, 3_000_000);
    const slow = await t.throwsAsync(session.exec('sleep 2', { timeout: 200 }), { instanceOf: HarnessError });
    t.regex(slow?.message ?? '', /timed out after 200 ms/);
    await session.start('sleep 2'); // must return at once
  } finally {
    await session.close();
    await guest.close();
  }
});

test('readPstore lists, stats and reads every file (empty folder too)', async (t) => {
  const keys = generateRunKeys();
  const guest = await fakeGuest(keys.publicKey);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rh-pstore-'));
  const session = await SshSession.connect({ port: guest.port, privateKey: keys.privateKey, hostKey: new HostKeyPin(guest.hostKeyBase64) });
  try {
    t.deepEqual(await session.readPstore(dir), []);
    const bin = Buffer.from([0, 0xff, 0x1f, 0x8b, 10, 13]);
    await writeFile(path.join(dir, 'dmesg-ramoops-0'), bin);
    await writeFile(path.join(dir, 'console-ramoops-0'), 'hello\n');
    await utimes(path.join(dir, 'dmesg-ramoops-0'), 1714979289.123456, 1714979289.123456);
    const files = await session.readPstore(dir);
    t.deepEqual(
      files.map((f) => f.name),
      ['console-ramoops-0', 'dmesg-ramoops-0'],
    );
    const d = files[1];
    t.true(d?.bytes.equals(bin));
    t.is(d?.size, bin.length);
    t.is(d?.mtime.seconds, 1714979289);
    // utimes takes a double: the microseconds survive, the rest is float noise.
    t.is(Math.round((d?.mtime.nsec ?? 0) / 1000), 123456);
    await t.throwsAsync(session.readPstore(path.join(dir, 'missing')), { instanceOf: HarnessError, message: /listing/ });
  } finally {
    await session.close();
    await guest.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a wrong host key or a refused client key fails at once, not at the deadline', async (t) => {
  const keys = generateRunKeys();
  const guest = await fakeGuest(keys.publicKey);
  try {
    const started = Date.now();
    const e1 = await t.throwsAsync(
      SshSession.connect({ port: guest.port, privateKey: keys.privateKey, hostKey: new HostKeyPin('AAAAnotit'), timeout: 20_000 }),
      { instanceOf: HarnessError },
    );
    t.regex(e1?.message ?? '', /not the pinned AAAAnotit/);
    const other = generateRunKeys();
    const e2 = await t.throwsAsync(SshSession.connect({ port: guest.port, privateKey: other.privateKey, hostKey: new HostKeyPin(), timeout: 20_000 }), {
      instanceOf: HarnessError,
    });
    t.regex(e2?.message ?? '', /refused the run's SSH key/);
    t.true(Date.now() - started < 10_000);
  } finally {
    await guest.close();
  }
});

test('connect gives up at its deadline with the attempt count', async (t) => {
  const keys = generateRunKeys();
  const e = await t.throwsAsync(SshSession.connect({ port: 1, privateKey: keys.privateKey, hostKey: new HostKeyPin(), timeout: 600, retryMs: 100 }), {
    instanceOf: HarnessError,
  });
  t.is(e?.stage, 'ssh');
  t.regex(e?.message ?? '', /no SSH login to 127\.0\.0\.1:1 within 600 ms \(\d+ attempts/);
});

test('againIfDropped: a read whose channel dropbear closed without an exit status runs again, three times at most; other errors and a closed session end it', async (t) => {
  const dropped = (): HarnessError => new HarnessError('ssh', 'SSH channel closed without an exit status: cat -- /sys/fs/pstore/dmesg-ramoops-1');
  let calls = 0;
  t.is(
    await againIfDropped(() => {
      calls++;
      return calls < 3 ? Promise.reject(dropped()) : Promise.resolve('bytes');
    }),
    'bytes',
  );
  t.is(calls, 3);
  calls = 0;
  await t.throwsAsync(
    againIfDropped(() => {
      calls++;
      return Promise.reject(dropped());
    }),
    { message: /without an exit status/ },
  );
  t.is(calls, 3, 'a fourth try is not made');
  calls = 0;
  await t.throwsAsync(
    againIfDropped(() => {
      calls++;
      return Promise.reject(new HarnessError('ssh', 'reading /sys/fs/pstore/x failed (exit 1): No such file'));
    }),
    { message: /exit 1/ },
  );
  t.is(calls, 1, 'a command that failed is not repeated');
  calls = 0;
  await t.throwsAsync(
    againIfDropped(
      () => {
        calls++;
        return Promise.reject(dropped());
      },
      () => true,
    ),
  );
  t.is(calls, 1, 'not on a closed session');
});
