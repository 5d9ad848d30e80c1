#pragma once
struct hlist_node { struct hlist_node *next, **pprev; };
struct hlist_head { struct hlist_node *first; };
#define DECLARE_HASHTABLE(name, bits) struct hlist_head name[1 << (bits)]
#define HASH_SIZE(name) (ARRAY_SIZE(name))
#define hash_init(t) memset((t), 0, sizeof(t))
static inline u32 hash_64_generic(u64 val, unsigned bits){ return (u32)((val * 0x61C8864680B583EBull) >> (64 - bits)); }
static inline u32 hash_32_generic(u32 val, unsigned bits){ return (val * 0x61C88647u) >> (32 - bits); }
#define hash_min(val, bits) (sizeof(val) <= 4 ? hash_32_generic(val, bits) : hash_64_generic(val, bits))
#define HASH_BITS(name) ilog2(HASH_SIZE(name))
static inline void hlist_add_head(struct hlist_node *n, struct hlist_head *h){ struct hlist_node *f=h->first; n->next=f; if(f) f->pprev=&n->next; h->first=n; n->pprev=&h->first; }
static inline void hlist_del_init(struct hlist_node *n){ if(n->pprev){ struct hlist_node *next=n->next; *n->pprev=next; if(next) next->pprev=n->pprev; n->next=NULL; n->pprev=NULL; } }
static inline int hash_hashed(struct hlist_node *n){ return n->pprev != NULL; }
#define hash_add(t, node, key) hlist_add_head(node, &t[hash_min(key, HASH_BITS(t))])
#define hash_del(node) hlist_del_init(node)
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define hlist_entry_safe(ptr, type, member) ({ __typeof__(ptr) ____ptr = (ptr); ____ptr ? container_of(____ptr, type, member) : NULL; })
#define hlist_for_each_entry(pos, head, member) for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member); pos; pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), member))
#define hash_for_each_possible(name, obj, member, key) hlist_for_each_entry(obj, &name[hash_min(key, HASH_BITS(name))], member)
static inline void INIT_HLIST_NODE(struct hlist_node *h){ h->next = NULL; h->pprev = NULL; }
