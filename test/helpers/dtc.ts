// dtc (Debian's device-tree-compiler) as an independent oracle for our DTB reader/writer and
// .dts parser. Tests that need it are skipped with a note when it is not installed.
import { execFileSync, spawnSync } from 'node:child_process';

/** Whether dtc runs here. */
export const haveDtc: boolean = spawnSync('dtc', ['--version'], { encoding: 'utf8' }).status === 0;

/** Compile .dts text to a blob with dtc (warnings suppressed: they are about bindings, not syntax). */
export function dtcCompile(dts: string): Uint8Array {
  return new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', '-', '-'], { input: dts }));
}

/** Decompile a blob to .dts text with dtc. */
export function dtcDecompile(dtb: Uint8Array): string {
  return execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-o', '-', '-'], { input: dtb, encoding: 'utf8' });
}
