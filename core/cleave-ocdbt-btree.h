/* cleave-ocdbt-btree.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Building an OCDBT B+tree from sorted key/value pairs: values above
 * max_inline_value_bytes go out of line, nodes are packed so their decoded
 * size stays within max_decoded_node_bytes (at least one entry a leaf, two
 * children an interior node), statistics filled in. Pure: every value and
 * node goes out through the caller's write function.
 */

#pragma once

#include "cleave-ocdbt-format.h"

G_BEGIN_DECLS

typedef struct
{
  const guint8 *key;
  gsize         key_len;
  const guint8 *value;
  gsize         value_len;
} CleaveOcdbtKeyValue;

gboolean cleave_ocdbt_btree_build (const CleaveOcdbtConfig   *config,
                                   const CleaveOcdbtKeyValue *pairs,
                                   gsize                      n_pairs,
                                   CleaveOcdbtWriteFunc       write,
                                   gpointer                   user_data,
                                   CleaveOcdbtVersion        *version_out,
                                   GError                   **error);

G_END_DECLS
