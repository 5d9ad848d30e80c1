// --kcidb FILE and its companions, shared by `matrix` and `report merge`: checked before any
// work (a bad origin found after an hour of VMs wastes the hour), written from the finished
// matrix folder. The document itself is harness/report/kcidb.ts.
import path from 'node:path';
import type { Argv } from 'yargs';
import { prepareOutDir, writeConfined } from '../io/artifacts.js';
import { checkKcidbOptions, kcidbJson, KcidbOptionError, type KcidbOptions } from '../report/kcidb.js';
import { checkOutDir, InputError } from './input.js';

export interface KcidbArgs {
  kcidb?: string;
  'kcidb-origin': string;
  'kcidb-url'?: string;
  'kcidb-run'?: string;
}

export function kcidbYargs<T>(y: Argv<T>): Argv<T & KcidbArgs> {
  return y
    .option('kcidb', { type: 'string', describe: "also write the results as KernelCI KCIDB JSON (schema v5.3) to this file, for 'kcidb-submit'" })
    .option('kcidb-origin', { type: 'string', default: 'ramoops', describe: 'KCIDB origin: the name of your CI system (prefix of every id)' })
    .option('kcidb-url', { type: 'string', describe: 'where this --out folder will be served (KCIDB log_url / output_files); default: its file:// URL' })
    .option('kcidb-run', {
      type: 'string',
      describe: 'a name for this run in the KCIDB test ids (e.g. the CI pipeline id); default: none, so a rerun of the same matrix replaces it',
    });
}

function options(a: KcidbArgs): KcidbOptions {
  return {
    origin: a['kcidb-origin'],
    ...(a['kcidb-url'] === undefined ? {} : { baseUrl: a['kcidb-url'] }),
    ...(a['kcidb-run'] === undefined ? {} : { run: a['kcidb-run'] }),
  };
}

/** Refuses bad --kcidb* values up front (exit 2, one line). */
export function checkKcidbArgs(a: KcidbArgs): void {
  if (a.kcidb === undefined) return;
  try {
    checkKcidbOptions(options(a));
  } catch (e) {
    if (e instanceof KcidbOptionError) throw new InputError('', e.message);
    throw e;
  }
  checkOutDir('--kcidb', path.dirname(path.resolve(a.kcidb)));
}

/** Writes --kcidb from the finished matrix folder; returns the file written (undefined when not asked). */
export function writeKcidbFile(a: KcidbArgs, folder: string): string | undefined {
  if (a.kcidb === undefined) return undefined;
  const file = path.resolve(a.kcidb);
  return writeConfined(prepareOutDir(path.dirname(file)), path.basename(file), new TextEncoder().encode(kcidbJson(folder, options(a))));
}
