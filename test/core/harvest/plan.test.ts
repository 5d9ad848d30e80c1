// Where harvested records go: parts grouped into one crash, boot logs beside the newest new
// crash, nothing archived twice; and the manifest and reports built from it.
import test from 'ava';
import { createHash } from 'node:crypto';
import { deflateSync } from 'fflate';
import {
  analyze,
  archivedFileKey,
  buildManifest,
  crashMeta,
  harvestExitCode,
  harvestJunit,
  harvestErrorJunit,
  harvestText,
  parseCrashMeta,
  planArchive,
  zonesClearedBy,
  type HarvestContext,
  type HarvestedFile,
  type HarvestReport,
} from '../../../src/harvest/index.js';
import { loadFixture } from '../../helpers/fixtures.js';
import { matchesGolden } from '../../helpers/golden.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const enc = new TextEncoder();
const file = (name: string, text: string, seconds = 1_700_000_000): HarvestedFile => ({
  name,
  size: text.length,
  mtime: { seconds, nsec: 0 },
  bytes: enc.encode(text),
});
const c61 = loadFixture('c61-full-deflate').expected.map((e) => ({ name: e.name, size: e.size, mtime: { seconds: e.mtime, nsec: 0 }, bytes: e.bytes }));
/** parseCrashMeta's complaint; a parsed meta has none. */
const errorOf = (r: ReturnType<typeof parseCrashMeta>): string => (typeof r === 'string' ? r : '(parsed)');
const empty = { folders: new Set<string>(), files: new Set<string>() };
const ctx: HarvestContext = {
  harvestedAt: '2026-11-26T08:00:00.000Z',
  host: 'root@board:22',
  hostname: 'board',
  bootId: '0b7c1f4e-0000-4000-8000-000000000001',
  kernelRelease: '6.1.192',
  uname: 'Linux board 6.1.192 #2 x86_64',
  cmdline: 'console=ttyS0',
  ramoopsParameters: { record_size: '16384' },
  pstoreParameters: { backend: 'ramoops' },
  pstoreMountedByHarvest: false,
};

test('parts of one dump (same reason, counter, time) are one crash, ordered by part', (t) => {
  const a = analyze(
    [
      file('dmesg-efi-2', 'Panic#3 Part2\nolder lines\n'),
      file('dmesg-efi-1', 'Panic#3 Part1\n<0>[ 9.0] Kernel panic - not syncing: boom\n'),
      file('dmesg-efi-5', 'Oops#2 Part1\n<4>[ 8.0] Oops: 0000 [#1] SMP\n', 1_699_999_990),
    ],
    sha256,
  );
  t.is(a.crashes.length, 2);
  t.like(a.crashes[0], { reason: 'Oops', counter: 2 });
  t.like(a.crashes[1], { reason: 'Panic', counter: 3, headline: 'Kernel panic - not syncing: boom' });
  t.deepEqual(
    a.crashes[1]?.parts.map((p) => p.file),
    ['dmesg-efi-1', 'dmesg-efi-2'],
  );
  t.regex(a.crashes[1]?.name ?? '', /^20231114T221320Z-panic-[0-9a-f]{12}$/);
});

test('c61: two crashes of one boot; console, pmsg and ftrace go beside the newest', (t) => {
  const a = analyze(c61, sha256);
  const plan = planArchive(a, empty, sha256);
  t.deepEqual(
    plan.folders.map((f) => [f.name, f.kind, f.status, f.crash?.parts.map((p) => p.file), f.logs.map((l) => l.file)]),
    [
      ['20261126T073532Z-oops-1eb0bbbe21d8', 'crash', 'new', ['dmesg-ramoops-0'], []],
      ['20261126T073534Z-panic-c1549a6d6adf', 'crash', 'new', ['dmesg-ramoops-1'], ['console-ramoops-0', 'ftrace-ramoops-0', 'pmsg-ramoops-0']],
    ],
  );
});

test('harvesting the same records again plans nothing new', (t) => {
  const a = analyze(c61, sha256);
  const first = planArchive(a, empty, sha256);
  const state = {
    folders: new Set(first.folders.map((f) => f.name)),
    files: new Set(first.folders.flatMap((f) => [...(f.crash?.parts ?? []), ...f.logs]).map((r) => archivedFileKey(r.file, r.sha256))),
  };
  const again = planArchive(analyze(c61, sha256), state, sha256);
  t.deepEqual(
    again.folders.map((f) => f.status),
    ['exists', 'exists'],
  );
  t.true(again.folders.every((f) => f.logs.length === 0));
  t.is(again.logsAlreadyArchived.length, 3);
});

