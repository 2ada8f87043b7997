/*
 * The native block classification pass (lib/objects/classify-pass.ts, bytes; lib/objects/classify-pass.x86_64.s,
 * their assembly source). This C file is where that assembly comes from:
 *
 *   gcc -O2 -S -masm=intel -fno-asynchronous-unwind-tables -fno-jump-tables -fno-stack-protector -fcf-protection=none \
 *       -fno-pic -ffreestanding -fno-builtin -mno-red-zone -mgeneral-regs-only -o - tools/classify-pass.c
 *
 * (`bun tools/classify-pass.ts` runs that and rewrites the .s; `bun tools/assemble.ts --write` then the bytes.)
 * It is the JavaScript classifier's per-pool scan (lib/objects/classify.ts: Scanner.#scanPool and #classify) line for
 * line, over the same words: a change to one is made to the other, and tests/classify_native_test.ts compares both
 * on every CPython. Position-independent, no calls, no data of its own: everything is in the Job the caller fills.
 */
typedef unsigned long long u64;
typedef long long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef unsigned char u8;

/* Kinds (lib/objects/classify.ts KIND). */
#define NEVER_USED 0
#define FREE 1
#define BUFFER 3
#define LIST_ITEMS 4
#define INSTANCE_VALUES 8
#define ODICT_INDEX 9
#define FIRST_TYPE 15 /* KIND.FIRST_TYPE; lib/objects/classify-pass.ts NATIVE_FIRST_TYPE says which the bytes were built with */
#define PENDING 0xffff
#define OWNED_DICT 255

/* Per type id, TYPE_WORDS i32: pre, min, shortAt, full, dictAt, valuesAt, nfields, (field, label) x 4. */
#define TYPE_WORDS 16

/* A hash slot: key (u64, 0 = empty), value (i32 in vals: a type id, -1 not a type, -2 met but not decided yet). */
#define UNDECIDED (-2)

struct Job {
  const u64 *src;      /*   0  per pool of the batch: where its bytes are (P_ABSOLUTE: an address in this process,
                                else a byte offset in `words`; ~0: unreadable) */
  const u64 *addr;     /*   8  per pool: its address in the heap's process */
  const u8 *cls;       /*  16  per pool: its size class per the walk */
  const u32 *base;     /*  24  per pool: global index of its first block */
  u64 npools;          /*  32 */
  const u32 *params;   /*  40  see P_* */
  u64 *keys;           /*  48  hash keys */
  i32 *vals;           /*  56  hash values */
  const i32 *types;    /*  64  TYPE_WORDS per type id */
  const u64 *mapStart; /*  72  readable mappings, sorted, merged */
  const u64 *mapEnd;   /*  80 */
  u64 nmaps;           /*  88 */
  u16 *kinds;          /*  96  every block's kind (global index): the second argument, stored here */
  u32 *pending;        /* 104  out: (pool, block) pairs left PENDING */
  u32 *unknown;        /* 112  out: hash slots of candidates met for the first time */
  u64 *refs;           /* 120  out: (pointer, label | from << 32, aux) per pointer to a buffer */
  u32 *counts;         /* 128  out: pending pairs, unknown, refs, first torn pool + 1 (0: none); in/out: hash fill;
                                in: 1 at [5] to speculate (a candidate not in the table is counted, never added) */
  const u32 *list;     /* 136  list mode: (pool, block) pairs to classify again; 0: scan the pools */
  u64 nlist;           /* 144 */
};

enum {
  P_POOL_SIZE, P_OVERHEAD, P_CLASSES, P_ALIGN, P_DATA, P_DEBUG, P_NOFS, P_OFS0, P_OFS1, P_OFS2,
  P_FLAGS_IN_REFCNT, P_IMMORTAL, P_MASK, P_SHIFT, P_TAGGED, P_ABSOLUTE,
};

/* The u64 at u32 index i of w; i may be negative (3.11+'s managed __dict__ and values sit before the object). */
static inline u64 u64at(const u32 *w, i64 i) { return (u64)w[i] | (u64)w[i + 1] << 32; }

