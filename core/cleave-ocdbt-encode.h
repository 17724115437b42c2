/* cleave-ocdbt-encode.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Encoding of OCDBT objects: the envelope, B+tree nodes, version-tree nodes
 * and the manifest, byte-identical to tensorstore's uncompressed bodies.
 * Pure, like the decoders in cleave-ocdbt-format.h.
 */

#pragma once

#include "cleave-ocdbt-format.h"

G_BEGIN_DECLS

/* Encoding. Each data file table entry gets the base path its location
 * came with ("" for everything Cleave writes), so nodes another writer
 * wrote keep resolving their own tables; keys Cleave writes are full
 * (subtree_common_prefix_length 0), which tensorstore reads (spec §7.2). */

typedef struct
{
  const guint8        *key;
  gsize                key_len;
  /* Leaf entries: inline value bytes, or an out-of-line location. */
  CleaveOcdbtValueKind value_kind;
  const guint8        *value;
  guint64              value_length;
  CleaveOcdbtLocation  value_location;  /* file and offset, when indirect */
  /* Interior entries. A child written by another writer may hold keys
   * relative to a prefix; the entry then carries its length. */
  CleaveOcdbtLocation  child;
  CleaveOcdbtStats     child_stats;
  guint32              subtree_common_prefix_length;
} CleaveOcdbtEncodeEntry;

/* Appends @bytes (an encoded object or a raw value) to the commit's data
 * file and says where they landed. */
typedef gboolean (*CleaveOcdbtWriteFunc) (GBytes               *bytes,
                                          CleaveOcdbtLocation  *location_out,
                                          gpointer              user_data,
                                          GError              **error);

GBytes   *cleave_ocdbt_encode_envelope       (guint32                     magic,
                                              const guint8               *body,
                                              gsize                       len,
                                              const CleaveOcdbtConfig    *config);
GBytes   *cleave_ocdbt_btree_node_encode     (guint8                      height,
                                              const CleaveOcdbtEncodeEntry *entries,
                                              guint                       n_entries,
                                              const CleaveOcdbtConfig    *config);
GBytes   *cleave_ocdbt_version_node_encode   (const CleaveOcdbtVersionNode *node,
                                              const CleaveOcdbtConfig    *config);
GBytes   *cleave_ocdbt_manifest_encode       (const CleaveOcdbtManifest  *manifest);

G_END_DECLS
