// The records pstore writes to ERST: struct cper_pstore_record of drivers/acpi/apei/erst.c,
// a CPER record header (UEFI spec, appendix N; include/linux/cper.h struct
// cper_record_header, packed) followed by one section descriptor and the data.
import { ByteReader } from '../bytes/reader.js';
import { BackendFormatError } from '../errors.js';
import { guidAt } from './guid.js';

/** sizeof(struct cper_record_header) + sizeof(struct cper_section_descriptor). */
export const CPER_PSTORE_HEADER_SIZE = 128 + 72;
/** CPER_VALID_TIMESTAMP: validation bit saying the header's timestamp is set. */
const CPER_VALID_TIMESTAMP = 0x2;

export interface CperRecord {
  readonly recordLength: number;
  readonly recordId: bigint;
  /** pstore writes ktime_get_real_seconds() here: plain seconds, not the spec's BCD time. */
  readonly timestamp: bigint;
  readonly timestampValid: boolean;
  readonly creatorId: string;
  readonly sectionType: string;
  /** Bytes 200 .. record_length: what erst_reader() copies, whatever the section descriptor says. */
  readonly data: Uint8Array;
}

/**
 * One CPER record from the start of `bytes` (an ERST slot). Checks what the kernel checks:
 * the "CPER" signature (erst_write refuses others) and a record_length that holds at least
 * the two headers (erst_read_record: shorter is -EIO) and fits the slot.
 */
export function parseCperRecord(bytes: Uint8Array, fileOffset: number): CperRecord {
  const r = new ByteReader(bytes, 'CPER record', true);
  const sig = String.fromCharCode(...r.bytesAt(0, 4));
  if (sig !== 'CPER') throw new BackendFormatError('erst', fileOffset, `no CPER signature (found ${JSON.stringify(sig)})`);
  const recordLength = r.u32At(20);
  if (recordLength < CPER_PSTORE_HEADER_SIZE)
    throw new BackendFormatError(
      'erst',
      fileOffset,
      `CPER record_length ${recordLength} is shorter than the ${CPER_PSTORE_HEADER_SIZE} header bytes pstore writes`,
    );
  if (recordLength > bytes.length)
    throw new BackendFormatError('erst', fileOffset, `CPER record_length ${recordLength} runs past its ${bytes.length}-byte slot`);
  return {
    recordLength,
    recordId: r.u64At(96),
    timestamp: r.u64At(24),
    timestampValid: (r.u32At(16) & CPER_VALID_TIMESTAMP) !== 0,
    creatorId: guidAt(r, 64),
    // The first section descriptor follows the 128-byte header; its type sits at +16.
    sectionType: guidAt(r, 128 + 16),
    data: r.bytesAt(CPER_PSTORE_HEADER_SIZE, recordLength - CPER_PSTORE_HEADER_SIZE),
  };
}
