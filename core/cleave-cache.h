/* cleave-cache.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A cache of decoded objects bounded by their bytes, least recently used
 * out first, safe to share between threads. Keys are (interned file,
 * offset, tag): OCDBT data files never change, so where an object's bytes
 * live identifies its content for good, across generations. The OCDBT
 * store keeps its B+tree nodes here; volumes keep decoded chunks.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CleaveCache CleaveCache;

/* A cached object; hold a reference while using @value. */
typedef struct _CleaveCacheEntry CleaveCacheEntry;
struct _CleaveCacheEntry
{
  gpointer value;
  gsize    size;
  /*< private >*/
  gatomicrefcount ref_count;
  GDestroyNotify  destroy;
  const char     *file;
  guint64         offset;
  guint           tag;
  GList           link;
  gboolean        cached;
};

CleaveCache      *cleave_cache_new         (gsize             budget);
void              cleave_cache_free        (CleaveCache      *cache);
void              cleave_cache_set_budget  (CleaveCache      *cache,
                                            gsize             budget);
void              cleave_cache_get_stats   (CleaveCache      *cache,
                                            gsize            *bytes,
                                            guint64          *hits,
                                            guint64          *misses);

/* A new reference, or NULL. @file must be interned. */
CleaveCacheEntry *cleave_cache_lookup      (CleaveCache      *cache,
                                            const char       *file,
                                            guint64           offset,
                                            guint             tag);
/* Takes @value (freed with @destroy); returns a reference to what the
 * cache holds for the key, which is another thread's value when it got
 * there first. An object larger than the budget is returned uncached. */
CleaveCacheEntry *cleave_cache_insert      (CleaveCache      *cache,
                                            const char       *file,
                                            guint64           offset,
                                            guint             tag,
                                            gpointer          value,
                                            gsize             size,
                                            GDestroyNotify    destroy);
/* An entry that lives outside any cache (for objects not worth caching),
 * so callers handle cached and uncached objects alike. */
CleaveCacheEntry *cleave_cache_entry_new   (gpointer          value,
                                            gsize             size,
                                            GDestroyNotify    destroy);
void              cleave_cache_entry_unref (CleaveCacheEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveCacheEntry, cleave_cache_entry_unref)

G_END_DECLS
