// obtainKernel: the bzImage header parser on synthetic headers, the path spec with each shape
// of modules directory, and (integration) Debian's kernel fetched once, then served from the
// cache, also when apt cannot answer.
import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { cacheDir } from '../../../harness/io/cache-dir.js';
import { HarnessError } from '../../../harness/errors.js';
import { bzImageRelease, newestCached, obtainKernel } from '../../../harness/kernel/obtain.js';
import { withLock } from '../../../harness/io/lock.js';

/** A file with just enough of an x86 boot header for the release lookup. */
function fakeBzImage(version: string, at = 0x3c0): Uint8Array {
  const img = new Uint8Array(0x1000);
  img.set(new TextEncoder().encode('HdrS'), 0x202);
  new DataView(img.buffer).setUint16(0x20e, at - 0x200, true);
  img.set(new TextEncoder().encode(version + '\0'), at);
  return img;
}

test('bzImageRelease reads the first word of the kernel_version string', (t) => {
  t.is(bzImageRelease(fakeBzImage('6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP')), '6.1.0-56-amd64');
  t.is(bzImageRelease(fakeBzImage('6.12.117+deb12-amd64 (x) #1', 0x800)), '6.12.117+deb12-amd64');
});

test('bzImageRelease refuses what is not a bzImage', (t) => {
  const e = t.throws(() => bzImageRelease(new Uint8Array(0x1000)), { instanceOf: HarnessError });
  t.is(e?.stage, 'kernel');
  t.regex(e?.message ?? '', /HdrS/);
  const noPtr = fakeBzImage('6.1.0');
  new DataView(noPtr.buffer).setUint16(0x20e, 0, true);
  t.throws(() => bzImageRelease(noPtr), { instanceOf: HarnessError, message: /kernel_version/ });
});

/** A complete kernel cache entry as fetchAndUnpack leaves it. */
async function cacheEntry(kernelsDir: string, name: string, spec: string): Promise<string> {
  const entry = join(kernelsDir, name);
  await mkdir(join(entry, 'boot'), { recursive: true });
  await writeFile(join(entry, 'boot/vmlinuz'), fakeBzImage('6.1.0-56-amd64'));
  const meta = {
    spec,
    package: 'linux-image-6.1.0-56-amd64',
    version: '6.1.158-1',
    release: '6.1.0-56-amd64',
    kernel: 'boot/vmlinuz',
    modulesRoot: '.',
    systemMap: undefined,
    config: undefined,
  };
  await writeFile(join(entry, 'meta.json'), JSON.stringify(meta));
  return entry;
}

test('the offline cache lookup skips the lock files left beside entries, held or not', async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  t.teardown(() => tmp.cleanup());
  const kernelsDir = join(tmp.path, 'kernels');
  await mkdir(kernelsDir);
  t.is(await newestCached(kernelsDir, 'debian'), undefined);
  const entry = await cacheEntry(kernelsDir, 'linux-image-6.1.0-56-amd64_6.1.158-1', 'debian');
  // A lock file written after the entry (newer mtime), one without an entry, and one held now.
  await writeFile(`${entry}.lock`, '12345');
  await writeFile(join(kernelsDir, 'linux-image-6.1.0-99-amd64_6.1.999-1.lock'), '');
  const got = await withLock(join(kernelsDir, 'linux-image-6.1.0-57-amd64_6.1.160-1.lock'), { stage: 'kernel' }, () => newestCached(kernelsDir, 'debian'));
  t.is(got?.dir, entry);
  t.is(got?.meta.release, '6.1.0-56-amd64');
  t.is(await newestCached(kernelsDir, 'debian-6.12'), undefined);
  t.deepEqual((await readdir(kernelsDir)).sort(), [
    'linux-image-6.1.0-56-amd64_6.1.158-1',
    'linux-image-6.1.0-56-amd64_6.1.158-1.lock',
    'linux-image-6.1.0-57-amd64_6.1.160-1.lock',
    'linux-image-6.1.0-99-amd64_6.1.999-1.lock',
  ]);
});

test('a spec that is neither Debian nor a file is a kernel-stage error', async (t) => {
  const e = await t.throwsAsync(obtainKernel('/nonexistent/bzImage'), { instanceOf: HarnessError });
  t.is(e?.stage, 'kernel');
  t.regex(e?.message ?? '', /neither 'debian'/);
});

