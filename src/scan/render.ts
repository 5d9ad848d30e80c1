// How an inferred configuration is shown: as kernel command-line words and as a device-tree
// node a person can paste.
import type { RamoopsConfig } from '../config/types.js';

const hx = (n: number): string => '0x' + n.toString(16);

/** `memmap=… ramoops.mem_address=… …` for x86-style module parameters. */
export function configAsCmdline(c: RamoopsConfig): string {
  return [
    `memmap=${hx(c.memSize)}$${hx(c.memAddress)}`,
    `ramoops.mem_address=${hx(c.memAddress)}`,
    `ramoops.mem_size=${hx(c.memSize)}`,
    `ramoops.record_size=${hx(c.recordSize)}`,
    `ramoops.console_size=${hx(c.consoleSize)}`,
    `ramoops.ftrace_size=${hx(c.ftraceSize)}`,
    `ramoops.pmsg_size=${hx(c.pmsgSize)}`,
    `ramoops.ecc=${c.eccSize}`,
  ].join(' ');
}

/** A /reserved-memory ramoops node (DT sizes default to 0, ecc-size is literal). */
export function configAsDtNode(c: RamoopsConfig): string {
  const hi = Math.floor(c.memAddress / 2 ** 32);
  const lo = c.memAddress % 2 ** 32;
  const shi = Math.floor(c.memSize / 2 ** 32);
  const slo = c.memSize % 2 ** 32;
  const lines = [
    'reserved-memory {',
    '\t#address-cells = <2>;',
    '\t#size-cells = <2>;',
    '\tranges;',
    '',
    `\tramoops@${c.memAddress.toString(16)} {`,
    '\t\tcompatible = "ramoops";',
    `\t\treg = <${hx(hi)} ${hx(lo)} ${hx(shi)} ${hx(slo)}>;`,
    '\t\tno-map;',
  ];
  if (c.recordSize) lines.push(`\t\trecord-size = <${hx(c.recordSize)}>;`);
  if (c.consoleSize) lines.push(`\t\tconsole-size = <${hx(c.consoleSize)}>;`);
  if (c.ftraceSize) lines.push(`\t\tftrace-size = <${hx(c.ftraceSize)}>;`);
  if (c.pmsgSize) lines.push(`\t\tpmsg-size = <${hx(c.pmsgSize)}>;`);
  if (c.eccSize) lines.push(`\t\tecc-size = <${c.eccSize}>;`);
  // The module path always records ftrace per CPU; on DT that takes flags bit 0.
  if (c.ftraceSize && c.ftracePerCpu) lines.push('\t\tflags = <0x1>;');
  lines.push('\t};', '};');
  return lines.join('\n');
}
