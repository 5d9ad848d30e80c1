// Configuration sources: kernel versions as uname prints them, command lines, JSON, numbers.
import test from 'ava';
import { buildConfig, ConfigError, parseKernelVersion, parseSize, settingsFromCmdline, settingsFromJson, configFromCmdline } from '../../../src/index.js';

test('kernel releases, Debian strings hide the sublevel', (t) => {
  t.like(parseKernelVersion('6.1.192'), { major: 6, minor: 1, sublevel: 192 });
  t.like(parseKernelVersion('6.1.0-56-amd64'), { major: 6, minor: 1, sublevel: undefined });
  t.like(parseKernelVersion('4.19.0-6-armmp'), { major: 4, minor: 19, sublevel: undefined });
  t.like(parseKernelVersion('6.12.117+deb12-amd64'), { major: 6, minor: 12, sublevel: 117 });
  t.throws(() => parseKernelVersion('banana'), { instanceOf: ConfigError });
});

test('sizes: decimal, hex, K/M/G', (t) => {
  t.is(parseSize('x', '0x100000'), 0x100000);
  t.is(parseSize('x', '1M'), 1 << 20);
  t.is(parseSize('x', '16k'), 16384);
  t.is(parseSize('x', '4096'), 4096);
  t.throws(() => parseSize('--mem-size', '12Q'), { message: /--mem-size: "12Q" is not a number/ });
});

test('command line: ramoops words, kernel defaults for the rest, ecc=1 means 16', (t) => {
  const c = configFromCmdline(
    'console=ttyS0 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.ecc=1 pstore.compress=zstd',
  );
  t.like(c, {
    memAddress: 0x8000000,
    memSize: 0x100000,
    recordSize: 4096,
    consoleSize: 4096,
    ftraceSize: 4096,
    pmsgSize: 4096,
    eccSize: 16,
    compress: 'zstd',
    ftracePerCpu: true,
    maxReason: 2,
  });
});

test('command line: the kernel rejects suffixes in module parameters, and we say so', (t) => {
  const p = settingsFromCmdline('ramoops.mem_size=1M ramoops.record-size=0x4000');
  t.is(p.settings.memSize, undefined);
  t.is(p.settings.recordSize, 0x4000);
  t.regex(p.warnings[0]?.message ?? '', /ramoops.mem_size=1M: the kernel rejects this value/);
  t.deepEqual(settingsFromCmdline('memmap=1M$0x8000000').memmap, [{ size: '1M', kind: '$', address: '0x8000000' }]);
});

test('max_reason: dump_oops maps, max_reason wins', (t) => {
  t.is(buildConfig({ memAddress: 0, memSize: 1 << 20, dumpOops: 0 }).config.maxReason, 1);
  t.is(buildConfig({ memAddress: 0, memSize: 1 << 20, dumpOops: 0, maxReason: 4 }).config.maxReason, 4);
});

test('JSON: kernel names or ours, strings with suffixes, unknown keys refused', (t) => {
  t.like(settingsFromJson('{"mem_address":"0x8000000","memSize":"1M","ecc":16,"kernelVersion":"6.1.0-56-amd64"}'), {
    memAddress: 0x8000000,
    memSize: 1 << 20,
    ecc: 16,
    kernelVersion: '6.1.0-56-amd64',
  });
  t.throws(() => settingsFromJson('{"mem_adress":1}'), { message: /mem_adress: unknown setting/ });
  t.throws(() => settingsFromJson('[1]'), { instanceOf: ConfigError });
});

test('missing size or absurd ECC is a ConfigError naming the field', (t) => {
  t.throws(() => buildConfig({ memAddress: 0 }), { message: /^mem_size:/ });
  t.throws(() => buildConfig({ memAddress: 0, memSize: 4096, ecc: 200 }), { message: /^ecc:/ });
});
