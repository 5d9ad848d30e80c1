// Settings from a kernel command line: the `ramoops.*` and `pstore.*` words, parsed the way the
// kernel parses module parameters (dashes equal underscores, base-0 integers, no suffixes).
import type { Warning } from '../errors.js';
import type { ConfigSettings } from './build.js';
import { parseKernelInt } from './numbers.js';

/** Split a command line into words like the kernel's next_arg (double quotes group). */
export function splitCmdline(cmdline: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inQuote = false;
  let has = false;
  for (const ch of cmdline) {
    if (ch === '"') {
      inQuote = !inQuote;
      has = true;
      continue;
    }
    if (!inQuote && /\s/.test(ch)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += ch;
    has = true;
  }
  if (has) words.push(cur);
  return words;
}

export interface CmdlineParse {
  readonly settings: ConfigSettings;
  readonly warnings: readonly Warning[];
  /** memmap= reservations found (size, address), for validation. */
  readonly memmap: readonly { readonly size: string; readonly address: string; readonly kind: string }[];
}

const INT_PARAMS: Readonly<Record<string, keyof ConfigSettings>> = {
  mem_address: 'memAddress',
  mem_size: 'memSize',
  record_size: 'recordSize',
  console_size: 'consoleSize',
  ftrace_size: 'ftraceSize',
  pmsg_size: 'pmsgSize',
  ecc: 'ecc',
  mem_type: 'memType',
  max_reason: 'maxReason',
  dump_oops: 'dumpOops',
};

/** Parse `ramoops.*`/`pstore.*` words; a value the kernel would reject is reported and ignored. */
export function settingsFromCmdline(cmdline: string): CmdlineParse {
  const settings: ConfigSettings = {};
  const warnings: Warning[] = [];
  const memmap: { size: string; address: string; kind: string }[] = [];
  for (const word of splitCmdline(cmdline)) {
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).replace(/-/g, '_');
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (key === 'memmap') {
      const m = /^([^$#!%@]+)([$#!%@])(.+)$/.exec(value);
      if (m) memmap.push({ size: m[1] ?? '', kind: m[2] ?? '', address: m[3] ?? '' });
      continue;
    }
    if (key.startsWith('ramoops.')) {
      const name = key.slice('ramoops.'.length);
      const field = INT_PARAMS[name];
      if (field) {
        const v = parseKernelInt(value);
        if (v === undefined) {
          warnings.push({
            code: 'cmdline-value-rejected',
            message: `${word}: the kernel rejects this value (module parameters take plain decimal or 0x-hex, no K/M/G suffix) and keeps the default`,
          });
          continue;
        }
        (settings as Record<string, unknown>)[field] = v;
      } else if (name === 'mem_name') {
        warnings.push({ code: 'mem-name', message: `${word}: a named reserve_mem region; its address must be given with --mem-address/--mem-size` });
      } else {
        warnings.push({ code: 'unknown-param', message: `${word}: not a ramoops parameter this tool knows; ignored` });
      }
    } else if (key === 'pstore.compress') {
      settings.compress = value;
    }
  }
  return { settings, warnings, memmap };
}
