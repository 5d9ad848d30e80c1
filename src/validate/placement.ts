// Warnings about where the region sits: reserved or not (memmap=/mem= on x86, /reserved-memory
// and no-map in a device tree), inside RAM or not, clear of what QEMU's loader writes at every
// reset, page aligned, out of the x86 BIOS area.
import { hex } from '../errors.js';
import { memmapWord } from './cmdline.js';
import { rangeText, human } from './format.js';
import { ARM64_VIRT_RAM_BASE, ASSUMED_INITRD_SIZE, bootWindows, overlaps, qemuRamMap, uncovered, type PhysRange } from './machine.js';
import type { Arch, Problem, ValidateInput } from './types.js';

const PAGE = 4096;
const MiB = 1024 * 1024;
/** The kernel's line when the early scan cannot reserve a node (drivers/of/fdt.c), up to the node name. */
export const RESERVE_FAILED_TEXT = 'Reserved memory: failed to reserve memory for node';

/** The architecture rules apply for: as given, else arm64 for a device tree and x86 otherwise. */
export function archOf(input: ValidateInput): Arch {
  return input.arch ?? (input.source === 'dt' ? 'arm64' : 'x86');
}

/** Every placement warning for the region. */
export function placementProblems(input: ValidateInput): readonly Problem[] {
  const { memAddress: a, memSize: s } = input.config;
  if (!s) return [];
  const arch = archOf(input);
  const out: Problem[] = [];
  const region = rangeText(a, s);

  if (a % PAGE !== 0 || s % PAGE !== 0) {
    const start = Math.floor(a / PAGE) * PAGE;
    const end = Math.ceil((a + s) / PAGE) * PAGE;
    out.push({
      severity: 'warning',
      code: 'region-unaligned',
      message: `the region ${region} does not start and end on 4 KiB page boundaries; reservations (memmap=, no-map) work on whole pages, so the pages it shares with its neighbours are not protected as a unit`,
      fix: `use a page-aligned region, e.g. ${hex(end - start)}@${hex(start)}`,
    });
  }
  if (arch === 'x86' && a < 0x100000) {
    out.push({
      severity: 'warning',
      code: 'region-low-memory',
      message: `the region ${region} reaches into the first 1 MiB, where the BIOS data area, EBDA, VGA and option ROMs and the kernel's real-mode trampoline live; firmware rewrites it on every reset`,
      fix: `move the region above 16 MiB, e.g. ramoops.mem_address=0x8000000 with ${memmapWord(0x8000000, s)}`,
    });
  }

  out.push(...reservationProblems(input, arch));

  if (input.ramSize !== undefined) {
    const ram = qemuRamMap(arch, input.ramSize);
    const missing = uncovered(a, a + s, ram);
    if (missing.length > 0) {
      out.push({
        severity: 'warning',
        code: 'region-outside-ram',
        message: `no RAM at ${missing.map((m) => rangeText(m.start, m.size)).join(', ')} in a QEMU ${arch === 'x86' ? 'q35' : 'virt'} guest with ${human(input.ramSize)} of RAM (RAM: ${ram.map((r) => rangeText(r.start, r.size)).join(', ')}): the kernel maps it as I/O memory and whatever is written there is lost (on real hardware this is only right for dedicated persistent memory)`,
        fix: `choose an address inside RAM, e.g. ${hex(suggestAddress(arch, input.ramSize, input.initrdSize))}`,
      });
    }
  }
  // Only for a machine said to be a QEMU guest (--arch or --ram-size): a board's own boot
  // loader puts the kernel elsewhere, and a DT alone does not say which it is.
  if (input.arch === 'arm64' || input.ramSize !== undefined) {
    for (const w of bootWindows(arch, input.ramSize, input.initrdSize)) {
      if (!overlaps(a, s, w.start, w.size)) continue;
      const assumed = w.kind === 'initrd' && input.initrdSize === undefined ? ` (initrd size unknown: assumed up to ${human(ASSUMED_INITRD_SIZE)})` : '';
      // arm64 memblock-reserves the initrd and the DTB before its /reserved-memory scan; a
      // no-map node over them is refused (drivers/of/fdt.c early_init_dt_reserve_memory:
      // -EBUSY) with this KERN_ERR line. Without no-map memblock_reserve merges silently. The
      // kernel image's window is QEMU's room for it, wider than what the kernel reserves: no quote.
      const refused = input.source === 'dt' && input.dt?.noMap === true && arch === 'arm64' && w.kind !== 'kernel';
      const node = input.dt?.path.split('/').pop() ?? '';
      out.push({
        severity: 'warning',
        code: 'boot-image-collision',
        message: `QEMU's direct kernel boot writes ${w.what} at ${rangeText(w.start, w.size)}${assumed} on every reset, before the kernel runs: it overlaps the region ${region}, so what the crashed kernel left there is overwritten${refused ? '; and because that memory is already reserved when the kernel reads /reserved-memory, it refuses the no-map node ("failed to reserve memory for node") and ramoops then probes on memory the kernel hands out' : input.source === 'dt' ? '; with no-map the kernel also logs "failed to reserve memory for node" because that memory is already reserved' : ''}`,
        fix: `move the region clear of the loader's area, e.g. to ${hex(suggestAddress(arch, input.ramSize, input.initrdSize))}`,
        ...(refused ? { kernelMessage: `${RESERVE_FAILED_TEXT} '${node}'` } : {}),
      });
    }
  }
  return out;
}