static int readable(const struct Job *j, u64 a) {
  /* lastAtOrBelow(starts, a), then a + 16 <= ends[at] */
  u64 lo = 0, hi = j->nmaps;
  while (lo < hi) {
    u64 mid = (lo + hi) >> 1;
    if (j->mapStart[mid] <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && a + 16 <= j->mapEnd[lo - 1];
}

static void ref(const struct Job *j, u64 p, u32 label, u32 from, u64 aux) {
  if (p == 0) return;
  u32 n = j->counts[2]++;
  j->refs[3 * n] = p;
  j->refs[3 * n + 1] = (u64)label | (u64)from << 32;
  j->refs[3 * n + 2] = aux;
}

/* The kind of the allocated block whose data starts at x with `avail` usable bytes (Scanner.#classify). */
/*
 * `last` caches the slot of the last candidate found decided (a pool's blocks are mostly of one or two types): the
 * same address skips the hash. Only decided slots are cached; the table never loses or moves an entry in a call.
 */
static inline __attribute__((always_inline)) u32 classify(const struct Job *j, const u32 *x, i64 avail, u32 at,
                                                          u64 *last_tp, u32 *last_s) {
  const u32 *P = j->params;
  int unknown = 0;
  for (u32 n = 0; n < P[P_NOFS]; n++) {
    i64 o = P[P_OFS0 + n];
    if (o + 16 > avail) break;
    const u32 *y = x + (o >> 2);
    u32 r = y[0], h = y[1];
    if (r == 0) continue;
    if (P[P_FLAGS_IN_REFCNT] ? (h & 0xffff) != 0 : h != 0) continue;
    if (r >= 0x10000 && (r & 7) == 0 && h == 0 && !(P[P_IMMORTAL] && r >= 0x80000000u) && readable(j, r)) continue;
    u32 lo = y[2], hi = y[3];
    if ((lo & 7) != 0 || hi >= 0x8000 || (hi == 0 && lo < 4096)) continue;
    u64 tp = (u64)hi << 32 | lo;
    u32 s;
    if (tp == *last_tp) s = *last_s;
    else {
      u32 mask = P[P_MASK];
      s = ((lo ^ (lo >> 16) ^ hi) * 0x9e3779b1u) >> P[P_SHIFT]; /* the high bits: lo is a multiple of 8 */
      while (j->keys[s] != tp && j->keys[s] != 0) s = (s + 1) & mask;
    }
    if (j->keys[s] == 0) {
      if (j->counts[5]) { /* speculating on a copy of the table: a miss makes the batch the caller's to redo */
        j->counts[1]++;
        unknown = 1;
        continue;
      }
      j->keys[s] = tp;
      j->vals[s] = UNDECIDED;
      j->unknown[j->counts[1]++] = s;
      j->counts[4]++;
      unknown = 1;
      continue;
    }
    i32 id = j->vals[s];
    if (id == UNDECIDED) {
      unknown = 1;
      continue;
    }
    *last_tp = tp;
    *last_s = s;
    if (id < 0) continue;
    const i32 *t = j->types + (u64)id * TYPE_WORDS;
    if (t[0] != o || o + t[1] > avail) continue;
    i32 sh = t[2];
    if (sh != 0 && o + t[3] > avail && ((y[sh >> 2] >> ((sh & 3) * 8)) & 0xff) != 0) continue;
    for (i32 f = 0; f < t[6]; f++) {
      i32 field = t[7 + 2 * f], label = t[8 + 2 * f];
      u64 aux = label == ODICT_INDEX ? u64at(y, (i64)(field + 8) >> 2) : 0;
      ref(j, u64at(y, (i64)field >> 2), label, at, aux);
    }
    if (t[4] != 0) ref(j, u64at(y, (i64)t[4] >> 2), OWNED_DICT, at, 0);
    if (t[5] != 0 && o >= 32) {
      u64 v = u64at(y, (i64)t[5] >> 2);
      if (!P[P_TAGGED]) ref(j, v, INSTANCE_VALUES, at, 0);
      else if (v & 1) ref(j, v + 1, INSTANCE_VALUES, at, 0);
    }
    return FIRST_TYPE + id;
  }
  return unknown ? PENDING : BUFFER;
}

/* One pool (Scanner.#scanPool): 0 when its header or free list does not make sense. */
static int scan_pool(const struct Job *j, const u8 *words, u64 p) {
  const u32 *P = j->params;
  if (j->src[p] == ~0ull) return 0;
  const u32 *w = (const u32 *)(P[P_ABSOLUTE] ? (const u8 *)j->src[p] : words + j->src[p]);
  u32 poolSize = P[P_POOL_SIZE], overhead = P[P_OVERHEAD];
  u32 count = w[0], sz = w[9], next = w[10];
  if (sz >= P[P_CLASSES] || sz != j->cls[p]) return 0;
  u32 size = (sz + 1) << P[P_ALIGN];
  if (w[11] != poolSize - size || next < overhead || next > poolSize) return 0;
  u32 carved = (next - overhead) / size;
  u32 cap = (poolSize - overhead) / size;
  u16 *kinds = j->kinds + j->base[p];
  if (count == 0) {
    for (u32 k = 0; k < carved; k++) kinds[k] = FREE;
    for (u32 k = carved; k < cap; k++) kinds[k] = NEVER_USED;
    return 1;
  }
  if (count > carved) return 0;
  for (u32 k = 0; k < carved; k++) kinds[k] = BUFFER;
  for (u32 k = carved; k < cap; k++) kinds[k] = NEVER_USED;
  u64 poolAddr = j->addr[p];
  u64 fb = u64at(w, 2);
  u32 nfree = 0;
  while (fb != 0) {
    i64 off = (i64)(fb - poolAddr);
    if (off < (i64)overhead || off >= (i64)next || (u64)(off - overhead) % size != 0 || nfree >= carved) return 0;
    u32 k = (u32)((u64)(off - overhead) / size);
    if (kinds[k] == FREE) return 0;
    kinds[k] = FREE;
    nfree++;
    fb = u64at(w, off >> 2);
  }
  if (carved - nfree != count) return 0;
  u32 d = P[P_DATA];
  i64 avail = (i64)size - P[P_DEBUG];
  u64 last_tp = 0;
  u32 last_s = 0;
  for (u32 k = 0; k < carved; k++) {
    if (kinds[k] == FREE) continue;
    u32 kind = classify(j, w + ((overhead + k * size + d) >> 2), avail, j->base[p] + k, &last_tp, &last_s);
    kinds[k] = (u16)kind;
    if (kind == PENDING) {
      u32 n = j->counts[0]++;
      j->pending[2 * n] = (u32)p;
      j->pending[2 * n + 1] = k;
    }
  }
  return 1;
}

/*
 * Scan the batch's pools, or (list mode) classify the listed blocks again once their candidates are decided (a block
 * still PENDING then is a buffer). Stops at the first torn pool (counts[3] = its position + 1): the caller then does
 * the whole batch in JavaScript, whose retries and order of pointers this does not reproduce.
 */
static void batch(struct Job *j, u16 *kinds, const u8 *words);
void classify_batch(struct Job *j, u16 *kinds, const u8 *words) { batch(j, kinds, words); }

/* (static, so that `speculate` calls it directly: a call to a global symbol would be left to the linker) */
static void batch(struct Job *j, u16 *kinds, const u8 *words) {
  const u32 *P = j->params;
  j->kinds = kinds;
  if (j->list) {
    for (u64 i = 0; i < j->nlist; i++) {
      u64 p = j->list[2 * i], k = j->list[2 * i + 1];
      const u32 *w = (const u32 *)(P[P_ABSOLUTE] ? (const u8 *)j->src[p] : words + j->src[p]);
      u32 size = ((u32)j->cls[p] + 1) << P[P_ALIGN];
      u64 last_tp = 0;
      u32 last_s = 0;
      u32 kind = classify(j, w + ((P[P_OVERHEAD] + k * size + P[P_DATA]) >> 2), (i64)size - P[P_DEBUG],
                          j->base[p] + (u32)k, &last_tp, &last_s);
      j->kinds[j->base[p] + k] = (u16)(kind == PENDING ? BUFFER : kind);
    }
    return;
  }
  for (u64 p = 0; p < j->npools; p++) {
    if (!scan_pool(j, words, p)) {
      j->counts[3] = (u32)p + 1;
      return;
    }
  }
}

/*
 * The per-pool sums ObjectsSnapshot makes of a classification (lib/objects/snapshot.ts): for each pool, how many of
 * its blocks have each kind, as `n, (kind, count) x n` in `out` (kinds in the order first met, as the JavaScript
 * loop meets them). `scratch` holds a zeroed u32 per kind and is left zeroed. Returns the words written, or ~0 when
 * they would pass `cap` (the caller then sums in JavaScript).
 */
u64 count_kinds(const u16 *kinds, const u32 *poolBase, u64 npools, u32 *scratch, u32 *out, u64 cap) {
  u64 pos = 0;
  for (u64 p = 0; p < npools; p++) {
    u64 head = pos++, n = 0;
    if (pos > cap) return ~0ull;
    for (u32 i = poolBase[p]; i < poolBase[p + 1]; i++) {
      u32 k = kinds[i];
      if (scratch[k]++ == 0) {
        if (pos + 2 > cap) return ~0ull;
        out[pos] = k;
        pos += 2;
        n++;
      }
    }
    out[head] = (u32)n;
    for (u64 e = 0; e < n; e++) {
      u32 k = out[head + 1 + 2 * e];
      out[head + 2 + 2 * e] = scratch[k];
      scratch[k] = 0;
    }
  }
  return pos;
}

/*
 * The second thread of an in-process classification (lib/objects/classify-pass.ts, `speculate`): batches of pools
 * classified ahead on a copy of the hash table (counts[5] = 1), into kinds and refs of its own, while the calling
 * thread does the batches before them. A batch is clean when it met no candidate the copy lacks, left nothing
 * pending and found no torn pool: then it is exactly what the calling thread would have made of it (a decision never
 * changes), and the caller takes it; any other batch the caller does again itself. Reads only native memory (the
 * heap, under the caller's GIL, and the Spec's copies), never the runtime's.
 */
struct Spec {
  struct Job *job;    /*  0  the thread's job: its copies of the table, types, mappings, params; counts[5] = 1 */
  const u32 *batches; /*  8  first pool of each batch, nbatches + 1 of them */
  u64 nbatches;       /* 16 */
  u32 *result;        /* 24  per batch: clean, first ref, refs */
  u64 refsCap;        /* 32  refs the job's refs array holds */
  u16 *kinds;         /* 40  the thread's kinds, indexed by global block */
  const u64 *src;     /* 48  every pool's: bytes (absolute), address, size class, first block */
  const u64 *addr;    /* 56 */
  const u8 *cls;      /* 64 */
  const u32 *base;    /* 72 */
};

void *speculate(struct Spec *s) {
  struct Job *j = s->job;
  u64 *refs = j->refs;
  u64 used = 0;
  for (u64 b = 0; b < s->nbatches; b++) {
    u32 p0 = s->batches[b], p1 = s->batches[b + 1];
    u64 blocks = s->base[p1] - s->base[p0];
    u32 *r = s->result + 3 * b;
    r[0] = 0;
    r[1] = (u32)used;
    r[2] = 0;
    if (used + 5 * blocks > s->refsCap) continue;
    j->src = s->src + p0;
    j->addr = s->addr + p0;
    j->cls = s->cls + p0;
    j->base = s->base + p0;
    j->npools = p1 - p0;
    j->refs = refs + 3 * used;
    j->list = 0;
    j->counts[0] = j->counts[1] = j->counts[2] = j->counts[3] = 0;
    batch(j, s->kinds, 0);
    if (j->counts[0] == 0 && j->counts[1] == 0 && j->counts[3] == 0) {
      r[0] = 1;
      r[2] = j->counts[2];
      used += j->counts[2];
    }
  }
  j->refs = refs;
  return 0;
}
