#!/bin/sh
# Builds the kernel's own LZO, LZ4 and 842 code (copied from a kernel source tree) as two host
# programs, with the small shims in shim/ standing in for kernel headers:
#   kcompress lzo|lzorle|lz4|lz4hc|842 <in >out       what pstore's compressors write
#   kdecompress lzo|lz4|842 <cases >results            batch mode of the kernel's decoders
# The vectors in ../ were made with kcompress from linux-source-6.1 (6.1.192); the differential
# test runs our decoders and kdecompress on the same damaged inputs.
# usage: build.sh KERNEL_SRC OUTDIR
set -eu
K=$1
O=$2
H=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$O/src" "$O/inc/linux"
for f in lib/lzo/lzo1x_compress.c lib/lzo/lzo1x_decompress_safe.c lib/lzo/lzodefs.h \
	lib/842/842_compress.c lib/842/842_decompress.c lib/842/842.h \
	lib/lz4/lz4_compress.c lib/lz4/lz4hc_compress.c lib/lz4/lz4_decompress.c lib/lz4/lz4defs.h; do
	cp "$K/$f" "$O/src/"
done
# The real one registers debugfs files; the shim keeps the counters as plain statics.
cp "$H/shim/842_debugfs.h" "$O/src/"
cp "$K/include/linux/lzo.h" "$K/include/linux/sw842.h" "$K/include/linux/lz4.h" "$O/inc/linux/"
set -- -O1 -w -include "$H/shim/prelude.h" -I"$H/shim" -I"$O/inc" -I"$O/src"
gcc "$@" -o "$O/kcompress" "$H/compress.c" "$O/src/lzo1x_compress.c" "$O/src/842_compress.c" "$O/src/lz4_compress.c" "$O/src/lz4hc_compress.c"
gcc "$@" -o "$O/kdecompress" "$H/decompress-batch.c" "$O/src/lzo1x_decompress_safe.c" "$O/src/842_decompress.c" "$O/src/lz4_decompress.c"
