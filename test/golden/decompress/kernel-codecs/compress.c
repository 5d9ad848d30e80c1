/* kcompress ALG <in >out: compress stdin the way pstore's crypto compressors do (4.17 .. 6.5). */
#include <linux/lzo.h>
#include <linux/sw842.h>
#include <linux/lz4.h>

int main(int argc, char **argv)
{
	static u8 in[1 << 20], out[1 << 21], wrk[1 << 21];
	size_t n = fread(in, 1, sizeof(in), stdin);
	size_t olen = sizeof(out);
	int r;

	if (argc != 2)
		return 2;
	if (!strcmp(argv[1], "lzo")) {
		r = lzo1x_1_compress(in, n, out, &olen, wrk);
	} else if (!strcmp(argv[1], "lzorle")) {
		r = lzorle1x_1_compress(in, n, out, &olen, wrk);
	} else if (!strcmp(argv[1], "lz4") || !strcmp(argv[1], "lz4hc")) {
		/* crypto/lz4.c: LZ4_compress_default; crypto/lz4hc.c: LZ4_compress_HC at level 9 */
		int c = !strcmp(argv[1], "lz4") ? LZ4_compress_default((char *)in, (char *)out, n, sizeof(out), wrk)
						: LZ4_compress_HC((char *)in, (char *)out, n, sizeof(out), LZ4HC_DEFAULT_CLEVEL, wrk);
		r = c > 0 ? 0 : -1;
		olen = c;
	} else if (!strcmp(argv[1], "842")) {
		unsigned int o = sizeof(out);

		r = sw842_compress(in, n, out, &o, wrk);
		olen = o;
	} else {
		return 2;
	}
	if (r) {
		fprintf(stderr, "compress failed %d\n", r);
		return 1;
	}
	fwrite(out, 1, olen, stdout);
	return 0;
}
