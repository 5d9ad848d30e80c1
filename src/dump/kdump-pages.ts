// kdump pages by pfn: the page descriptor found by the pfn's rank, the stored bytes read and
// decoded, through small bounded caches; or the reason the page is absent.
import { DecompressError, DumpFormatError, hex, isRamoopsError } from '../errors.js';
import { ByteReader } from '../bytes/reader.js';
import { decodePage, pageCompression, PAGE_FLAG, type PageCompression } from './codecs/page.js';
import type { KdumpBitmaps } from './kdump-bitmaps.js';
import { Lru, u64n, type KdumpGeometry } from './kdump-geometry.js';

// typedef struct page_desc (makedumpfile diskdump_mod.h; QEMU PageDescriptor): off_t offset,
// u32 size, u32 flags, u64 page_flags: 24 bytes in both classes.
const DESC_SIZE = 24;

const PAGE_CACHE = 64;
const DESC_BLOCK = 256;
const DESC_CACHE = 16;
/** Stored pages up to this size are also cached by content (see page()). */
const SMALL_PAGE_BYTES = 256;
const SMALL_CACHE = 64;

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

interface PageDesc {
  readonly offset: number;
  readonly size: number;
  readonly flags: number;
}

export interface KdumpPages {
  /** The page of `pfn`, or a reason it is absent. */
  page(pfn: number): Uint8Array | string;
  /** Number of pages decompressed so far (cache misses). */
  readonly decoded: () => number;
}

export function kdumpPages(g: KdumpGeometry, bitmaps: KdumpBitmaps): KdumpPages {
  const { h, source, descAt, pfnLimit, bitmapHalf } = g;
  const { bit, rank } = bitmaps;
  const firstIndex = h.split ? rank(h.startPfn) : 0;
  const desc = descriptorReader(g);
  const stored = storedPageDecoder(g);
  const page = (pfn: number): Uint8Array | string => {
    if (pfn < 0) return 'negative address';
    if (pfn >= pfnLimit) {
      return h.split && pfn < Math.min(h.maxMapnr, bitmapHalf * 8)
        ? `pfn ${hex(pfn)} is outside this split file's pfns ${hex(h.startPfn)}..${hex(h.endPfn)}`
        : `pfn ${hex(pfn)} is beyond the dump's last pfn ${hex(pfnLimit - 1)}`;
    }
    if (h.split && pfn < h.startPfn) return `pfn ${hex(pfn)} is outside this split file's pfns ${hex(h.startPfn)}..${hex(h.endPfn)}`;
    if (!bit(2, pfn)) {
      return bit(1, pfn)
        ? `pfn ${hex(pfn)} was RAM but was excluded from the dump (dump level ${h.dumpLevel})`
        : `pfn ${hex(pfn)} was not RAM in the dumped machine (not in the 1st bitmap)`;
    }
    const index = rank(pfn) - firstIndex;
    const d = desc(index);
    if (d === undefined)
      return `pfn ${hex(pfn)}: its page descriptor at file offset ${hex(descAt + index * DESC_SIZE)} lies past the end of the file (${hex(source.size)} bytes): truncated dump`;
    // An incomplete dump (the writer ran out of space) leaves unwritten descriptors zero.
    if (d.offset === 0 || d.size === 0)
      return `pfn ${hex(pfn)}: the page was never written (incomplete dump${h.status & PAGE_FLAG.incomplete ? ', the header says so' : ''})`;
    return stored.page(pfn, d, descAt + index * DESC_SIZE);
  };
  return { page, decoded: () => stored.decoded };
}

/** The index-th page descriptor, or undefined when the file ends before it. */
function descriptorReader({ source, descAt, h }: KdumpGeometry): (index: number) => PageDesc | undefined {
  const descCache = new Lru<number, Uint8Array>(DESC_CACHE);
  return (index) => {
    const block = Math.floor(index / DESC_BLOCK);
    let bytes = descCache.get(block);
    if (!bytes) {
      const at = descAt + block * DESC_BLOCK * DESC_SIZE;
      bytes = at < source.size ? source.read(at, DESC_BLOCK * DESC_SIZE) : new Uint8Array(0);
      descCache.set(block, bytes);
    }
    const o = (index % DESC_BLOCK) * DESC_SIZE;
    if (o + DESC_SIZE > bytes.length) return undefined;
    const r = new ByteReader(bytes, 'kdump page descriptor', h.littleEndian);
    return { offset: u64n(r, o, descAt + block * DESC_BLOCK * DESC_SIZE), size: r.u32At(o + 8), flags: r.u32At(o + 12) };
  };
}

/** The page a written descriptor points at, checked, read and decoded (through the caches). */
function storedPageDecoder({ source, bs }: KdumpGeometry): {
  page: (pfn: number, d: PageDesc, descFile: number) => Uint8Array | string;
  readonly decoded: number;
} {
  const pageCache = new Lru<number, Uint8Array>(PAGE_CACHE);
  const smallCache = new Lru<string, Uint8Array>(SMALL_CACHE);
  const state = {
    decoded: 0,
    page: (pfn: number, d: PageDesc, descFile: number): Uint8Array | string => {
      const cached = pageCache.get(d.offset);
      if (cached) return cached;
      const compression: PageCompression | undefined = pageCompression(d.flags);
      if (compression === undefined)
        throw new DumpFormatError('kdump', descFile, `page descriptor of pfn ${hex(pfn)} has flags ${hex(d.flags)} naming several compressions`);
      if (d.size > bs && compression === 'none')
        throw new DumpFormatError('kdump', descFile, `uncompressed page of pfn ${hex(pfn)} has size ${d.size}, not the block size ${bs}`);
      if (d.size > 2 * bs + 1024)
        throw new DumpFormatError('kdump', descFile, `page of pfn ${hex(pfn)} stored in ${d.size} bytes, more than any compressor needs for ${bs}`);
      const data = d.offset < source.size ? source.read(d.offset, d.size) : new Uint8Array(0);
      if (data.length < d.size) {
        return `pfn ${hex(pfn)}: its data at file offset ${hex(d.offset)}+${hex(d.size)} lies past the end of the file (${hex(source.size)} bytes): truncated dump`;
      }
      // Identical stored bytes decode to identical pages. makedumpfile below dump level 1 stores
      // every zero page separately (a few dozen bytes each); remembering small inputs by content
      // saves inflating them again, which dominated reading such dumps.
      const small = data.length <= SMALL_PAGE_BYTES ? `${d.flags}:${latin1(data)}` : undefined;
      const same = small !== undefined ? smallCache.get(small) : undefined;
      if (same) {
        pageCache.set(d.offset, same);
        return same;
      }
      let p: Uint8Array;
      try {
        p = decodePage(compression, data, bs);
      } catch (e) {
        if (isRamoopsError(e))
          throw new DecompressError(compression, `pfn ${hex(pfn)} (physical ${hex(pfn * bs)}), page data at file offset ${hex(d.offset)}: ${e.message}`);
        throw e;
      }
      state.decoded++;
      pageCache.set(d.offset, p);
      if (small !== undefined) smallCache.set(small, p);
      return p;
    },
  };
  return state;
}
