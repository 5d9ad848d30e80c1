// The CPU ABI as a user gives it: word size in bits, byte order, the PSTORE_CPU_IN_IP mask;
// anything else is a ConfigError naming the field.
import test from 'ava';
import { ARM32_ABI, cpuAbi, DEFAULT_ABI, describeAbi } from '../../../src/config/abi.js';
import { ConfigError } from '../../../src/errors.js';
import { buildConfig } from '../../../src/config/build.js';
import { settingsFromJson } from '../../../src/config/from-json.js';

test('parts to ABI, and the defaults', (t) => {
  t.deepEqual(cpuAbi(64, 'le'), DEFAULT_ABI);
  t.deepEqual(cpuAbi(32, 'le'), ARM32_ABI);
  t.deepEqual(cpuAbi(32, 'be', 1), { wordBytes: 4, littleEndian: false, cpuInIp: 1 });
  t.is(describeAbi(cpuAbi(32, 'le', 3)), '32-bit little-endian, CPU in ip (mask 3)');
  t.is(describeAbi(DEFAULT_ABI), '64-bit little-endian');
});

test('bad parts: a ConfigError naming the field', (t) => {
  t.is(t.throws(() => cpuAbi(16, 'le'), { instanceOf: ConfigError })?.field, 'word_bits');
  t.is(t.throws(() => cpuAbi(32, 'middle'), { instanceOf: ConfigError })?.field, 'byte_order');
  t.is(t.throws(() => cpuAbi(32, 'le', 2), { instanceOf: ConfigError })?.field, 'cpu_in_ip');
  t.is(t.throws(() => cpuAbi(64, 'le', 3), { instanceOf: ConfigError })?.field, 'cpu_in_ip');
});

test('buildConfig carries the ABI when given and leaves it out otherwise (64-bit little-endian)', (t) => {
  const base = { memAddress: 0x8000000, memSize: 0x100000 };
  t.false('abi' in buildConfig(base).config);
  t.deepEqual(buildConfig({ ...base, abi: ARM32_ABI }).config.abi, ARM32_ABI);
});

test('a JSON configuration names the ABI by word_bits, byte_order and cpu_in_ip (or camelCase); absent, none is set', (t) => {
  const base = '"mem_address": "0x50000000", "mem_size": "1M"';
  t.deepEqual(settingsFromJson(`{${base}, "word_bits": 32}`).abi, ARM32_ABI);
  t.deepEqual(settingsFromJson(`{${base}, "wordBits": 32, "byteOrder": "be", "cpuInIp": 3}`).abi, cpuAbi(32, 'be', 3));
  t.is(settingsFromJson(`{${base}}`).abi, undefined);
  t.is(t.throws(() => settingsFromJson(`{${base}, "byte_order": 1}`), { instanceOf: ConfigError })?.field, 'config JSON: byte_order');
  t.is(t.throws(() => settingsFromJson(`{${base}, "word_bits": 16}`), { instanceOf: ConfigError })?.field, 'word_bits');
});
