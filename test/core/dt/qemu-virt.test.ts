// QEMU's own arm64 `virt` DTB (-machine dumpdtb=), the tree issue 8 adds the ramoops node to:
// our reader takes it, our writer encodes it exactly as dtc re-encodes it, and the tree with
// a ramoops node added reads back (ours and dtc) with the settings we put in. Skipped without
// qemu-system-aarch64 or dtc, and under RAMOOPS_SKIP_INTEGRATION=1.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ramoopsNodeFromDt } from '../../../src/config/from-dt.js';
import { readFdt, writeFdt } from '../../../src/dt/fdt.js';
import { withRamoopsNode } from '../../../src/dt/ramoops-node.js';
import { getProp, propCells } from '../../../src/dt/tree.js';
import { dtcDecompile, haveDtc } from '../../helpers/dtc.js';

const haveQemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;
const run = haveQemu && haveDtc && process.env['RAMOOPS_SKIP_INTEGRATION'] !== '1' ? test : test.skip;

run('QEMU virt DTB: read, re-encoded byte for byte as dtc does, ramoops node added and read back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-virt-'));
  try {
    const file = join(dir, 'virt.dtb');
    execFileSync('qemu-system-aarch64', ['-machine', `virt,dumpdtb=${file}`, '-cpu', 'cortex-a57', '-m', '512M', '-nographic'], {
      stdio: 'ignore',
      timeout: 60000,
    });
    const blob = new Uint8Array(readFileSync(file));
    const tree = readFdt(blob);
    t.deepEqual(propCells(getProp(tree.root, '#address-cells') ?? { name: '', value: new Uint8Array() }), [2]);
    const dtc = new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dtb', file]));
    t.true(Buffer.from(writeFdt(tree)).equals(Buffer.from(dtc)), 'our encoding equals dtc -I dtb -O dtb');

    const withNode = writeFdt(withRamoopsNode(tree, { address: 0x50000000, size: 0x100000, recordSize: 0x4000, consoleSize: 0x4000, eccSize: 16, flags: 1 }));
    const n = ramoopsNodeFromDt(readFdt(withNode));
    t.like(n, { path: '/reserved-memory/ramoops@50000000', underReservedMemory: true, reservedMemoryAccepted: true, noMap: true });
    t.like(n.settings, { memAddress: 0x50000000, memSize: 0x100000, recordSize: 0x4000, consoleSize: 0x4000, ecc: 16, ftracePerCpu: true });
    t.regex(dtcDecompile(withNode), /reserved-memory \{\s+#address-cells = <0x02>;\s+#size-cells = <0x02>;\s+ranges;\s+ramoops@50000000 \{/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
