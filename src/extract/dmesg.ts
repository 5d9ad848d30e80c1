// The decode step for dmesg: one file per zone with a record, in index order, decompressed
// as the reading kernel does (or kept as .enc.z when it cannot).
import { DecompressError, hex, isRamoopsError } from '../errors.js';
import type { Zone } from '../layout/layout.js';
import { workBufferRules } from '../kernel/version.js';
import { eccNotice } from '../zone/read.js';
import { parseDmesgHeader } from '../records/dmesg/header.js';
import { decompress, workBufferSize, type Algorithm } from '../records/decompress/index.js';
import { concat, type Decoding } from './context.js';
import type { PstoreFile } from './types.js';

export function decodeDmesg(ctx: Decoding): void {
  const { layout, reads, warnings } = ctx;
  for (const z of layout.zones.filter((zz) => zz.kind === 'dmesg')) {
    if (ctx.stopped) break;
    const r = reads.get(z);
    if (!r || r.status !== 'ok') continue;
    const hdr = parseDmesgHeader(r.oldLog, ctx.signedSecs);
    if (!hdr) {
      warnings.push({
        code: 'dmesg-no-header',
        zone: `dmesg-${z.index}`,
        address: z.address,
        message: `dmesg zone ${z.index} at ${hex(z.address)} holds ${r.oldLog.length} bytes without a valid ==== header; the kernel drops and resets it`,
      });
      continue;
    }
    const payload = r.oldLog.subarray(hdr.length);
    if (payload.length === 0) {
      stopReading(ctx, `dmesg zone ${z.index} at ${hex(z.address)} has a header and no payload`);
      break;
    }
    const notice = eccNotice(r.ecc, ctx.prefix);
    const { bytes, name, compression, notes } = hdr.compressed
      ? inflate(ctx, z, payload)
      : { bytes: payload, name: `dmesg-ramoops-${z.index}`, compression: undefined, notes: [] };
    const nsec = ctx.usec1000 ? hdr.fraction * 1000n : hdr.fraction;
    const seconds = Number(BigInt.asIntN(64, hdr.seconds));
    ctx.files.push({
      name,
      type: 'dmesg',
      id: z.index,
      bytes: concat(bytes, notice),
      size: bytes.length + notice.length,
      mtime: seconds !== 0 ? { seconds, nanoseconds: Number(nsec) } : undefined,
      zones: [{ index: z.index, address: z.address }],
      ecc: r.ecc,
      compression,
      notes,
    });
  }
}

function stopReading(ctx: Decoding, why: string): void {
  ctx.stopped = true;
  ctx.warnings.push({ code: 'read-stopped', message: `${why}: the kernel stops reading this backend here, so no later record appears` });
}

interface Payload {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly compression: PstoreFile['compression'];
  readonly notes: string[];
}

function inflate({ config, reader, bufsize, rv, warnings }: Decoding, z: Zone, payload: Uint8Array): Payload {
  const notes: string[] = [];
  let name = `dmesg-ramoops-${z.index}`;
  const algorithm: Algorithm =
    reader === 'zlib'
      ? ((config.compress as Algorithm | undefined) ?? 'zlib')
      : reader === 'crypto'
        ? ((config.compress ?? 'deflate') as Algorithm)
        : 'deflate';
  const known = ['deflate', 'zlib', 'zstd', 'lzo', 'lz4', 'lz4hc', '842'].includes(algorithm);
  try {
    if (!known) throw new DecompressError(algorithm, `pstore.compress=${algorithm}: no decompressor is set up, the kernel cannot decompress`);
    const limit = workBufferSize(algorithm, bufsize, { inflate66: reader === 'inflate-raw-15', ...(rv ? workBufferRules(rv) : {}) });
    return { bytes: decompress(algorithm, payload, limit), name, compression: { algorithm, ok: true }, notes };
  } catch (e) {
    if (!isRamoopsError(e)) throw e;
    name += '.enc.z';
    notes.push(`decompression failed (${e.message}); kept compressed as the kernel does`);
    warnings.push({
      code: 'dmesg-decompress-failed',
      zone: `dmesg-${z.index}`,
      address: z.address,
      message: `dmesg zone ${z.index} at ${hex(z.address)}: ${e.message}; written as ${name}`,
    });
    return { bytes: payload, name, compression: { algorithm, ok: false, error: e.message }, notes };
  }
}
