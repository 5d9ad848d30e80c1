// ELF notes of a real Debian vmlinux: the fixture is its ELF header, program headers and the
// one PT_NOTE segment (504 bytes), moved to sit right after the headers with p_offset rewritten
// and the section header table dropped; every other byte is as the kernel build wrote it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { elfNotes, pvhEntry, XEN_ELFNOTE_PHYS32_ENTRY } from '../../../src/kernel/elf-notes.js';
import { KernelImageError } from '../../../src/errors.js';
import { repoRoot } from '../../helpers/paths.js';

const notes = readFileSync(join(repoRoot(), 'test', 'core', 'kernel', 'fixtures', 'vmlinux-6.1.0-57-amd64.notes'));

test('Debian 6.1 vmlinux: the Xen PHYS32_ENTRY note gives the PVH entry 0x1000850', (t) => {
  t.is(pvhEntry(notes), 0x1000850);
  const names = new Set(elfNotes(notes).map((n) => n.name));
  t.true(names.has('Xen'));
  t.true(names.has('GNU'));
  t.true(names.has('Linux'));
  t.is(elfNotes(notes).filter((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY).length, 1);
});

test('a vmlinux whose notes lack the Xen entry has no PVH entry', (t) => {
  const copy = Uint8Array.from(notes);
  // Turn every Xen note's type into an unused one: the kernel built without CONFIG_PVH.
  const view = new DataView(copy.buffer);
  for (let at = 0; at + 16 <= copy.length; at++) {
    if (
      view.getUint32(at, true) === 4 &&
      view.getUint32(at + 8, true) === XEN_ELFNOTE_PHYS32_ENTRY &&
      new TextDecoder().decode(copy.subarray(at + 12, at + 15)) === 'Xen'
    ) {
      view.setUint32(at + 8, 0x7777, true);
    }
  }
  t.is(pvhEntry(copy), undefined);
});

test('not an ELF file (a bzImage) is a KernelImageError', (t) => {
  const bz = readFileSync(join(repoRoot(), 'test', 'core', 'kernel', 'fixtures', 'vmlinuz-6.1.0-57-amd64.head'));
  t.throws(() => elfNotes(bz), { instanceOf: KernelImageError, message: /no ELF magic/ });
});
