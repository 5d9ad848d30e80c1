// The boot path choice, with the vmlinux and qboot.rom injected: the fixture vmlinux headers
// (with the PVH note), the same with the note retyped, and a missing qboot.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { chooseBootPath } from '../../../harness/kernel/boot-path.js';
import { HarnessError } from '../../../harness/errors.js';
import { XEN_ELFNOTE_PHYS32_ENTRY } from '../../../src/kernel/elf-notes.js';
import { repoRoot } from '../../helpers/paths.js';

const notes = readFileSync(join(repoRoot(), 'test', 'core', 'kernel', 'fixtures', 'vmlinux-6.1.0-57-amd64.notes'));
const dir = mkdtempSync(join(os.tmpdir(), 'boot-path-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const withPvh = join(dir, 'vmlinux-pvh');
const withoutPvh = join(dir, 'vmlinux-nopvh');
const qboot = join(dir, 'qboot.rom');
writeFileSync(withPvh, notes);
const stripped = Uint8Array.from(notes);
const view = new DataView(stripped.buffer);
for (let at = 0; at + 16 <= stripped.length; at++) {
  if (view.getUint32(at, true) === 4 && view.getUint32(at + 8, true) === XEN_ELFNOTE_PHYS32_ENTRY) view.setUint32(at + 8, 0x7777, true);
}
writeFileSync(withoutPvh, stripped);
writeFileSync(qboot, new Uint8Array(64 * 1024));

const extractTo = (vmlinux: string) => (): Promise<string> => Promise.resolve(vmlinux);

test('auto with the PVH note and qboot: the vmlinux through qboot', async (t) => {
  const p = await chooseBootPath('/k/bzImage', 'x86_64', { qboot, extract: extractTo(withPvh) });
  t.deepEqual(p, { path: 'pvh', kernel: withPvh, firmware: qboot, reason: 'PVH entry 0x1000850' });
});

test('auto without the note: the bzImage, saying why', async (t) => {
  const p = await chooseBootPath('/k/bzImage', 'x86_64', { qboot, extract: extractTo(withoutPvh) });
  t.is(p.path, 'bzimage');
  t.is(p.kernel, '/k/bzImage');
  t.is(p.firmware, undefined);
  t.regex(p.reason, /CONFIG_PVH/);
});

test('auto without qboot.rom: the bzImage, naming the missing file', async (t) => {
  const p = await chooseBootPath('/k/bzImage', 'x86_64', { qboot: join(dir, 'absent.rom'), extract: extractTo(withPvh) });
  t.is(p.path, 'bzimage');
  t.regex(p.reason, /absent\.rom is missing/);
});

test('pvh forced on a kernel without the note is an error naming the way out', async (t) => {
  const e = await t.throwsAsync(chooseBootPath('/k/bzImage', 'x86_64', { mode: 'pvh', qboot, extract: extractTo(withoutPvh) }), { instanceOf: HarnessError });
  t.regex(e?.message ?? '', /--boot-path pvh: .*CONFIG_PVH.*--boot-path auto or bzimage/);
});

test('bzimage forced: no extraction at all', async (t) => {
  const p = await chooseBootPath('/k/bzImage', 'x86_64', { mode: 'bzimage', qboot, extract: () => Promise.reject(new Error('must not extract')) });
  t.deepEqual(p, { path: 'bzimage', kernel: '/k/bzImage', reason: '--boot-path bzimage' });
});

test('arm64 boots the Image as given; pvh on arm64 is an error', async (t) => {
  const p = await chooseBootPath('/k/Image', 'arm64', { qboot, extract: () => Promise.reject(new Error('must not extract')) });
  t.is(p.path, 'as-given');
  t.is(p.kernel, '/k/Image');
  await t.throwsAsync(chooseBootPath('/k/Image', 'arm64', { mode: 'pvh' }), { instanceOf: HarnessError });
});

test('a kernel that is not a bzImage gets the -kernel boot it had before, with the parse error as reason', async (t) => {
  const notBz = join(dir, 'not-bz');
  writeFileSync(notBz, new Uint8Array(4096));
  const p = await chooseBootPath(notBz, 'x86_64', { qboot, cacheDir: join(dir, 'cache') });
  t.is(p.path, 'bzimage');
  t.regex(p.reason, /too short|HdrS/);
});