function reservationProblems(input: ValidateInput, arch: Arch): readonly Problem[] {
  const { memAddress: a, memSize: s } = input.config;
  const region = rangeText(a, s);
  const out: Problem[] = [];
  const aboveMemLimit: PhysRange[] =
    input.cmdline?.memLimit !== undefined ? [{ start: input.cmdline.memLimit, size: Number.MAX_SAFE_INTEGER - input.cmdline.memLimit }] : [];
  const dt = input.dt;
  if (input.source === 'dt' && dt) {
    if (dt.otherNodes.length > 0) {
      out.push({
        severity: 'warning',
        code: 'dt-several-nodes',
        message: `${dt.otherNodes.length + 1} nodes are compatible with "ramoops" (${[dt.path, ...dt.otherNodes].join(', ')}); only one ramoops instance can exist, the others fail with "already initialized"`,
        fix: 'keep one ramoops node',
      });
    }
    const reservedByDt = dt.underReservedMemory && dt.reservedMemoryAccepted && dt.regReservable;
    if (!reservedByDt && !dt.coveredByMemreserve && uncovered(a, a + s, aboveMemLimit).length > 0) {
      if (!dt.underReservedMemory) {
        out.push({
          severity: 'warning',
          code: 'dt-not-under-reserved-memory',
          message: `the node is ${dt.path}, not a direct child of /reserved-memory: nothing reserves ${region}, so the kernel hands those pages out as ordinary memory and overwrites the records`,
          fix: `move it to /reserved-memory/ramoops@${a.toString(16)} (with no-map), or cover the region with /memreserve/ ${hex(a)} ${hex(s)};`,
        });
      } else if (!dt.reservedMemoryAccepted) {
        out.push({
          severity: 'warning',
          code: 'dt-reserved-memory-ignored',
          message:
            '/reserved-memory lacks #address-cells/#size-cells equal to the root\'s or an empty `ranges`: the kernel ignores every node in it ("Reserved memory: unsupported node format, ignoring"), so the region is not reserved',
          fix: "give /reserved-memory the root's #address-cells and #size-cells and an empty `ranges;`",
          kernelMessage: 'Reserved memory: unsupported node format, ignoring',
        });
      } else {
        out.push({
          severity: 'warning',
          code: 'dt-reg-not-reservable',
          message: `reg of ${dt.path} is not a whole number of (address, size) entries in the root's cell counts, so the early scan skips the node and the region is not reserved`,
          fix: "write reg with the root's #address-cells and #size-cells",
          kernelMessage: `Reserved memory: invalid reg property in '${dt.path.split('/').pop() ?? ''}', skipping node.`,
        });
      }
    } else if (reservedByDt && !dt.noMap) {
      out.push({
        severity: 'warning',
        code: 'dt-no-map',
        message: `${dt.path} has no no-map: the region stays in the kernel's linear map as cacheable memory while ramoops maps it again ${input.config.memType === 2 ? 'cached' : input.config.memType === 1 ? 'uncached' : 'write-combined'}; mismatched mappings of the same memory can leave records in the cache when the machine resets (notably on arm64)`,
        fix: 'add no-map; to the node',
      });
    }
    return out;
  }
  const cmd = input.cmdline;
  if (!cmd) {
    return [
      {
        severity: 'info',
        code: 'reservation-unchecked',
        message: `whether ${region} is reserved cannot be checked without the kernel command line or device tree`,
        fix:
          arch === 'x86'
            ? `pass --cmdline (it must contain ${memmapWord(a, s)} or a covering memmap=)`
            : 'pass --dts/--dtb so the /reserved-memory node can be checked',
      },
    ];
  }
  const reserved =
    arch === 'x86' ? cmd.memmap.filter((m) => m.kind === '$' && m.address !== undefined).map((m) => ({ start: m.address ?? 0, size: m.size })) : [];
  const pmem = arch === 'x86' ? cmd.memmap.filter((m) => m.kind === '!' && m.address !== undefined).map((m) => ({ start: m.address ?? 0, size: m.size })) : [];
  const missing = uncovered(a, a + s, [...reserved, ...pmem, ...aboveMemLimit]);
  if (missing.length > 0) {
    const where = missing.map((m) => rangeText(m.start, m.size)).join(', ');
    out.push({
      severity: 'warning',
      code: 'region-not-reserved',
      message:
        arch === 'x86'
          ? `no memmap=SIZE$ADDR (or mem=) on the command line reserves ${where}: the kernel uses those pages as ordinary RAM, so records are overwritten during the next boot before ramoops reads them`
          : `nothing reserves ${where} (arm64 has no memmap=; reservations come from the device tree): the kernel uses those pages as ordinary RAM`,
      fix:
        arch === 'x86'
          ? `add ${memmapWord(a, s)} to the kernel command line (in GRUB's /etc/default/grub write the $ as \\\\\\$)`
          : `add a /reserved-memory/ramoops@${a.toString(16)} node with no-map (or boot with mem=${hex(a)} if the region is at the top of RAM)`,
    });
  } else if (uncovered(a, a + s, [...reserved, ...aboveMemLimit]).length > 0) {
    out.push({
      severity: 'warning',
      code: 'region-pmem',
      message: `the region is reserved with memmap=SIZE!ADDR, which makes it persistent memory: the pmem driver (nd_pmem) can claim it as /dev/pmemN and then ramoops cannot request it, or the two write over each other`,
      fix: `use ${memmapWord(a, s)} (reserved) instead of memmap=…!…`,
    });
  }
  return out;
}

/** A page-aligned address inside RAM and clear of the loader's windows, for the fixes. */
function suggestAddress(arch: Arch, ramSize: number | undefined, initrdSize: number | undefined): number {
  if (arch === 'arm64') {
    const windows = bootWindows('arm64', ramSize, initrdSize);
    const last = windows[windows.length - 1];
    const after = last ? last.start + last.size : ARM64_VIRT_RAM_BASE + 256 * MiB;
    // A 16 MiB boundary past the DTB leaves the loader some slack.
    return Math.ceil(after / (16 * MiB)) * 16 * MiB;
  }
  // 128 MiB: above the x86 kernel's usual load area, below the initrd at the top of small guests.
  return 0x8000000;
}
