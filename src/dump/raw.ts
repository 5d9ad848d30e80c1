// A raw dump (a RAM image, or a region cut out of one): its first byte is physical `base`.
// Apart from detect.ts so that a caller that already knows the file is raw needs no other reader.
import { ConfigError } from '../errors.js';
import { rawMemory, type ByteSource, type PhysicalMemory } from './memory.js';

/** Physical memory of a raw dump, as openDump gives it for one. */
export function openRawDump(source: ByteSource, opts: { readonly base?: number; readonly name?: string } = {}): PhysicalMemory {
  if (opts.base !== undefined && (!Number.isSafeInteger(opts.base) || opts.base < 0)) {
    throw new ConfigError('base', `must be a non-negative integer, got ${opts.base}`);
  }
  return rawMemory(source, opts.base ?? 0, opts.name ?? 'dump');
}
