// The reading kernel's rules for records: from the given version, else from the version code
// the ftrace signature carries (the kernel that wrote, and normally reads, the region).
import { atLeast, eccNoticePrefix, headerUsecTimes1000, readerDecompressor, signedHeaderSeconds, type KernelVersion } from '../kernel/version.js';
import { decideMaybe, type ReaderRules, type ZonesRead } from './context.js';

export function readerRules({ v, ftraceCode, layout, decisions }: ZonesRead): ReaderRules {
  const rv: KernelVersion | undefined =
    v ??
    (ftraceCode !== undefined
      ? { major: ftraceCode >>> 16, minor: (ftraceCode >>> 8) & 0xff, sublevel: ftraceCode & 0xff, release: 'from ftrace signature' }
      : undefined);
  const usec1000 = rv ? decideMaybe(headerUsecTimes1000(rv), true, 'header microseconds are multiplied by 1000', decisions) : true;
  const prefix = rv ? eccNoticePrefix(rv) : true;
  const signedSecs = rv ? signedHeaderSeconds(rv) : true;
  const reader = rv ? readerDecompressor(rv) : layout.rules.post49 ? 'crypto' : 'zlib';
  const firstDmesg = layout.zones.find((z) => z.kind === 'dmesg');
  const bufsize = !rv || atLeast(rv, 4, 18) ? (firstDmesg?.geometry.capacity ?? 0) : Math.max(layout.recordSize, layout.consoleSize ? 1024 : 0);
  return { rv, usec1000, prefix, signedSecs, reader, bufsize };
}