test('new boot logs with no new crash get their own folder; the old crash is not touched', (t) => {
  const a = analyze(c61, sha256);
  const first = planArchive(a, empty, sha256);
  const state = {
    folders: new Set(first.folders.map((f) => f.name)),
    files: new Set(first.folders.flatMap((f) => [...(f.crash?.parts ?? []), ...f.logs]).map((r) => archivedFileKey(r.file, r.sha256))),
  };
  // The next boot did not crash: same dmesg records, a new console log.
  const files = c61.map((f) => (f.name === 'console-ramoops-0' ? file(f.name, 'a later boot\n', 1_795_679_000) : f));
  const plan = planArchive(analyze(files, sha256), state, sha256);
  t.deepEqual(
    plan.folders.map((f) => f.status),
    ['exists', 'exists', 'new'],
  );
  const logs = plan.folders[2];
  t.is(logs?.kind, 'logs');
  t.regex(logs?.name ?? '', /^20261126T074320Z-logs-[0-9a-f]{12}$/);
  t.deepEqual(
    logs?.logs.map((l) => l.file),
    ['console-ramoops-0'],
  );
  t.deepEqual(
    plan.logsAlreadyArchived.map((l) => l.file),
    ['ftrace-ramoops-0', 'pmsg-ramoops-0'],
  );
});

test('names pstore would not make are refused, not grouped', (t) => {
  const a = analyze([file('dmesg-ramoops-0', 'Panic#1 Part1\n'), file('../../etc/passwd', 'x'), file('notes.txt', 'x')], sha256);
  t.deepEqual(a.refused, ['../../etc/passwd', 'notes.txt']);
  t.is(a.crashes.length, 1);
});

test('meta.json round trip, manifest lines, and what a tampered meta.json gets', (t) => {
  const a = analyze(c61, sha256);
  const [oops, panic] = a.crashes;
  if (oops === undefined || panic === undefined) return t.fail();
  const metas = [crashMeta(panic, a.bootLogs, ctx), crashMeta(oops, [], ctx)];
  const back = metas.map((m) => parseCrashMeta(JSON.parse(JSON.stringify(m)), m.name));
  t.deepEqual(back, metas);
  const manifest = buildManifest(metas, ctx.harvestedAt);
  t.deepEqual(
    manifest.crashes.map((c) => c.name),
    [oops.name, panic.name],
  );
  t.deepEqual(
    manifest.records.map((r) => [r.archive, r.type, r.id, r.reason, r.counter, r.part, r.role]),
    [
      [`${oops.name}/dmesg-ramoops-0`, 'dmesg', 0, 'Oops', 1, 1, 'dump'],
      [`${panic.name}/dmesg-ramoops-1`, 'dmesg', 1, 'Panic', 2, 1, 'dump'],
      [`${panic.name}/console-ramoops-0`, 'console', 0, null, null, null, 'boot-log'],
      [`${panic.name}/ftrace-ramoops-0`, 'ftrace', 0, null, null, null, 'boot-log'],
      [`${panic.name}/pmsg-ramoops-0`, 'pmsg', 0, null, null, null, 'boot-log'],
    ],
  );
  t.like(manifest.records[0], { time: '2026-11-26T07:35:32Z', size: 20606, ecc: null, encZ: false, host: 'root@board:22', bootId: ctx.bootId });
  const evil = JSON.parse(JSON.stringify(metas[0])) as { records: { file: string }[] };
  const first = evil.records[0];
  if (first !== undefined) first.file = '../../escape';
  t.regex(errorOf(parseCrashMeta(evil, panic.name)), /unsafe/);
  t.regex(errorOf(parseCrashMeta(metas[0], 'other-name')), /does not match/);
});

test('erase: the zones each unlink resets', (t) => {
  t.deepEqual(zonesClearedBy(['dmesg-ramoops-0', 'dmesg-ramoops-3', 'console-ramoops-0', 'pmsg-ramoops-0']), {
    zones: ['dmesg zone 0', 'dmesg zone 3', 'console zone', 'pmsg zone'],
    notes: [],
  });
  const f = zonesClearedBy(['ftrace-ramoops-0', 'dmesg-efi-1']);
  t.deepEqual(f.zones, ['ftrace zone 0', 'efi record dmesg 1 (backend erase)']);
  t.regex(f.notes[0] ?? '', /per-CPU/);
});

