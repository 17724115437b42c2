/* fuzz-ocdbt-decode.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every byte string fed to the manifest, B+tree-node and version-node
 * decoders either decodes or fails with a GError: never a crash, a leak or
 * a read outside the buffer. The magic picks the decoder, so mutations of
 * the golden seeds reach deep into each.
 */

#include "cleave-ocdbt-format.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  CleaveOcdbtLocation loc = { g_intern_static_string ("d/fuzz"), g_intern_static_string (""), 0, size };
  GError *error = NULL;

  if (size >= 4 && memcmp (data, "\x0c\xdb\x3a\x2a", 4) == 0)
    {
      CleaveOcdbtManifest *m = cleave_ocdbt_manifest_decode (data, size, "fuzz", &error);
      g_assert ((m == NULL) == (error != NULL));
      cleave_ocdbt_manifest_free (m);
    }
  else if (size >= 4 && memcmp (data, "\x0c\xdb\x12\x34", 4) == 0)
    {
      CleaveOcdbtVersionNode *n = cleave_ocdbt_version_node_decode (data, size, &loc, 4, &error);
      g_assert ((n == NULL) == (error != NULL));
      cleave_ocdbt_version_node_free (n);
    }
  else
    {
      CleaveOcdbtBtreeNode *n = cleave_ocdbt_btree_node_decode (data, size, &loc, &error);
      g_assert ((n == NULL) == (error != NULL));
      cleave_ocdbt_btree_node_free (n);
    }
  g_clear_error (&error);
  return 0;
}
