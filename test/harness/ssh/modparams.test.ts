// The SSH reader of a running machine's ramoops configuration: report parsing on its own, then
// the real ssh2 client against an in-process ssh2 server that answers like a guest would
// (module parameters; for a DT-configured machine also /sys/firmware/fdt).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import type net from 'node:net';
import os from 'node:os';
import ssh2 from 'ssh2';
import { ed25519Pair } from '../../../harness/ssh/keys.js';
import { HarnessError } from '../../../harness/errors.js';
import { cpuCount, fingerprint, parseReport, readRemoteRamoops, REPORT_SCRIPT, settingsFromParams } from '../../../harness/ssh/modparams.js';
import { parseDts } from '../../../src/dt/dts.js';
import { writeFdt } from '../../../src/dt/fdt.js';
import { VIRT_RAMOOPS } from '../../core/dt/samples.js';

const REPORT = `== params
console_size=4096
dump_oops=-1
ecc=16
ftrace_size=4096
max_reason=2
mem_address=134217728
mem_name=(null)
mem_size=1048576
mem_type=0
pmsg_size=4096
record_size=16384
== cmdline
console=ttyS0 panic=-1 quiet loglevel=4 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000 ramoops.ecc=16
== release
6.12.117+deb12-amd64
== possible
0-1
== dt
`;

test('report: parameters, command line, release, possible CPUs', (t) => {
  const r = parseReport(REPORT);
  t.is(r.release, '6.12.117+deb12-amd64');
  t.is(r.possibleCpus, 2);
  t.regex(r.cmdline, /^console=ttyS0 .* ramoops.ecc=16$/);
  t.deepEqual(r.dtNodes, []);
  t.like(settingsFromParams(r), {
    memAddress: 0x8000000,
    memSize: 0x100000,
    recordSize: 0x4000,
    ecc: 16,
    maxReason: 2,
    dumpOops: undefined,
    cpus: 2,
    kernelVersion: '6.12.117+deb12-amd64',
  });
});

test('the report script runs in a plain POSIX sh and parses (here: no ramoops module)', (t) => {
  const out = spawnSync('/bin/sh', ['-c', REPORT_SCRIPT], { encoding: 'utf8' });
  t.is(out.status, 0, out.stderr);
  const r = parseReport(out.stdout);
  t.is(r.release, os.release());
  t.true(r.cmdline.length > 0);
  t.true((r.possibleCpus ?? 0) >= 1);
});

test('cpu lists as the kernel prints them', (t) => {
  t.is(cpuCount('0'), 1);
  t.is(cpuCount('0-3'), 4);
  t.is(cpuCount('0-3,8-9,12'), 7);
  t.is(cpuCount(''), undefined);
});

interface Server {
  readonly port: number;
  readonly fp: string;
  readonly commands: string[];
  close(): Promise<void>;
}

/** An SSH server on 127.0.0.1 accepting `user`'s key and answering with `answer(command)`. */
async function fakeMachine(userPublic: string, answer: (command: string) => Buffer): Promise<Server> {
  const hostKey = ed25519Pair('fake-machine');
  const allowed = ssh2.utils.parseKey(userPublic);
  if (allowed instanceof Error) throw allowed;
  const commands: string[] = [];
  const server = new ssh2.Server({ hostKeys: [hostKey.privateKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.data.equals(allowed.getPublicSSH())) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        commands.push(info.command);
        const stream = acceptExec();
        stream.write(answer(info.command));
        stream.exit(0);
        stream.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pub = ssh2.utils.parseKey(hostKey.publicKey);
  if (pub instanceof Error) throw pub;
  return {
    port: (server.address() as net.AddressInfo).port,
    fp: fingerprint(pub.getPublicSSH()),
    commands,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const user = ed25519Pair('user');

test('over SSH: module parameters of an x86 guest, host key reported and pinned', async (t) => {
  const m = await fakeMachine(user.publicKey, () => Buffer.from(REPORT));
  try {
    const seen: string[] = [];
    const r = await readRemoteRamoops({ host: '127.0.0.1', port: m.port, username: 'root', privateKey: user.privateKey, onHostKey: (fp) => seen.push(fp) });
    t.deepEqual(seen, [m.fp]);
    t.is(r.params['record_size'], '16384');
    t.is(r.fdt, undefined);
    t.is(m.commands.length, 1, 'one command without a DT node');
    const pinned = await readRemoteRamoops({ host: '127.0.0.1', port: m.port, username: 'root', privateKey: user.privateKey, hostKey: m.fp });
    t.is(pinned.release, '6.12.117+deb12-amd64');
    await t.throwsAsync(readRemoteRamoops({ host: '127.0.0.1', port: m.port, username: 'root', privateKey: user.privateKey, hostKey: 'SHA256:not-this-one' }), {
      instanceOf: HarnessError,
      message: /host key SHA256:.* is not the expected SHA256:not-this-one/,
    });
  } finally {
    await m.close();
  }
});

test('over SSH: a DT-configured machine also gives its booted DTB, byte for byte', async (t) => {
  const dtb = writeFdt(parseDts(VIRT_RAMOOPS));
  const m = await fakeMachine(user.publicKey, (cmd) =>
    cmd.includes('/sys/firmware/fdt') ? Buffer.from(dtb) : Buffer.from(REPORT.replace('== dt\n', '== dt\n/reserved-memory/ramoops@50000000\n')),
  );
  try {
    const r = await readRemoteRamoops({ host: '127.0.0.1', port: m.port, username: 'root', privateKey: user.privateKey });
    t.deepEqual(r.dtNodes, ['/reserved-memory/ramoops@50000000']);
    t.true(r.fdt !== undefined && Buffer.from(r.fdt).equals(Buffer.from(dtb)));
  } finally {
    await m.close();
  }
});