test('a bzImage path with each shape of modules directory', async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  try {
    const release = '6.1.99-test';
    const kernel = join(tmp.path, 'bzImage');
    await writeFile(kernel, fakeBzImage(`${release} (me@host) #1`));
    const root = join(tmp.path, 'install');
    const mods = join(root, 'lib/modules', release);
    await mkdir(join(mods, 'kernel'), { recursive: true });
    await writeFile(join(mods, 'modules.order'), '');
    const cache = join(tmp.path, 'cache');

    const bare = await obtainKernel(kernel, { cacheDir: cache });
    t.deepEqual(bare, { kernelPath: kernel, modulesRoot: undefined, release, source: kernel });

    // The root that holds lib/modules/<release>.
    t.is((await obtainKernel(kernel, { cacheDir: cache, modulesDir: root })).modulesRoot, root);
    // The modules directory itself, where it sits in a lib/modules tree.
    t.is((await obtainKernel(kernel, { cacheDir: cache, modulesDir: mods })).modulesRoot, await realpath(root));

    // The modules directory itself, anywhere: reached through a symlinked tree in the cache.
    const loose = join(tmp.path, 'loose-modules');
    await mkdir(join(loose, 'kernel'), { recursive: true });
    await writeFile(join(loose, 'modules.order'), 'kernel/x.ko\n');
    const viaLink = await obtainKernel(kernel, { cacheDir: cache, modulesDir: loose });
    t.true(viaLink.modulesRoot?.startsWith(join(cache, 'modroots')));
    t.deepEqual(await readdir(join(viaLink.modulesRoot ?? '', 'lib/modules', release)), ['kernel', 'modules.order']);

    const other = join(tmp.path, 'other');
    await mkdir(join(other, 'lib/modules/5.10.0'), { recursive: true });
    const e = await t.throwsAsync(obtainKernel(kernel, { cacheDir: cache, modulesDir: other }), { instanceOf: HarnessError });
    t.regex(e?.message ?? '', /lib\/modules\/\{5\.10\.0\} but the kernel's release is 6\.1\.99-test/);
  } finally {
    await tmp.cleanup();
  }
});

/** Synchronous, because ava wants every test declared before the first await. */
function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

const integration = process.env['RAMOOPS_SKIP_INTEGRATION'] !== '1' && ['apt-get', 'apt-cache', 'dpkg-deb', 'depmod'].every(onPath);
const itest = integration ? test.serial : test.skip;

for (const spec of ['debian', 'debian-6.12'] as const) {
  itest(`obtainKernel('${spec}') unpacks a kernel with a depmod'ed modules tree, then serves it from the cache`, async (t) => {
    const lines: string[] = [];
    const k = await obtainKernel(spec, { log: (l) => lines.push(l) });
    t.log(lines.join('\n'));
    t.is(k.source, spec);
    t.true(k.kernelPath.startsWith(join(cacheDir(), 'kernels')));
    t.true((await stat(k.kernelPath)).size > 1_000_000);
    t.is(bzImageRelease(new Uint8Array(await readFile(k.kernelPath))), k.release);
    t.regex(k.release, spec === 'debian' ? /^6\.1\.0-\d+-amd64$/ : /^6\.12\.\d+\+deb12-amd64$/);
    const modDir = join(k.modulesRoot ?? '', 'lib/modules', k.release);
    t.true((await stat(join(modDir, 'modules.dep'))).size > 0);

    const again: string[] = [];
    const k2 = await obtainKernel(spec, { log: (l) => again.push(l) });
    t.deepEqual(k2, k);
    t.false(
      again.some((l) => /download|unpacking|depmod/.test(l)),
      again.join('\n'),
    );
    t.true(again.some((l) => /cached/.test(l)));
  });
}

itest('with apt unable to answer, obtainKernel falls back to the cached tree', async (t) => {
  const k = await obtainKernel('debian');
  const tmp = await dir({ unsafeCleanup: true });
  const oldPath = process.env['PATH'];
  const asked = join(tmp.path, 'apt-was-asked');
  try {
    // apt-cache and apt-get that behave as on a machine with empty package lists and no network.
    for (const name of ['apt-cache', 'apt-get']) {
      const p = join(tmp.path, name);
      await writeFile(p, `#!/bin/sh\ntouch '${asked}'\necho "E: No packages found" >&2\nexit 100\n`);
      await chmod(p, 0o755);
    }
    process.env['PATH'] = `${tmp.path}:${oldPath ?? ''}`;
    const lines: string[] = [];
    // apt's lists have not changed since the first call: its answer is remembered, apt not asked.
    t.deepEqual(await obtainKernel('debian', { log: (l) => lines.push(l) }), k);
    t.false(existsSync(asked), 'apt asked again although its lists did not change');
    // Without the remembered answer, apt is asked, fails, and the cached tree is used.
    await rm(join(cacheDir(), 'kernels', 'apt-debian.json'), { force: true });
    t.deepEqual(await obtainKernel('debian', { log: (l) => lines.push(l) }), k);
    t.true(existsSync(asked));
    t.regex(lines.join('\n'), /apt cannot resolve 'debian' here; using cached/);

    // And with an empty cache the failure says what was tried.
    const e = await t.throwsAsync(obtainKernel('debian', { cacheDir: join(tmp.path, 'empty') }), { instanceOf: HarnessError });
    t.is(e?.stage, 'kernel');
    t.regex(e?.message ?? '', /apt-get update -qq failed: E: No packages found/);
  } finally {
    process.env['PATH'] = oldPath;
    await tmp.cleanup();
  }
});
