/*
 * kdecompress ALG <cases >results: the kernel's decoders on many inputs in one process.
 * Each case: u32 length, u32 output capacity, bytes. Each result: s32 status (0 = success,
 * else the decoder's negative code), u32 output length, output bytes.
 */
#include <linux/lzo.h>
#include <linux/sw842.h>
#include <linux/lz4.h>

int main(int argc, char **argv)
{
	static u8 in[1 << 20], out[(1 << 21) + 64];
	u32 hdr[2];

	if (argc != 2)
		return 2;
	while (fread(hdr, 4, 2, stdin) == 2) {
		size_t olen = hdr[1];
		s32 st;
		u32 ol;
		int r;

		if (hdr[0] > sizeof(in) || hdr[1] > sizeof(out) - 64 || fread(in, 1, hdr[0], stdin) != hdr[0])
			return 2;
		if (!strcmp(argv[1], "lzo")) {
			r = lzo1x_decompress_safe(in, hdr[0], out, &olen);
		} else if (!strcmp(argv[1], "lz4")) {
			r = LZ4_decompress_safe((const char *)in, (char *)out, hdr[0], hdr[1]);
			olen = r < 0 ? 0 : r;
			r = r < 0 ? r : 0;
		} else {
			unsigned int o = olen;

			r = sw842_decompress(in, hdr[0], out, &o);
			olen = o;
		}
		st = r;
		ol = r ? 0 : olen;
		fwrite(&st, 4, 1, stdout);
		fwrite(&ol, 4, 1, stdout);
		fwrite(out, 1, ol, stdout);
	}
	return 0;
}
