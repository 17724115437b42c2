/* cleave-ocdbt-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The store handle's insides, shared by the reader (cleave-ocdbt.c) and
 * the writer (cleave-ocdbt-txn.c). Not installed.
 */

#pragma once

#include "cleave-cache.h"
#include "cleave-ocdbt.h"

G_BEGIN_DECLS

/* Cache tags: what kind of object a (file, offset) entry holds. */
enum
{
  CACHE_TAG_BTREE_NODE = 1,
};

struct _CleaveOcdbt
{
  gatomicrefcount      ref_count;
  CleaveCache         *cache;       /* decoded B+tree nodes; owned by the unpinned handle */
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
  GMutex               files_lock;
  GHashTable          *files;       /* interned data file -> OpenFile; unpinned handle only */
};

void                    _cleave_ocdbt_open_file_unref   (gpointer                         file);
void                    _cleave_ocdbt_set_io_error      (GError                         **error,
                                                         int                              errsv,
                                                         const char                      *path,
                                                         const char                      *doing);
char                   *_cleave_ocdbt_data_path         (CleaveOcdbt                     *store,
                                                         const char                      *file);
/* The entry's value is the CleaveOcdbtBtreeNode. */
CleaveCacheEntry       *_cleave_ocdbt_load_btree_node   (CleaveOcdbt                     *store,
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
