// hostForwardPort on `info usernet` as QEMU 7.2 prints it (captured from qemu-system-x86_64
// 7.2.22 with -netdev user,id=n0,hostfwd=tcp:127.0.0.1:0-:22 and QMP human-monitor-command).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/errors.js';
import { repoRoot } from '../../helpers/paths.js';
import { hostForwardPort, requireHostForwardPort } from '../../../harness/qemu/usernet.js';

const captured = readFileSync(join(repoRoot(), 'test/fixtures/qemu/info-usernet-7.2.txt'), 'utf8');

test('the port QEMU bound for a forward to guest port 22 is read from its HOST_FORWARD line', (t) => {
  t.true(captured.includes('\r\n'), "the capture keeps QEMU's CRLF line ends");
  t.is(hostForwardPort(captured, 22), 39535);
  t.is(requireHostForwardPort(captured, 22), 39535);
});

test('a forward to another guest port, or none at all, is not taken for the SSH one', (t) => {
  t.is(hostForwardPort(captured, 2222), undefined);
  const header = captured.split('\r\n').slice(0, 2).join('\r\n') + '\r\n';
  t.is(hostForwardPort(header, 22), undefined);
  const e = t.throws(() => requireHostForwardPort(header, 22), { instanceOf: HarnessError });
  t.is(e?.stage, 'qemu');
  t.regex(e?.message ?? '', /no host forward to guest port 22/);
});

test('with several forwards, the one to the asked guest port wins', (t) => {
  const two = captured.replace(
    /(\s+TCP\[HOST_FORWARD\][^\r]*)\r\n/,
    (line, body: string) => `${body.replace('39535', '40001').replace(/ 22 /, ' 80 ')}\r\n${line}`,
  );
  t.is(hostForwardPort(two, 80), 40001);
  t.is(hostForwardPort(two, 22), 39535);
});
