// Optional native half of harness/io/parallel-search.ts: every offset of a byte string in a
// file, one thread per slice, each mapping its slice in small windows (so resident memory stays
// a few MiB whatever the file size) and comparing 32 bytes at a time. It spares the scan what
// the worker-thread path pays: a V8 isolate per worker and a copy of every byte into JS memory.
// Same answer as the JS path: ascending offsets, overlapping matches included, the first `max`.
// Reading through a mapping rather than pread() saves copying every byte (a third of the CPU
// time); the price, as for any mapped read (ripgrep's too), is that a file truncated while it
// is searched ends the process with SIGBUS. Dumps are not rewritten while scanned; where that
// is possible, RAMOOPS_NATIVE=0 selects the copying worker-thread search.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// 8 MiB windows: large enough that mmap/munmap costs nothing next to the search, small enough
// that two threads keep only 16 MiB of the file mapped (mapped pages count as resident).
#define WINDOW ((size_t)8 << 20)
// How often a thread reports progress.
#define REPORT ((size_t)64 << 20)
// Longest needle: a match may run up to needle-1 bytes past a window, into one extra page.
#define MAX_NEEDLE 4096
#define MAX_THREADS 64

typedef struct Hits {
  uint64_t *at;
  size_t len, cap;
} Hits;

// Report matches starting at p[0 .. positions) whose bytes lie within p[0 .. avail), as base + i.
// Returns -1 when out of memory, 1 when `max` is reached, else 0.
typedef int (*find_fn)(const uint8_t *p, size_t positions, size_t avail, const uint8_t *nd, size_t nlen, uint64_t base, Hits *h, size_t max);

typedef struct Job {
  int fd;
  uint64_t size;  // file size
  const uint8_t *needle;
  size_t nlen;
  uint64_t start, end;  // this thread's slice: match start offsets in [start, end)
  size_t max;
  Hits hits;
  int err;  // errno of a failed read, 0 if none
  struct Search *search;
} Job;

typedef struct Search {
  napi_async_work work;
  napi_deferred deferred;
  napi_threadsafe_function progress;  // NULL without a progress callback
  char *path;
  uint8_t needle[MAX_NEEDLE];
  size_t nlen;
  size_t max;
  int threads;
  find_fn find;  // the loop chosen when the search started
  int err;
  const char *err_what;
  Job jobs[MAX_THREADS];
} Search;

static int push_hit(Hits *h, uint64_t at) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    uint64_t *p = realloc(h->at, cap * sizeof *p);
    if (!p) return -1;
    h->at = p;
    h->cap = cap;
  }
  h->at[h->len++] = at;
  return 0;
}

static int check(const uint8_t *p, size_t i, const uint8_t *nd, size_t nlen, uint64_t base, Hits *h, size_t max) {
  if (memcmp(p + i, nd, nlen) != 0) return 0;
  if (push_hit(h, base + i)) return -1;
  return h->len >= max ? 1 : 0;
}

static int find_scalar(const uint8_t *p, size_t positions, size_t avail, const uint8_t *nd, size_t nlen, uint64_t base, Hits *h, size_t max) {
  if (avail < nlen) return 0;
  size_t last = avail - nlen + 1;  // one past the last position where the needle fits
  if (positions < last) last = positions;
  size_t i = 0;
  while (i < last) {
    const uint8_t *q = memchr(p + i, nd[0], last - i);
    if (!q) break;
    i = (size_t)(q - p);
    int r = check(p, i, nd, nlen, base, h, max);
    if (r) return r;
    i++;
  }
  return 0;
}

