#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <stdbool.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;
typedef u16 __be16; typedef u32 __be32; typedef u64 __be64;
#define likely(x) __builtin_expect(!!(x),1)
#define unlikely(x) __builtin_expect(!!(x),0)
#define EXPORT_SYMBOL_GPL(x)
#define EXPORT_SYMBOL(x)
#define MODULE_LICENSE(x)
#define MODULE_DESCRIPTION(x)
#define MODULE_AUTHOR(x)
#define module_init(x)
#define module_exit(x)
#define module_param_named(a,b,c,d)
#define module_param(a,b,c)
#define MODULE_PARM_DESC(a,b)
#define __init
#define __exit
#define __always_inline inline __attribute__((always_inline))
#define noinline __attribute__((noinline))
#define pr_debug(...) do{}while(0)
#define pr_err(...) fprintf(stderr, __VA_ARGS__)
#define WARN(c, ...) ({ int __c = !!(c); if (__c) fprintf(stderr, __VA_ARGS__); __c; })
#define min(a,b) ((a)<(b)?(a):(b))
#define max(a,b) ((a)>(b)?(a):(b))
#define min_t(t,a,b) ((t)(a)<(t)(b)?(t)(a):(t)(b))
#define DIV_ROUND_UP(n,d) (((n)+(d)-1)/(d))
#define round_down(x,y) ((x) & ~((__typeof__(x))((y)-1)))
#define GENMASK_ULL(h,l) (((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define BUILD_BUG_ON(x)
#define ARRAY_SIZE(a) (sizeof(a)/sizeof((a)[0]))
static inline u16 get_unaligned_le16(const void *p){u16 v; memcpy(&v,p,2); return v;}
static inline u32 get_unaligned_le32(const void *p){u32 v; memcpy(&v,p,4); return v;}
static inline void put_unaligned_le32(u32 v, void *p){memcpy(p,&v,4);}
static inline void put_unaligned_le16(u16 v, void *p){memcpy(p,&v,2);}
#define get_unaligned(p) ({ __typeof__(*(p)) __v; memcpy(&__v, (p), sizeof(__v)); __v; })
#define put_unaligned(v, p) do { __typeof__(*(p)) __v = (v); memcpy((p), &__v, sizeof(__v)); } while (0)
#define be16_to_cpu(x) __builtin_bswap16(x)
#define be32_to_cpu(x) __builtin_bswap32(x)
#define be64_to_cpu(x) __builtin_bswap64(x)
#define cpu_to_be16(x) __builtin_bswap16(x)
#define cpu_to_be32(x) __builtin_bswap32(x)
#define cpu_to_be64(x) __builtin_bswap64(x)
#define CONFIG_X86_64 1
#define CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS 1
#include <limits.h>
#undef __BIG_ENDIAN
typedef struct { int counter; } atomic_t;
#define atomic_inc(x) ((x)->counter++)
static inline u32 crc32_be(u32 crc, const u8 *p, size_t len) {
  while (len--) { crc ^= (u32)*p++ << 24; for (int i = 0; i < 8; i++) crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1; }
  return crc;
}
static inline int fls(unsigned x){ return x ? 32 - __builtin_clz(x) : 0; }
#define BITS_PER_LONG 64
#define ilog2(n) (63 - __builtin_clzll(n))
#define round_up(x,y) ((((x)-1) | ((__typeof__(x))((y)-1)))+1)
