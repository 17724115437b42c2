/* cleave-cache.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-cache.h"

struct _CleaveCache
{
  GMutex      lock;
  GHashTable *entries;          /* CleaveCacheEntry* (as key) -> itself; holds one ref */
  GQueue      lru;              /* most recently used first */
  gsize       bytes;
  gsize       budget;
  guint64     hits;
  guint64     misses;
};

static guint
entry_hash (gconstpointer p)
{
  const CleaveCacheEntry *e = p;
  guint64 h = e->offset * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + e->tag;

  return g_direct_hash (e->file) ^ (guint) (h >> 32) ^ (guint) h;
}

static gboolean
entry_equal (gconstpointer a,
             gconstpointer b)
{
  const CleaveCacheEntry *x = a, *y = b;
  return x->file == y->file && x->offset == y->offset && x->tag == y->tag;
}

void
cleave_cache_entry_unref (CleaveCacheEntry *e)
{
  if (e != NULL && g_atomic_ref_count_dec (&e->ref_count))
    {
      if (e->destroy)
        e->destroy (e->value);
      g_free (e);
    }
}

CleaveCache *
cleave_cache_new (gsize budget)
{
  CleaveCache *cache = g_new0 (CleaveCache, 1);

  g_mutex_init (&cache->lock);
  cache->entries = g_hash_table_new (entry_hash, entry_equal);
  g_queue_init (&cache->lru);
  cache->budget = budget;
  return cache;
}

/* With the lock held: drops least recently used entries until it fits. */
static void
trim (CleaveCache *cache)
{
  while (cache->bytes > cache->budget && cache->lru.tail != NULL)
    {
      CleaveCacheEntry *victim = cache->lru.tail->data;

      g_queue_unlink (&cache->lru, &victim->link);
      g_hash_table_remove (cache->entries, victim);
      cache->bytes -= victim->size;
      victim->cached = FALSE;
      cleave_cache_entry_unref (victim);
    }
}

void
cleave_cache_free (CleaveCache *cache)
{
  if (cache == NULL)
    return;
  cache->budget = 0;
  trim (cache);
  g_hash_table_unref (cache->entries);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

void
cleave_cache_set_budget (CleaveCache *cache,
                         gsize        budget)
{
  g_mutex_lock (&cache->lock);
  cache->budget = budget;
  trim (cache);
  g_mutex_unlock (&cache->lock);
}

void
cleave_cache_get_stats (CleaveCache *cache,
                        gsize       *bytes,
                        guint64     *hits,
                        guint64     *misses)
{
  g_mutex_lock (&cache->lock);
  if (bytes)
    *bytes = cache->bytes;
  if (hits)
    *hits = cache->hits;
  if (misses)
    *misses = cache->misses;
  g_mutex_unlock (&cache->lock);
}

CleaveCacheEntry *
cleave_cache_lookup (CleaveCache *cache,
                     const char  *file,
                     guint64      offset,
                     guint        tag)
{
  CleaveCacheEntry probe = { .file = file, .offset = offset, .tag = tag };
  CleaveCacheEntry *e;

  g_mutex_lock (&cache->lock);
  e = g_hash_table_lookup (cache->entries, &probe);
  if (e != NULL)
    {
      g_queue_unlink (&cache->lru, &e->link);
      g_queue_push_head_link (&cache->lru, &e->link);
      g_atomic_ref_count_inc (&e->ref_count);
      cache->hits++;
    }
  else
    cache->misses++;
  g_mutex_unlock (&cache->lock);
  return e;
}

CleaveCacheEntry *
cleave_cache_entry_new (gpointer       value,
                        gsize          size,
                        GDestroyNotify destroy)
{
  CleaveCacheEntry *e = g_new0 (CleaveCacheEntry, 1);

  e->value = value;
  e->size = size;
  e->destroy = destroy;
  e->link.data = e;
  g_atomic_ref_count_init (&e->ref_count);
  return e;
}

CleaveCacheEntry *
cleave_cache_insert (CleaveCache    *cache,
                     const char     *file,
                     guint64         offset,
                     guint           tag,
                     gpointer        value,
                     gsize           size,
                     GDestroyNotify  destroy)
{
  CleaveCacheEntry *e = cleave_cache_entry_new (value, size, destroy);
  CleaveCacheEntry *existing;

  e->file = file;
  e->offset = offset;
  e->tag = tag;

  g_mutex_lock (&cache->lock);
  existing = g_hash_table_lookup (cache->entries, e);
  if (existing != NULL)
    {
      g_atomic_ref_count_inc (&existing->ref_count);
      g_mutex_unlock (&cache->lock);
      cleave_cache_entry_unref (e);
      return existing;
    }
  if (size <= cache->budget)
    {
      g_atomic_ref_count_inc (&e->ref_count);   /* the cache's */
      e->cached = TRUE;
      g_hash_table_add (cache->entries, e);
      g_queue_push_head_link (&cache->lru, &e->link);
      cache->bytes += size;
      trim (cache);
    }
  g_mutex_unlock (&cache->lock);
  return e;
}