#if defined(__x86_64__)
// The first and the last needle byte compared 32 positions at a time, both must hit before a
// full comparison: in random data that is one candidate per 64 KiB instead of one per 256 bytes.
__attribute__((target("avx2"))) static int find_avx2(const uint8_t *p, size_t positions, size_t avail, const uint8_t *nd, size_t nlen, uint64_t base, Hits *h, size_t max) {
  if (avail < nlen) return 0;
  size_t last = avail - nlen + 1;
  if (positions < last) last = positions;
  const __m256i first = _mm256_set1_epi8((char)nd[0]);
  const __m256i tail = _mm256_set1_epi8((char)nd[nlen - 1]);
  size_t i = 0;
  // Loads reach p[i + 63 + nlen - 1]: stay below `avail`.
  for (; i + 64 <= last && i + 64 + nlen - 1 <= avail; i += 64) {
    // The hardware prefetcher stops at page ends; asking a page ahead keeps memory streaming.
    __builtin_prefetch(p + i + 4096);
    const __m256i a0 = _mm256_loadu_si256((const __m256i *)(p + i));
    const __m256i a1 = _mm256_loadu_si256((const __m256i *)(p + i + 32));
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)(p + i + nlen - 1));
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)(p + i + 32 + nlen - 1));
    const __m256i m0 = _mm256_and_si256(_mm256_cmpeq_epi8(a0, first), _mm256_cmpeq_epi8(b0, tail));
    const __m256i m1 = _mm256_and_si256(_mm256_cmpeq_epi8(a1, first), _mm256_cmpeq_epi8(b1, tail));
    const __m256i any = _mm256_or_si256(m0, m1);
    if (_mm256_testz_si256(any, any)) continue;
    uint64_t bits = (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32);
    while (bits) {
      int r = check(p, i + (size_t)__builtin_ctzll(bits), nd, nlen, base, h, max);
      if (r) return r;
      bits &= bits - 1;
    }
  }
  return find_scalar(p + i, last - i, avail - i, nd, nlen, base + i, h, max);
}

// SSE2 is part of x86-64 itself: the same scheme 16 positions at a time.
static int find_sse2(const uint8_t *p, size_t positions, size_t avail, const uint8_t *nd, size_t nlen, uint64_t base, Hits *h, size_t max) {
  if (avail < nlen) return 0;
  size_t last = avail - nlen + 1;
  if (positions < last) last = positions;
  const __m128i first = _mm_set1_epi8((char)nd[0]);
  const __m128i tail = _mm_set1_epi8((char)nd[nlen - 1]);
  size_t i = 0;
  for (; i + 16 <= last && i + 16 + nlen - 1 <= avail; i += 16) {
    if ((i & 4095) == 0) __builtin_prefetch(p + i + 4096);
    const __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
    const __m128i b = _mm_loadu_si128((const __m128i *)(p + i + nlen - 1));
    unsigned bits = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, tail)));
    while (bits) {
      int r = check(p, i + (size_t)__builtin_ctz(bits), nd, nlen, base, h, max);
      if (r) return r;
      bits &= bits - 1;
    }
  }
  return find_scalar(p + i, last - i, avail - i, nd, nlen, base + i, h, max);
}
#endif

static find_fn find_impl;
static const char *impl_name;

// Select an implementation by name ("avx2", "sse2", "scalar"; anything else: the best this CPU
// has). Tests run every one the CPU supports, since each must give the same answer.
static void pick_find(const char *want) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2");
  if (want && strcmp(want, "scalar") == 0) {
    find_impl = find_scalar, impl_name = "scalar";
  } else if ((want && strcmp(want, "sse2") == 0) || !avx2) {
    find_impl = find_sse2, impl_name = "sse2";
  } else {
    find_impl = find_avx2, impl_name = "avx2";
  }
#else
  (void)want;
  find_impl = find_scalar, impl_name = "scalar";
#endif
}

