// The guest kernel's command line for a region: what every boot of a run (and the bench's
// plain boot) gets.

import type { RamoopsConfig } from '../../src/index.js';

export function guestCmdline(
  region: Pick<RamoopsConfig, 'memAddress' | 'memSize'>,
  ramoopsCmdline: string,
  extra: readonly string[],
  ...keyWords: readonly string[]
): string {
  return [
    // quiet loglevel=4: serial output is slow under TCG (the panic is printed at EMERG).
    // panic=-1: reboot at once after the panic; ramoops has written the record by then.
    'console=ttyS0',
    'quiet',
    'loglevel=4',
    'panic=-1',
    // A TCG guest on a loaded host can miss the IO-APIC timer check's few ticks and panic at boot
    // ("IO-APIC + timer doesn't work!", seen at load 30 on 2 cores); QEMU's timer is sound.
    'no_timer_check',
    // Without the reservation the kernel may hand the region out before ramoops probes.
    `memmap=0x${region.memSize.toString(16)}$0x${region.memAddress.toString(16)}`,
    ramoopsCmdline.trim(),
    ...extra,
    ...keyWords,
  ]
    .filter((w) => w !== '')
    .join(' ');
}
