// KASLR and ftrace names, on real captures: the panic's "Kernel Offset:" line found in the
// dump, System.map shifted by an offset, kallsyms copies, and the choice among them.
import test from 'ava';
import {
  ConfigError,
  configFromCmdline,
  extractRegion,
  findKernelOffset,
  lookup,
  parseKallsyms,
  parseKaslrOffset,
  parseSystemMap,
  symbolAddress,
} from '../../../src/index.js';
import { fixtureConfig, fixtureSymbols, loadFixture } from '../../helpers/fixtures.js';

const dec = (b: Uint8Array): string => new TextDecoder('latin1').decode(b);

test('findKernelOffset reads the x86 panic line of a real Debian 6.1 record (KASLR on)', (t) => {
  const fx = loadFixture('deb61-noecc');
  const dmesg = fx.expected.find((e) => e.name === 'dmesg-ramoops-0');
  if (!dmesg) return t.fail('no dmesg-ramoops-0');
  const found = findKernelOffset(dec(dmesg.bytes));
  t.is(found?.offset, 0x12400000n);
  t.is(found?.base, 0xffffffff81000000n);
  t.regex(found?.text ?? '', /^Kernel Offset: 0x12400000 from 0xffffffff81000000 \(relocation range: /);
});

test('findKernelOffset: "Kernel Offset: disabled" (custom 6.1 without RANDOMIZE_BASE), the arm64 form, none', (t) => {
  const fx = loadFixture('c61-full-deflate');
  const dmesg = fx.expected.find((e) => e.name === 'dmesg-ramoops-1');
  if (!dmesg) return t.fail('no dmesg-ramoops-1');
  t.deepEqual(findKernelOffset(dec(dmesg.bytes)), { offset: 'disabled', base: undefined, text: 'Kernel Offset: disabled' });
  // arch/arm64/kernel/setup.c prints no relocation range.
  t.is(findKernelOffset('<0>[ 2.1] Kernel Offset: 0x3a0000000 from 0xffff800008000000\n<0>[ 2.1] PHYS_OFFSET: 0x40000000\n')?.offset, 0x3a0000000n);
  // Two panics in one log: the last one is the one whose kmsg_dump this is.
  t.is(findKernelOffset('Kernel Offset: 0x1000000 from 0xffffffff81000000\nKernel Offset: 0x2000000 from 0xffffffff81000000\n')?.offset, 0x2000000n);
  t.is(findKernelOffset('no such line'), undefined);
});

test('parseKaslrOffset takes hex with or without 0x and refuses the rest', (t) => {
  t.is(parseKaslrOffset('0x1e400000'), 0x1e400000n);
  t.is(parseKaslrOffset('1e400000'), 0x1e400000n);
  t.is(parseKaslrOffset('0'), 0n);
  t.is(parseKaslrOffset('-0x10'), undefined);
  t.is(parseKaslrOffset('0x'), undefined);
  t.is(parseKaslrOffset('12345678901234567'), undefined);
});

test("extract reports the crashed boot's offset from the dump (Debian 6.1, KASLR on)", (t) => {
  const fx = loadFixture('deb61-noecc');
  const x = extractRegion(fx.region, configFromCmdline(fx.cmdline, fx.release));
  t.is(x.kernelOffset?.value, 0x12400000n);
  t.is(x.kernelOffset?.file, 'dmesg-ramoops-0');
  // No ftrace file: nothing was named, so no shift was chosen.
  t.is(x.symbolShift, undefined);
});

/** The c61 capture's System.map as it would look if the kernel had been linked `delta` lower. */
function lowerMap(text: string, delta: bigint): string {
  return text.replace(/^([0-9a-f]{16})(\s)/gm, (_m, a: string, sp: string) => (BigInt('0x' + a) - delta).toString(16).padStart(16, '0') + sp);
}

test('real ftrace records: a System.map shifted by the right KASLR offset names them byte for byte like the guest', (t) => {
  const fx = loadFixture('c61-full-deflate');
  const config = configFromCmdline(fx.cmdline, fx.release);
  const expected = fx.expected.find((e) => e.name === 'ftrace-ramoops-0');
  if (!fx.systemMap || !expected) return t.fail('c61-full-deflate lacks System.map or ftrace');
  // The records' addresses are the c61 kernel's (no KASLR). A map linked 0x1e400000 lower plus
  // an offset of 0x1e400000 gives the same addresses: the guest's exact text.
  const delta = 0x1e400000n;
  const map = parseSystemMap(lowerMap(fx.systemMap, delta));
  const shifted = extractRegion(fx.region, config, { symbols: map, kaslrOffset: { value: delta, source: 'test' } });
  const f = shifted.files.find((ff) => ff.name === 'ftrace-ramoops-0');
  t.true(f !== undefined && Buffer.from(f.bytes).equals(Buffer.from(expected.bytes)));
  t.deepEqual(shifted.symbolShift, { value: delta, source: 'test' });
  t.true(
    shifted.decisions.some((d) => d === 'ftrace names: System.map shifted by KASLR offset 0x1e400000 (test)'),
    shifted.decisions.join('\n'),
  );
  t.false(shifted.warnings.some((w) => w.code === 'ftrace-unnamed'));

  // Without an explicit offset the dump's own line ("disabled") applies: the lowered map then
  // names nothing, and the extraction says so.
  const unshifted = extractRegion(fx.region, config, { symbols: map });
  t.is(unshifted.symbolShift?.value, 0n);
  t.true(
    unshifted.decisions.some((d) => d.includes('"Kernel Offset: disabled" in dmesg-ramoops-1')),
    unshifted.decisions.join('\n'),
  );
  t.true(unshifted.warnings.some((w) => w.code === 'ftrace-unnamed'));
  const g = unshifted.files.find((ff) => ff.name === 'ftrace-ramoops-0');
  t.false(g !== undefined && Buffer.from(g.bytes).equals(Buffer.from(expected.bytes)));
});

test('real ftrace records: a kallsyms copy is used as it is (no offset), module symbols get " [module]"', (t) => {
  const fx = loadFixture('c61-full-deflate');
  const config = configFromCmdline(fx.cmdline, fx.release);
  const expected = fx.expected.find((e) => e.name === 'ftrace-ramoops-0');
  if (!fx.systemMap || !expected) return t.fail('c61-full-deflate lacks System.map or ftrace');
  // /proc/kallsyms has System.map's columns; this kernel ran unrandomized, so its addresses are the map's.
  const kallsyms = parseKallsyms(fx.systemMap);
  t.is(kallsyms.origin, 'kallsyms');
  const x = extractRegion(fx.region, config, { symbols: kallsyms });
  const f = x.files.find((ff) => ff.name === 'ftrace-ramoops-0');
  t.true(f !== undefined && Buffer.from(f.bytes).equals(Buffer.from(expected.bytes)));
  t.is(x.symbolShift?.value, 0n);
  t.true(x.decisions.some((d) => d.startsWith('ftrace names: from the given kallsyms')));

  const mod = parseKallsyms(
    'ffffffffc0000000 t ramoops_probe\t[ramoops]\nffffffffc0000100 t ramoops_remove\t[ramoops]\nffffffffc0000200 t ramoops_end\t[ramoops]\n',
  );
  t.deepEqual(lookup(mod, 0xffffffffc0000010n), { name: 'ramoops_probe', offset: 0x10n, size: 0x100n, module: 'ramoops' });
});

test('parseKallsyms refuses a copy read under kptr_restrict (every address 0), naming the fix', (t) => {
  const e = t.throws(() => parseKallsyms('0000000000000000 T _text\n0000000000000000 T _stext\n0000000000000000 t foo\n'), { instanceOf: ConfigError });
  t.regex(e?.message ?? '', /kptr_restrict/);
  t.throws(() => parseKallsyms('not kallsyms\n'), { instanceOf: ConfigError });
});

test('symbolAddress and lookup with a shift: the running address minus the offset', (t) => {
  const map = parseSystemMap('ffffffff81000000 T _text\nffffffff81000000 T startup_64\nffffffff81000100 T foo\nffffffff81000200 T bar\n');
  t.is(symbolAddress(map, '_text'), 0xffffffff81000000n);
  t.is(symbolAddress(map, 'nope'), undefined);
  t.is(lookup(map, 0xffffffff9e400110n, 0x1d400000n)?.name, 'foo');
  t.is(lookup(map, 0xffffffff81000110n, 0x1d400000n), undefined);
});

// c61-kaslr-smp2-ftrace: a KASLR kernel (6.1.192, base,pstore-full,lkdtm,smp,kaslr,selftests),
// 2 CPUs, ftrace recording on before sysrq 'c'. The crashed boot ran at offset 0x1e000000 (its
// panic record says so), the reading boot at 0x35600000 (its /proc/kallsyms, reading-kallsyms.txt).
const KASLR = 'c61-kaslr-smp2-ftrace';

test(`${KASLR}: the crashed boot's offset from the dump, the reading boot's from kallsyms, and they differ`, (t) => {
  const fx = loadFixture(KASLR);
  const x = extractRegion(fx.region, fixtureConfig(fx));
  t.is(x.kernelOffset?.value, 0x1e000000n);
  t.is(x.kernelOffset?.file, 'dmesg-ramoops-0');
  t.is(fx.readingOffset, 0x35600000n);
});

test(`${KASLR}: with the crashed boot's offset (the default) every record is named, down to the crash itself`, (t) => {
  const fx = loadFixture(KASLR);
  const { symbols } = fixtureSymbols(fx);
  if (!symbols) return t.fail('no System.map');
  const x = extractRegion(fx.region, fixtureConfig(fx), { symbols });
  t.is(x.symbolShift?.value, 0x1e000000n);
  t.true(
    x.decisions.some((d) =>
      d.startsWith('ftrace names: System.map shifted by the crashed boot\'s KASLR offset 0x1e000000 ("Kernel Offset: 0x1e000000 from 0xffffffff81000000'),
    ),
  );
  const text = dec(x.files.find((f) => f.name === 'ftrace-ramoops-0')?.bytes ?? new Uint8Array());
  const lines = text.split('\n').filter((l) => l !== '');
  t.is(lines.length, 680);
  t.is(lines.filter((l) => / 0x[0-9a-f]+ <- | <- 0x[0-9a-f]+$/.test(l)).length, 0);
  t.true(lines.some((l) => /^CPU:1 ts:\d+ [0-9a-f]{16} {2}[0-9a-f]{16} {2}sysrq_handle_crash <- __handle_sysrq\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(l)));
  // Those are not the guest's bytes: the guest's file was printed by the next boot.
  const guest = fx.expected.find((e) => e.name === 'ftrace-ramoops-0');
  t.notDeepEqual(Buffer.from(text), Buffer.from(guest?.bytes ?? new Uint8Array()));
});

test(`${KASLR}: with the reading boot's offset the parse is the guest's file byte for byte (which names nothing)`, (t) => {
  const fx = loadFixture(KASLR);
  const opts = fixtureSymbols(fx);
  const x = extractRegion(fx.region, fixtureConfig(fx), opts);
  const f = x.files.find((ff) => ff.name === 'ftrace-ramoops-0');
  const guest = fx.expected.find((e) => e.name === 'ftrace-ramoops-0');
  if (!f || !guest) return t.fail('no ftrace file');
  t.true(Buffer.from(f.bytes).equals(Buffer.from(guest.bytes)));
  t.is(f.size, guest.size);
  // The reading boot's kallsyms knows none of the crashed boot's addresses: all unnamed.
  t.regex(dec(guest.bytes).split('\n')[0] ?? '', /^CPU:0 ts:\d+ ([0-9a-f]{16}) {2}([0-9a-f]{16}) {2}0x\1 <- 0x\2$/);
  const w = x.warnings.find((ww) => ww.code === 'ftrace-unnamed');
  t.regex(w?.message ?? '', /KASLR offset 0x35600000 .*"Kernel Offset: 0x1e000000 from 0xffffffff81000000.*is the crashed boot's offset/);
});
