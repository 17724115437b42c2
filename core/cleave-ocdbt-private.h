/* cleave-ocdbt-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The store handle's insides, shared by the reader (cleave-ocdbt.c) and
 * the writer (cleave-ocdbt-txn.c). Not installed.
 */

#pragma once

#include "cleave-ocdbt.h"

G_BEGIN_DECLS

/* Decoded B+tree nodes, keyed by (data file, offset), bounded by their
 * decoded bytes, least recently used out first. One cache serves a store
 * and all handles pinned from it; readers in several threads share it.
 * Data files are immutable, so entries stay valid across commits. */
typedef struct
{
  const char      *file;     /* interned */
  guint64          offset;
} NodeKey;

typedef struct
{
  gatomicrefcount       ref_count;
  NodeKey               key;
  CleaveOcdbtBtreeNode *node;
  GList                 link;   /* in the cache's LRU queue while cached */
  gboolean              cached;
} CachedNode;

typedef struct
{
  GMutex      lock;
  GHashTable *nodes;            /* NodeKey* -> CachedNode* (holds one ref) */
  GQueue      lru;              /* most recently used first */
  gsize       bytes;
  gsize       budget;
  guint64     hits;
  guint64     misses;
} NodeCache;

struct _CleaveOcdbt
{
  gatomicrefcount      ref_count;
  NodeCache           *cache;       /* owned by the unpinned handle */
  char                *dir;         /* where the manifest is */
  char                *base_dir;    /* a fork's base, or NULL */
  char                *data_prefix; /* where this store writes data files: "d/" or "<fork>_d/" */
  CleaveOcdbtConfig    config;      /* never changes for a store */
  /* A commit or refresh replaces these; readers on other threads take a
   * snapshot under @state. Pinned handles own a copy and never change. */
  GMutex               state;
  CleaveOcdbtManifest *manifest;
  CleaveOcdbtVersion   version;     /* the one this handle reads */
  CleaveOcdbt         *parent;      /* pinned handles share the parent's cache */
  GMutex               commit;      /* one commit at a time per handle */
  gboolean             no_sync;     /* skip fsync (benchmarks only) */
};

void                    _cleave_ocdbt_cached_node_unref (CachedNode *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CachedNode, _cleave_ocdbt_cached_node_unref)

void                    _cleave_ocdbt_set_io_error      (GError                         **error,
                                                         int                              errsv,
                                                         const char                      *path,
                                                         const char                      *doing);
char                   *_cleave_ocdbt_data_path         (CleaveOcdbt                     *store,
                                                         const char                      *file);
CachedNode             *_cleave_ocdbt_load_btree_node   (CleaveOcdbt                     *store,
                                                         const CleaveOcdbtLocation       *location,
                                                         guint8                           expected_height,
                                                         GError                         **error);
CleaveOcdbtVersionNode *_cleave_ocdbt_load_version_node (CleaveOcdbt                     *store,
                                                         const CleaveOcdbtVersionNodeRef *ref,
                                                         GError                         **error);
CleaveOcdbtManifest    *_cleave_ocdbt_read_manifest     (const char                      *dir,
                                                         GError                         **error);
void                    _cleave_ocdbt_adopt             (CleaveOcdbt                     *store,
                                                         CleaveOcdbtManifest             *manifest);

G_END_DECLS
