/* cleave-ocdbt-btree.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Writing an OCDBT B+tree, copy-on-write: a batch of puts and range deletes
 * is applied to an existing tree by rewriting only the nodes whose key
 * ranges it touches; every other subtree is referred to where it already
 * is, whoever wrote it. Values above max_inline_value_bytes go out of line;
 * rewritten nodes are packed so their decoded size stays within
 * max_decoded_node_bytes (at least one entry a leaf, two children an
 * interior node, except where only one is left). Statistics are kept. Pure:
 * nodes come in through the caller's load function and go out through its
 * write function.
 */

#pragma once

#include "cleave-ocdbt-encode.h"

G_BEGIN_DECLS

typedef struct
{
  const guint8 *key;
  gsize         key_len;
  const guint8 *value;
  gsize         value_len;
} CleaveOcdbtKeyValue;

/* Keys in [lo, hi); hi == NULL means no upper bound. */
typedef struct
{
  const guint8 *lo;
  gsize         lo_len;
  const guint8 *hi;
  gsize         hi_len;
} CleaveOcdbtRange;

/* Returns the node at @location, checked to have @height. *hold_out is
 * released (with the io's release function) once the node is no longer
 * needed. */
typedef const CleaveOcdbtBtreeNode *(*CleaveOcdbtBtreeLoadFunc) (const CleaveOcdbtLocation *location,
                                                                 guint8                     height,
                                                                 gpointer                  *hold_out,
                                                                 gpointer                   user_data,
                                                                 GError                   **error);

typedef struct
{
  const CleaveOcdbtConfig  *config;
  CleaveOcdbtBtreeLoadFunc  load;       /* may be NULL when the tree is empty */
  GDestroyNotify            release;
  CleaveOcdbtWriteFunc      write;
  gpointer                  user_data;
} CleaveOcdbtBtreeIO;

/* The new tree is (old minus @deletes) plus @puts. @puts must be strictly
 * increasing; @deletes sorted by lo, disjoint. @root and @version_out may
 * be the same. Only root, root_height and stats of @version_out are set. */
gboolean cleave_ocdbt_btree_apply (const CleaveOcdbtBtreeIO  *io,
                                   const CleaveOcdbtVersion  *root,
                                   const CleaveOcdbtKeyValue *puts,
                                   gsize                      n_puts,
                                   const CleaveOcdbtRange    *deletes,
                                   gsize                      n_deletes,
                                   CleaveOcdbtVersion        *version_out,
                                   GError                   **error);

/* A whole tree from sorted pairs (apply to an empty tree). */
gboolean cleave_ocdbt_btree_build (const CleaveOcdbtConfig   *config,
                                   const CleaveOcdbtKeyValue *pairs,
                                   gsize                      n_pairs,
                                   CleaveOcdbtWriteFunc       write,
                                   gpointer                   user_data,
                                   CleaveOcdbtVersion        *version_out,
                                   GError                   **error);

G_END_DECLS
