// The exact command lines a run used, kept with its artifacts (qemu-cmdline.txt,
// kernel-cmdline.txt) and printed by `run --dry-run`: what a reader needs to boot the same guest
// by hand. The run's key words are masked as in report.json (the host key word is the guest's
// private key); QEMU's temp paths (RAM file, QMP socket) are gone after the run.

import { writeConfined } from '../io/artifacts.js';
import { maskKeyWords } from '../ssh/keys.js';

export const QEMU_CMDLINE_FILE = 'qemu-cmdline.txt';
export const KERNEL_CMDLINE_FILE = 'kernel-cmdline.txt';

/** A word for a POSIX shell: as is when nothing in it is special (commas included, as QEMU's options have), else single-quoted. */
function shellQuote(w: string): string {
  return /^[A-Za-z0-9_.,:=+/@%-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/** argv as one shell line (each word quoted where the shell would split or expand it), key words masked. */
export function shellLine(argv: readonly string[]): string {
  // Masked word by word: quoting first would let the mask swallow the closing quote.
  return argv.map((w) => shellQuote(maskKeyWords(w))).join(' ');
}

/** Writes `line` (masked) and a newline into `file` of the artifacts folder; the masked line. */
export function saveCommandLine(outDir: string, file: typeof QEMU_CMDLINE_FILE | typeof KERNEL_CMDLINE_FILE, line: string): string {
  const masked = maskKeyWords(line);
  writeConfined(outDir, file, new TextEncoder().encode(masked + '\n'));
  return masked;
}