static void *run_job(void *arg) {
  Job *j = arg;
  Search *s = j->search;
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uint8_t *buf = NULL;  // pread fallback, for files that cannot be mapped
  size_t unreported = 0;
  for (uint64_t pos = j->start; pos < j->end; pos += WINDOW) {
    // Positions pos .. pos+positions-1 are ours; their bytes may run nlen-1 past them.
    size_t positions = (size_t)(j->end - pos < WINDOW ? j->end - pos : WINDOW);
    uint64_t want = positions + page;
    if (want > j->size - pos) want = j->size - pos;
    size_t avail = (size_t)want;
    const uint8_t *p = mmap(NULL, avail, PROT_READ, MAP_SHARED, j->fd, (off_t)pos);
    int mapped = p != MAP_FAILED;
    if (!mapped) {
      if (!buf && !(buf = malloc(WINDOW + page))) {
        j->err = ENOMEM;
        break;
      }
      size_t got = 0;
      while (got < avail) {
        ssize_t r = pread(j->fd, buf + got, avail - got, (off_t)(pos + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
          j->err = errno;
          break;
        }
        if (r == 0) break;
        got += (size_t)r;
      }
      if (j->err) break;
      avail = got;  // a file that shrank: search what is there, as the JS path does
      p = buf;
    }
    int r = s->find(p, positions, avail, s->needle, s->nlen, pos, &j->hits, j->max);
    if (mapped) munmap((void *)p, (size_t)want);
    if (r < 0) {
      j->err = ENOMEM;
      break;
    }
    if (r > 0) break;  // this slice has its `max`; later slices cannot come before it
    unreported += positions;
    if (s->progress && unreported >= REPORT) {
      uint64_t *n = malloc(sizeof *n);
      if (n) {
        *n = unreported;
        if (napi_call_threadsafe_function(s->progress, n, napi_tsfn_nonblocking) != napi_ok) free(n);
      }
      unreported = 0;
    }
  }
  if (s->progress && unreported) {
    uint64_t *n = malloc(sizeof *n);
    if (n) {
      *n = unreported;
      if (napi_call_threadsafe_function(s->progress, n, napi_tsfn_nonblocking) != napi_ok) free(n);
    }
  }
  free(buf);
  return NULL;
}

// Runs on a libuv pool thread: open, split into slices, one thread each.
static void execute(napi_env env, void *data) {
  (void)env;
  Search *s = data;
  int fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    s->err = errno;
    s->err_what = "open";
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    s->err = errno;
    s->err_what = "stat";
    close(fd);
    return;
  }
  uint64_t size = (uint64_t)st.st_size;
  // Slices are whole windows, so every window starts on a page boundary as mmap needs.
  uint64_t per = (size + (uint64_t)s->threads - 1) / (uint64_t)s->threads;
  per = (per + WINDOW - 1) / WINDOW * WINDOW;
  if (!per) per = WINDOW;
  pthread_t tid[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int k = 0; k < s->threads; k++) {
    Job *j = &s->jobs[k];
    j->fd = fd;
    j->size = size;
    j->needle = s->needle;
    j->nlen = s->nlen;
    j->start = (uint64_t)k * per < size ? (uint64_t)k * per : size;
    j->end = j->start + per < size ? j->start + per : size;
    j->max = s->max;
    j->search = s;
    // The last slice runs on this thread; the others on their own.
    if (k < s->threads - 1 && j->start < j->end) started[k] = pthread_create(&tid[k], NULL, run_job, j) == 0;
    if (k < s->threads - 1 && j->start < j->end && !started[k]) run_job(j);
  }
  Job *own = &s->jobs[s->threads - 1];
  if (own->start < own->end) run_job(own);
  for (int k = 0; k < s->threads - 1; k++)
    if (started[k]) pthread_join(tid[k], NULL);
  close(fd);
  for (int k = 0; k < s->threads; k++) {
    if (s->jobs[k].err) {
      s->err = s->jobs[k].err;
      s->err_what = "read";
      break;
    }
  }
}

static void free_search(Search *s) {
  for (int k = 0; k < s->threads; k++) free(s->jobs[k].hits.at);
  free(s->path);
  free(s);
}

// Resolve (or reject) the promise with the offsets, then free everything.
static void settle(napi_env env, Search *s) {
  napi_value result;
  if (s->err) {
    napi_value msg, code, err;
    char text[512];
    snprintf(text, sizeof text, "%s %s: %s", s->err_what ? s->err_what : "search", s->path, strerror(s->err));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, "ERR_RAMOOPS_NATIVE_SEARCH", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, s->deferred, err);
  } else {
    size_t total = 0;
    for (int k = 0; k < s->threads; k++) total += s->jobs[k].hits.len;
    if (total > s->max) total = s->max;
    napi_create_array_with_length(env, total, &result);
    size_t o = 0;
    for (int k = 0; k < s->threads && o < total; k++) {
      for (size_t i = 0; i < s->jobs[k].hits.len && o < total; i++) {
        napi_value v;
        // Offsets stay below 2^53 (8 PiB): exact as JS numbers.
        napi_create_double(env, (double)s->jobs[k].hits.at[i], &v);
        napi_set_element(env, result, (uint32_t)o++, v);
      }
    }
    napi_resolve_deferred(env, s->deferred, result);
  }
  free_search(s);
}

