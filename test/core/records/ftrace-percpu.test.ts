// Per-CPU ftrace zones on real captures: the zone count (the writer's possible CPUs) inferred
// from the zone signatures when not given, and a wrong explicit count contested with the zones
// seen. The module-parameter path always sets RAMOOPS_FLAG_FTRACE_PER_CPU (fs/pstore/ram.c
// ramoops_register_dummy), so even one-CPU captures have "per-CPU" zones: one.
import test from 'ava';
import { extractRegion } from '../../../src/index.js';
import { fixtureConfig, fixtureSymbols, loadFixture, loadFixtures } from '../../helpers/fixtures.js';

const withFtrace = loadFixtures().filter((fx) => fx.expected.some((e) => e.name.startsWith('ftrace-')));

test('there are ftrace captures with one and with several CPUs', (t) => {
  t.true(withFtrace.some((fx) => fx.cpus === 1));
  t.true(
    withFtrace.some((fx) => fx.cpus > 1),
    withFtrace.map((fx) => `${fx.name}: ${fx.cpus}`).join(', '),
  );
});

for (const fx of withFtrace) {
  test(`${fx.name}: ${fx.cpus} ftrace zone(s) inferred from the signatures, said in the decisions; the right count given gives the same files`, (t) => {
    const config = fixtureConfig(fx);
    const inferred = extractRegion(fx.region, config, fixtureSymbols(fx));
    const zones = inferred.zones.filter((z) => z.kind === 'ftrace');
    t.is(zones.length, fx.cpus);
    t.true(
      inferred.decisions.some((d) => d.startsWith(`ftrace: ${fx.cpus} per-CPU zone${fx.cpus > 1 ? 's' : ''} of `)),
      inferred.decisions.join('\n'),
    );
    const given = extractRegion(fx.region, { ...config, cpus: fx.cpus }, fixtureSymbols(fx));
    t.false(given.warnings.some((w) => w.code === 'cpus-mismatch'));
    t.deepEqual(
      given.files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')]),
      inferred.files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')]),
    );
  });

  if (fx.cpus > 1) {
    test(`${fx.name}: the guest's merged file holds records of each of its ${fx.cpus} CPUs, and so does ours`, (t) => {
      const guest = new TextDecoder().decode(fx.expected.find((e) => e.name.startsWith('ftrace-'))?.bytes ?? new Uint8Array());
      const ours = new TextDecoder().decode(
        extractRegion(fx.region, fixtureConfig(fx), fixtureSymbols(fx)).files.find((f) => f.type === 'ftrace')?.bytes ?? new Uint8Array(),
      );
      t.is(ours, guest);
      for (let c = 0; c < fx.cpus; c++) t.true(guest.includes(`\nCPU:${c} ts:`) || guest.startsWith(`CPU:${c} ts:`), `CPU ${c}`);
    });
  }

  for (const wrong of [fx.cpus + 1, fx.cpus > 1 ? 1 : 4]) {
    test(`${fx.name}: cpus ${wrong} (the guest had ${fx.cpus}) is contested with the zones seen`, (t) => {
      const x = extractRegion(fx.region, { ...fixtureConfig(fx), cpus: wrong }, fixtureSymbols(fx));
      const w = x.warnings.find((ww) => ww.code === 'cpus-mismatch');
      t.truthy(w, x.warnings.map((ww) => ww.message).join('\n'));
      t.regex(w?.message ?? '', new RegExp(`^cpus ${wrong} does not match the dump: .*the ftrace signatures seen fit ${fx.cpus} CPUs?: zones at 0x[0-9a-f]+`));
    });
  }
}

test('c61-full-deflate: cpus 2 on a one-CPU capture names the unsigned zone and the fitting one', (t) => {
  const fx = loadFixture('c61-full-deflate');
  const x = extractRegion(fx.region, { ...fixtureConfig(fx), cpus: 2 });
  t.is(
    x.warnings.find((w) => w.code === 'cpus-mismatch')?.message,
    'cpus 2 does not match the dump: of the 2 ftrace zones it implies, 1 carries no ftrace signature (at 0x80f8000); the ftrace signatures seen fit 1 CPU: zones at 0x80f4000 (32768 bytes each). Extracted with cpus 2 as given; leave it out to infer it',
  );
});
