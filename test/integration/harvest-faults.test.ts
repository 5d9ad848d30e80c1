// The harvester under faults, through the CLI: SIGKILLed at random moments of a local harvest
// with --erase (read, archive, manifest, erase), and an archive disk that fills up. After every
// kill each record that was in pstore is still there or complete in the archive (content hash),
// and a harvest run afterwards finishes the job: everything archived, nothing left in pstore,
// the manifest equal to the disk, no temp file left. --erase never removes a record whose copy
// is not on disk. A local pstore folder (the real capture c61-full-deflate: two crashes and three
// logs) stands in for a guest: the harvest's code is the same, and a kill costs 1 s, not a boot.
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { ARCHIVE_NAME, type Manifest } from '../../src/harvest/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { serialUnless } from '../helpers/integration.js';
import { repoRoot } from '../helpers/paths.js';

const CLI = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const skip = process.env['RAMOOPS_SKIP_INTEGRATION'] === '1' ? 'RAMOOPS_SKIP_INTEGRATION=1' : undefined;
const asRoot = skip ?? (process.getuid?.() === 0 ? undefined : 'mounting a tmpfs needs root');
const KILLS = 24;

/** Fills a pstore folder with the capture's files; returns name -> sha256. */
function fillPstore(p: string): Map<string, string> {
  const records = new Map<string, string>();
  for (const e of loadFixture('c61-full-deflate').expected) {
    writeFileSync(join(p, e.name), e.bytes);
    utimesSync(join(p, e.name), e.mtime, e.mtime);
    records.set(e.name, sha256(e.bytes));
  }
  return records;
}

/** sha256 of every record in a complete archive folder (one with its meta.json), per file name. */
function archived(root: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  if (!existsSync(root)) return found;
  for (const folder of readdirSync(root).filter((n) => ARCHIVE_NAME.test(n))) {
    if (!existsSync(join(root, folder, 'meta.json'))) continue;
    for (const f of readdirSync(join(root, folder))) {
      if (f === 'meta.json') continue;
      const set = found.get(f) ?? new Set<string>();
      set.add(sha256(readFileSync(join(root, folder, f))));
      found.set(f, set);
    }
  }
  return found;
}

/** Nothing lost: each record is still in pstore with its bytes, or archived with them. */
function nothingLost(t: ExecutionContext, pstore: string, root: string, records: ReadonlyMap<string, string>, when: string): void {
  const inArchive = archived(root);
  for (const [name, hash] of records) {
    const still = existsSync(join(pstore, name)) && sha256(readFileSync(join(pstore, name))) === hash;
    t.true(still || inArchive.get(name)?.has(hash) === true, `${when}: ${name} is neither in pstore nor complete in the archive`);
  }
}

/** The archive after a finished harvest: manifest = disk, every record's bytes as listed, no temp entry. */
function archiveComplete(t: ExecutionContext, root: string, records: ReadonlyMap<string, string>): void {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
  const folders = readdirSync(root)
    .filter((n) => ARCHIVE_NAME.test(n))
    .sort();
  t.deepEqual(manifest.crashes.map((c) => c.name).sort(), folders, 'the manifest lists exactly the folders on disk');
  for (const r of manifest.records) t.is(sha256(readFileSync(join(root, r.archive))), r.sha256, `${r.archive} as the manifest says`);
  t.deepEqual(
    [...records.entries()].filter(([name, hash]) => !manifest.records.some((r) => r.file === name && r.sha256 === hash)).map(([n]) => n),
    [],
    'every record is in the manifest',
  );
  t.deepEqual(
    readdirSync(root).filter((n) => n.includes('.tmp')),
    [],
    'no temp entry left in the archive',
  );
}

serialUnless(skip)(`SIGKILL at ${KILLS} random moments of harvest --erase: nothing lost, a rerun finishes the job`, async (t) => {
  const work = await dir({ unsafeCleanup: true, prefix: 'ramoops-harvest-kill-' });
  t.teardown(() => work.cleanup());
  // How long one whole harvest takes here, so that the kills spread over all of it.
  const probe = join(work.path, 'probe');
  mkdirSync(join(probe, 'pstore'), { recursive: true });
  fillPstore(join(probe, 'pstore'));
  const t0 = Date.now();
  const full = await execa('node', [CLI, 'harvest', '--local', join(probe, 'pstore'), '--out', join(probe, 'archive'), '--erase'], { reject: false });
  const span = Date.now() - t0;
  t.is(full.exitCode, 0, full.stderr);
  let killedMidway = 0;
  for (let i = 0; i < KILLS; i++) {
    const at = join(work.path, `k${i}`);
    const pstore = join(at, 'pstore');
    const root = join(at, 'archive');
    mkdirSync(pstore, { recursive: true });
    const records = fillPstore(pstore);
    const child = spawn('node', [CLI, 'harvest', '--local', pstore, '--out', root, '--erase'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const delay = Math.floor(Math.random() * span);
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), delay))]);
    if (killed) {
      child.kill('SIGKILL');
      killedMidway++;
    }
    await exited;
    nothingLost(t, pstore, root, records, `killed after ${delay} ms`);
    // A kill after the erase leaves an empty pstore: the job is done (and a harvest of an empty
    // folder on a host without a pstore backend is refused, rightly), so rerun only when needed.
    if (readdirSync(pstore).length > 0) {
      const again = await execa('node', [CLI, 'harvest', '--local', pstore, '--out', root, '--erase', '--json'], { reject: false });
      t.is(again.exitCode, 0, `rerun after a kill at ${delay} ms: ${again.stderr}`);
    }
    archiveComplete(t, root, records);
    t.deepEqual(readdirSync(pstore), [], 'the rerun erased every archived record');
  }
  t.log(`${killedMidway} of ${KILLS} harvests killed midway (a whole harvest took ${span} ms)`);
  t.true(killedMidway > KILLS / 2, 'most kills landed while the harvest ran');
});

serialUnless(asRoot)('an archive disk that fills up: exit 2 naming the disk, and --erase removes nothing', async (t) => {
  const work = await dir({ unsafeCleanup: true, prefix: 'ramoops-harvest-full-' });
  const pstore = join(work.path, 'pstore');
  const root = join(work.path, 'archive');
  mkdirSync(pstore);
  mkdirSync(root);
  const records = fillPstore(pstore);
  const total = [...readdirSync(pstore)].reduce((n, f) => n + statSync(join(pstore, f)).size, 0);
  // Smaller than the records: the archive cannot hold them all.
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${Math.max(4096, Math.floor(total / 3))}`, 'tmpfs', root]);
  t.teardown(async () => {
    await execa('umount', [root], { reject: false });
    await work.cleanup();
  });
  const r = await execa('node', [CLI, 'harvest', '--local', pstore, '--out', root, '--erase'], { reject: false });
  t.is(r.exitCode, 2, r.stderr);
  t.regex(r.stderr, /ENOSPC|no space left/i);
  t.is(r.stderr.trim().split('\n').length <= 3, true, `a short message, got:\n${r.stderr}`);
  for (const [name, hash] of records) t.is(sha256(readFileSync(join(pstore, name))), hash, `${name} still in pstore, unchanged`);
  nothingLost(t, pstore, root, records, 'disk full');
  t.deepEqual(
    readdirSync(root).filter((n) => n.includes('.tmp')),
    [],
    'no partial folder left',
  );
});
