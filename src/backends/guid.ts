// GUIDs as EFI and CPER store them: the first three fields little-endian, the last eight bytes
// as they are. Compared as their canonical lower-case text.
import type { ByteReader } from '../bytes/reader.js';

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/** The 16 bytes at `at` as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
export function guidAt(r: ByteReader, at: number): string {
  const b = r.bytesAt(at, 16);
  const le = (from: number, n: number): string =>
    Array.from(b.subarray(from, from + n))
      .reverse()
      .map(hex2)
      .join('');
  const be = (from: number, n: number): string =>
    Array.from(b.subarray(from, from + n))
      .map(hex2)
      .join('');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${be(8, 2)}-${be(10, 6)}`;
}

/** LINUX_EFI_CRASH_GUID (include/linux/efi.h): the vendor GUID of efi-pstore's variables. */
export const LINUX_EFI_CRASH_GUID = 'cfc8fc79-be2e-4ddc-97f0-9f98bfe298a0';
/** CPER_CREATOR_PSTORE (drivers/acpi/apei/erst.c): the creator of every record pstore writes to ERST. */
export const CPER_CREATOR_PSTORE = '75a574e3-5052-4b29-8a8e-be2c6490b89d';
/** CPER section types of pstore's ERST records (drivers/acpi/apei/erst.c). */
export const CPER_SECTION_TYPE_DMESG = 'c197e04e-d545-4a70-9c17-a5549419eb12';
export const CPER_SECTION_TYPE_DMESG_Z = '4f118707-04dd-4055-b5dd-956d34ddfac6';
export const CPER_SECTION_TYPE_MCE = 'fe08ffbe-95e4-4be7-bc73-4096044a38fc';
/** EFI_SYSTEM_NV_DATA_FV_GUID: the file system GUID of a firmware volume holding variables (EDK2 MdePkg). */
export const EFI_SYSTEM_NV_DATA_FV_GUID = 'fff12b8d-7696-4c8b-a985-2747075b4f50';
/** Variable store signatures (EDK2 MdeModulePkg VariableFormat.h): authenticated and plain headers. */
export const EFI_AUTHENTICATED_VARIABLE_GUID = 'aaf32c78-947b-439a-a180-2e144ec37792';
export const EFI_VARIABLE_GUID = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';