test('text, JUnit and exit status of a report', (t) => {
  const a = analyze(c61, sha256);
  const report: HarvestReport = {
    tool: 'ramoops-harness harvest',
    target: 'root@board:22',
    outDir: '/archive',
    manifest: '/archive/manifest.json',
    seconds: 1.5,
    context: ctx,
    files: c61.map((f) => ({ name: f.name, size: f.size, mtime: f.mtime.seconds })),
    crashes: a.crashes.map((c, i) => ({
      name: c.name,
      kind: 'crash',
      status: i === 0 ? 'already archived' : 'archived',
      path: `/archive/${c.name}`,
      reason: c.reason ?? null,
      counter: c.counter ?? null,
      time: '',
      summary: c.summary,
      headline: c.headline ?? null,
      cause: c.cause ?? null,
      frames: c.frames,
      files: c.parts.map((p) => p.file),
      bootLogs: i === 1 ? ['console-ramoops-0', 'pmsg-ramoops-0'] : [],
      ecc: null,
      unrecoverableBlocks: i === 1 ? 1 : 0,
    })),
    bootLogsAlreadyArchived: [],
    refused: [],
    erase: { unlinked: ['dmesg-ramoops-0'], kept: [], remaining: ['dmesg-ramoops-1'], zonesCleared: ['dmesg zone 0'], notes: [] },
    warnings: [],
  };
  const text = harvestText(report);
  t.regex(text, /^harvested root@board:22 \(board, 6\.1\.192, boot 0b7c1f4e/);
  t.regex(
    text,
    /SEEN 20261126T073532Z-oops-1eb0bbbe21d8 {2}2026-11-26T07:35:32Z Oops#1: invalid opcode: 0000 \[#1\] \[after: lkdtm: Performing direct entry BUG\] at lkdtm_BUG\+0x5\/0x7 \| \?direct_entry < /,
  );
  t.regex(
    text,
    /NEW {2}20261126T073534Z-panic-c1549a6d6adf {2}2026-11-26T07:35:34Z Panic#2: Kernel panic - not syncing: sysrq triggered crash \[after: sysrq: Trigger a crash\]\n/,
  );
  t.regex(text, /beside it: console-ramoops-0, pmsg-ramoops-0/);
  t.regex(text, /2 crash\(es\): 1 archived, 1 already archived; 5 file\(s\) read/);
  t.regex(text, /STILL PRESENT: dmesg-ramoops-1/);
  t.is(harvestExitCode(report), 1);
  const xml = harvestJunit(report);
  // The whole document, byte for byte (the one JUnit writer, src/report/junit.ts, must keep it).
  matchesGolden(t, 'junit/harvest.xml', xml);
  t.regex(xml, /<testsuites tests="3" failures="2" errors="0"/);
  t.regex(xml, /<testcase name="20261126T073534Z-panic-c1549a6d6adf: Kernel panic - not syncing: sysrq triggered crash" classname="ramoops.harvest.board"/);
  t.regex(xml, /<failure message="files remain in pstore after erase">dmesg-ramoops-1<\/failure>/);
  t.is(harvestExitCode({ ...report, erase: null }), 0);
});

test('.enc.z: a record the kernel could not decompress is decoded here when it can be, and archived as stored', (t) => {
  const text = 'Panic#1 Part1\n<0>[ 3.0] Kernel panic - not syncing: sysrq triggered crash\n';
  const stored = new Uint8Array([...deflateSync(enc.encode(text)), ...enc.encode('\nECC: No errors detected\n')]);
  const a = analyze([{ name: 'dmesg-ramoops-0.enc.z', size: stored.length, mtime: { seconds: 1_700_000_000, nsec: 0 }, bytes: stored }], sha256);
  t.like(a.crashes[0], { reason: 'Panic', counter: 1, headline: 'Kernel panic - not syncing: sysrq triggered crash' });
  t.like(a.crashes[0]?.parts[0], { encZ: true, decodedWith: 'deflate', sha256: sha256(stored) });
  t.regex(a.crashes[0]?.name ?? '', /^20231114T221320Z-panic-/);
});

test('JUnit of a harvest that could not run: one error testcase, byte for byte', (t) => {
  matchesGolden(t, 'junit/harvest-error.xml', harvestErrorJunit('root@board:2222', 'connection refused <127.0.0.1:2222>\nnothing listens there', 1.25));
});
