import test from 'ava';
import { chainKey } from '../../../harness/cycle/chain.js';
import { defaultRamoopsCmdline } from '../../../harness/cycle/options.js';
import { loadScenario } from '../../../harness/cycle/scenario.js';

const base = { ramoopsCmdline: defaultRamoopsCmdline(), outDir: '/tmp/unused' };

test('runs that boot alike share a key whatever their scenario and folder', (t) => {
  const a = chainKey({ ...base, scenario: loadScenario('panic-sysrq') });
  const b = chainKey({ ...base, outDir: '/tmp/other', scenario: loadScenario('pmsg') });
  t.not(a, undefined);
  t.is(a, b);
});

test('anything that changes the boot changes the key', (t) => {
  const s = loadScenario('panic-sysrq');
  const a = chainKey({ ...base, scenario: s });
  t.not(chainKey({ ...base, scenario: s, ramoopsCmdline: `${base.ramoopsCmdline} ramoops.ecc=16` }), a);
  t.not(chainKey({ ...base, scenario: s, kernel: 'debian-6.12' }), a);
  t.not(chainKey({ ...base, scenario: s, extraCmdline: ['quiet'] }), a);
  t.not(chainKey({ ...base, scenario: s, cpus: 2 }), a);
  t.not(chainKey({ ...base, scenario: s, memoryBytes: 1 << 30 }), a);
});

test("a scenario's own command line words count as part of the boot", (t) => {
  const s = loadScenario('panic-sysrq');
  const withWords = { ...s, cmdline: ['ramoops.record_size=0x1000'] };
  t.not(chainKey({ ...base, scenario: withWords }), chainKey({ ...base, scenario: s }));
  t.is(chainKey({ ...base, scenario: withWords }), chainKey({ ...base, scenario: s, ramoopsCmdline: base.ramoopsCmdline.replace('0x4000', '0x1000') }));
});

test('runs that carry state across boots or change the guest after the read are never chained', (t) => {
  t.is(chainKey({ ...base }), undefined, 'no scenario: a plain run');
  t.is(chainKey({ ...base, scenario: loadScenario('selftests') }), undefined, 'kernel selftests keep state on a share');
  t.is(chainKey({ ...base, scenario: loadScenario('panic-sysrq'), corrupt: { dataOffsets: [1] } }), undefined);
  t.is(chainKey({ ...base, scenario: loadScenario('panic-sysrq'), share: '/tmp/x' }), undefined);
  const after = { ...loadScenario('panic-sysrq'), after: ['true'] };
  t.is(chainKey({ ...base, scenario: after }), undefined);
});