// The progress function is finalized once its queue is empty: only then is every progress
// call delivered, so the promise settles after the last one, never before.
static void progress_finalized(napi_env env, void *data, void *hint) {
  (void)hint;
  settle(env, data);
}

static void complete(napi_env env, napi_status status, void *data) {
  Search *s = data;
  napi_delete_async_work(env, s->work);
  if (status != napi_ok && !s->err) {
    s->err = ECANCELED;
    s->err_what = "search";
  }
  if (s->progress) napi_release_threadsafe_function(s->progress, napi_tsfn_release);
  else settle(env, s);
}

static void call_progress(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  uint64_t *n = data;
  if (env && fn) {
    napi_value undef, arg;
    napi_get_undefined(env, &undef);
    napi_create_double(env, (double)*n, &arg);
    napi_call_function(env, undef, fn, 1, &arg, NULL);
  }
  free(n);
}

#define THROW(env, msg)                          \
  do {                                           \
    napi_throw_type_error((env), NULL, (msg));   \
    return NULL;                                 \
  } while (0)

// findAll(path: string, needle: Uint8Array, max: number, threads: number, onProgress?: (bytes) => void): Promise<number[]>
static napi_value find_all(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) THROW(env, "findAll(path, needle, max, threads[, onProgress])");
  size_t plen;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &plen) != napi_ok) THROW(env, "path must be a string");
  napi_typedarray_type tt;
  size_t nlen;
  void *ndata;
  if (napi_get_typedarray_info(env, argv[1], &tt, &nlen, &ndata, NULL, NULL) != napi_ok || tt != napi_uint8_array) THROW(env, "needle must be a Uint8Array");
  if (nlen < 1 || nlen > MAX_NEEDLE) THROW(env, "needle must be 1..4096 bytes");
  double max, threads;
  if (napi_get_value_double(env, argv[2], &max) != napi_ok || napi_get_value_double(env, argv[3], &threads) != napi_ok) THROW(env, "max and threads must be numbers");
  if (!(threads >= 1)) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  Search *s = calloc(1, sizeof *s);
  if (!s) THROW(env, "out of memory");
  s->path = malloc(plen + 1);
  if (!s->path) {
    free(s);
    THROW(env, "out of memory");
  }
  napi_get_value_string_utf8(env, argv[0], s->path, plen + 1, &plen);
  memcpy(s->needle, ndata, nlen);
  s->nlen = nlen;
  s->max = max >= 1 ? (max > 9007199254740991.0 ? (size_t)-1 : (size_t)max) : 0;
  s->threads = (int)threads;
  s->find = find_impl;
  napi_value promise, name;
  napi_create_promise(env, &s->deferred, &promise);
  if (s->max == 0) {
    napi_value empty;
    napi_create_array(env, &empty);
    napi_resolve_deferred(env, s->deferred, empty);
    free_search(s);
    return promise;
  }
  napi_valuetype t = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &t);
  napi_create_string_utf8(env, "ramoops-search", NAPI_AUTO_LENGTH, &name);
  if (t == napi_function && napi_create_threadsafe_function(env, argv[4], NULL, name, 0, 1, s, progress_finalized, NULL, call_progress, &s->progress) != napi_ok) s->progress = NULL;
  napi_create_async_work(env, NULL, name, execute, complete, s, &s->work);
  napi_queue_async_work(env, s->work);
  return promise;
}

// useImpl(name?: string): string — select the search loop (for tests); returns the one in use.
// A search already running keeps the loop it started with.
static napi_value use_impl(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char want[16] = "";
  size_t len;
  if (argc >= 1 && napi_get_value_string_utf8(env, argv[0], want, sizeof want, &len) == napi_ok) pick_find(want);
  napi_create_string_utf8(env, impl_name, NAPI_AUTO_LENGTH, &out);
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  pick_find(NULL);
  napi_value fn;
  napi_create_function(env, "findAll", NAPI_AUTO_LENGTH, find_all, NULL, &fn);
  napi_set_named_property(env, exports, "findAll", fn);
  napi_create_function(env, "useImpl", NAPI_AUTO_LENGTH, use_impl, NULL, &fn);
  napi_set_named_property(env, exports, "useImpl", fn);
  return exports;
}
