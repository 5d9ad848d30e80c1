// The layouts validate computes against real kernels: in every capture, every zone the
// validator places must start with the signature the kernel wrote there at probe ("DBGC" for
// dmesg, console and pmsg; DBGC XOR the version code for ftrace). A zone off by even one byte
// (e.g. 16449 instead of 16448) fails this for every zone after it.
import test from 'ava';
import { PERSISTENT_RAM_SIG } from '../../../src/zone/geometry.js';
import { parseKernelVersion, versionCode } from '../../../src/kernel/version.js';
import { loadFixtures } from '../../helpers/fixtures.js';
import { fromCmdline, fromDtb } from './helpers.js';

const fixtures = loadFixtures();

test('there are captures to check against', (t) => {
  t.true(fixtures.length >= 7, `found ${fixtures.length}`);
});

for (const fx of fixtures) {
  test(`${fx.name}: every zone validate computes starts with the kernel's signature`, (t) => {
    // line 1 of guest-info.txt is `uname -r`, line 2 the command line; fx.cpus the possible CPUs
    // (per-CPU ftrace zones); DT captures (arm64) are validated from the node of their guest.dtb.
    const r =
      fx.configSource === 'dt' && fx.dtb !== undefined
        ? fromDtb(fx.dtb, { kernel: fx.release, cpus: fx.cpus, arch: 'arm64' })
        : fromCmdline(fx.cmdline, { kernel: fx.release, cpus: fx.cpus });
    t.deepEqual(
      r.problems.filter((p) => p.severity === 'error'),
      [],
      'no errors for a configuration that worked',
    );
    t.falsy(
      r.problems.find((p) => p.code === 'region-not-reserved'),
      'the captures reserved the region (memmap= or a /reserved-memory node)',
    );
    const layout = r.layout;
    if (!layout) {
      t.fail('no layout');
      return;
    }
    t.is(layout.zones[0]?.address, Number(fx.memAddress));
    const dv = new DataView(fx.region.buffer, fx.region.byteOffset, fx.region.byteLength);
    const v = parseKernelVersion(fx.release);
    let checked = 0;
    for (const z of layout.zones) {
      t.true(z.offset + z.geometry.size <= fx.region.length, `${z.kind} ${z.index} inside the capture`);
      const sig = dv.getUint32(z.offset, true);
      if (z.kind === 'ftrace') {
        const code = (sig ^ PERSISTENT_RAM_SIG) >>> 0;
        const want = versionCode(v);
        // Debian release strings hide the sublevel: then major and minor must match.
        if (want !== undefined) t.is(code, want, `ftrace ${z.index} at ${z.offset}`);
        else t.is(code >>> 8, (v.major << 8) | v.minor, `ftrace ${z.index} at ${z.offset}`);
      } else {
        t.deepEqual([...fx.region.subarray(z.offset, z.offset + 4)], [0x44, 0x42, 0x47, 0x43], `${z.kind} ${z.index} at offset ${z.offset}: "DBGC"`);
      }
      checked++;
    }
    t.is(checked, layout.zones.length);
    t.log(`${checked} zones, dmesg zone size ${layout.zones[0]?.geometry.size}`);
  });
}

test('the Debian 6.1 captures need even zone sizes: the unrounded layout misses their zones', (t) => {
  const deb = fixtures.find((f) => f.name === 'deb61-noecc');
  if (!deb) {
    t.pass();
    return;
  }
  const r = fromCmdline(deb.cmdline, { kernel: '6.1.0-56-amd64', cpus: 1 });
  t.is(r.layout?.zones[1]?.offset, 16448);
  // With 16449-byte zones, zone 1 would start one byte later, where there is no signature.
  t.notDeepEqual([...deb.region.subarray(16449, 16453)], [0x44, 0x42, 0x47, 0x43]);
});
