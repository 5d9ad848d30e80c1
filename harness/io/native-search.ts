// The optional native search (harness/io/native/search.c), built by `npm ci` and `make setup`
// where a C compiler and Node's headers are present (scripts/build-native.mjs). Missing, not
// loadable (another Node ABI, another platform) or turned off with RAMOOPS_NATIVE=0, it is
// simply absent and callers use the worker-thread search, which gives the same answer.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Every offset of `needle` in the file, ascending, at most `max`; `threads` slices searched at once. */
export type NativeFindAll = (path: string, needle: Uint8Array, max: number, threads: number, onProgress?: (bytes: number) => void) => Promise<number[]>;

/** Where node-gyp puts the addon: the source folder's build/, beside binding.gyp (also from dist/). */
export const NATIVE_ADDON = fileURLToPath(new URL('../../../harness/io/native/build/Release/ramoops_search.node', import.meta.url));

/** The addon's exports. */
export interface NativeSearch {
  readonly findAll: NativeFindAll;
  /** Select the search loop by name ('avx2', 'sse2', 'scalar'; else the best the CPU has) and return the one in use: tests run them all. */
  readonly useImpl: (name?: string) => string;
}

let loaded: { readonly addon: NativeSearch | undefined } | undefined;

/** The native search, or undefined when it is not there (or not wanted). Loaded once. */
export function nativeSearch(): NativeSearch | undefined {
  loaded ??= { addon: load() };
  return loaded.addon;
}

/** The native findAll, or undefined. */
export function nativeFindAll(): NativeFindAll | undefined {
  return nativeSearch()?.findAll;
}

function load(): NativeSearch | undefined {
  if (process.env['RAMOOPS_NATIVE'] === '0' || !existsSync(NATIVE_ADDON)) return undefined;
  try {
    const mod: unknown = createRequire(import.meta.url)(NATIVE_ADDON);
    if (typeof mod !== 'object' || mod === null) return undefined;
    const { findAll, useImpl } = mod as { findAll?: unknown; useImpl?: unknown };
    return typeof findAll === 'function' && typeof useImpl === 'function'
      ? { findAll: findAll as NativeFindAll, useImpl: useImpl as (name?: string) => string }
      : undefined;
  } catch {
    // Built for another Node ABI or machine: the JS path does the same work.
    return undefined;
  }
}
