/*
 * Baseline for test/bench/ecc.ts: times Phil Karn's libfec decode_rs_char over the same blocks
 * the TypeScript codec is timed on, with the ramoops code parameters
 * (symsize 8, gfpoly 0x11d, fcr 0, prim 1, nroots E, shortened to data length + E).
 *
 * usage: libfec-bench BLOCKS_FILE DATA_LEN NROOTS MIN_SECONDS [OUT_PREFIX]
 *   BLOCKS_FILE  N records of DATA_LEN data bytes followed by NROOTS parity bytes
 *   OUT_PREFIX   if given, one decoded pass is written to OUT_PREFIX.data (the records after
 *                decoding) and OUT_PREFIX.ret (int32 little-endian return value per record),
 *                so the caller can compare verdicts and corrections with its own decoder.
 * prints one JSON line: {"blocks":N,"passes":P,"seconds":S,"sum":R,"failed":F}
 *   sum/failed: sum of non-negative returns and number of -1 returns over one pass.
 *
 * Every pass restores the records from the pristine copy first (decoding corrects in place);
 * the copy is part of the timed loop, as it is on the TypeScript side. Time is this process's
 * CPU time, like the TypeScript side's, so that a busy machine skews both the same way.
 */
#include <fec.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s BLOCKS_FILE DATA_LEN NROOTS MIN_SECONDS [OUT_PREFIX]\n", argv[0]);
    return 2;
  }
  const int data_len = atoi(argv[2]);
  const int nroots = atoi(argv[3]);
  const double min_seconds = atof(argv[4]);
  const int rec = data_len + nroots;
  size_t total;
  unsigned char *orig = read_file(argv[1], &total);
  if (!orig || rec <= 0 || rec > 255 || total % (size_t)rec != 0) {
    fprintf(stderr, "bad input %s (record %d bytes)\n", argv[1], rec);
    return 2;
  }
  const size_t blocks = total / (size_t)rec;
  void *rs = init_rs_char(8, 0x11d, 0, 1, nroots, 255 - nroots - data_len);
  if (!rs) {
    fprintf(stderr, "init_rs_char failed\n");
    return 2;
  }
  unsigned char *work = malloc(total);
  int32_t *ret = malloc(blocks * sizeof(int32_t));
  if (!work || !ret) return 2;

  long passes = 0;
  const double t0 = now();
  double elapsed;
  do {
    memcpy(work, orig, total);
    for (size_t b = 0; b < blocks; b++) ret[b] = decode_rs_char(rs, work + b * (size_t)rec, NULL, 0);
    passes++;
    elapsed = now() - t0;
  } while (elapsed < min_seconds);

  long sum = 0, failed = 0;
  for (size_t b = 0; b < blocks; b++) {
    if (ret[b] < 0) failed++;
    else sum += ret[b];
  }
  if (argc > 5) {
    char path[4096];
    snprintf(path, sizeof path, "%s.data", argv[5]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(work, 1, total, f) != total) return 3;
    fclose(f);
    snprintf(path, sizeof path, "%s.ret", argv[5]);
    f = fopen(path, "wb");
    if (!f || fwrite(ret, sizeof(int32_t), blocks, f) != blocks) return 3;
    fclose(f);
  }
  printf("{\"blocks\":%zu,\"passes\":%ld,\"seconds\":%.6f,\"sum\":%ld,\"failed\":%ld}\n", blocks, passes, elapsed, sum, failed);
  free_rs_char(rs);
  free(work);
  free(ret);
  free(orig);
  return 0;
}
