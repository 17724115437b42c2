/* cleave-ocdbt-vtree.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Appending a generation to an OCDBT manifest's version tree exactly as
 * tensorstore does (spec/ocdbt.md §6.4), so that readers' alignment checks
 * hold and the tree stays shallow. Pure: nodes are read and written through
 * the caller's functions.
 */

#pragma once

#include "cleave-ocdbt-encode.h"

G_BEGIN_DECLS

/* Reads back a version-tree node written earlier. */
typedef CleaveOcdbtVersionNode *(*CleaveOcdbtVtreeLoadFunc) (const CleaveOcdbtVersionNodeRef *ref,
                                                             gpointer                         user_data,
                                                             GError                         **error);

gboolean cleave_ocdbt_vtree_append (CleaveOcdbtManifest       *manifest,
                                    const CleaveOcdbtVersion  *version,
                                    CleaveOcdbtVtreeLoadFunc   load,
                                    CleaveOcdbtWriteFunc  write,
                                    gpointer                   user_data,
                                    GError                   **error);

G_END_DECLS
