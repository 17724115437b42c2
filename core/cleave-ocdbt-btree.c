/* cleave-ocdbt-btree.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-btree.h"

#include <string.h>

#include "cleave-bytes.h"

/* A node one level up will refer to: its first key (inclusive lower bound),
 * where it is, and the statistics of its subtree. */
typedef struct
{
  const guint8        *key;
  gsize                key_len;
  CleaveOcdbtLocation  location;
  CleaveOcdbtStats     stats;
} ChildRef;

/* Decoded-size estimates of one entry, as the reader will hold it. */
static gsize
leaf_entry_size (const CleaveOcdbtEncodeEntry *e)
{
  return e->key_len + 16 + (e->value_kind == CLEAVE_OCDBT_VALUE_INLINE ? e->value_length : 16);
}

static gsize
interior_entry_size (const ChildRef *c)
{
  return c->key_len + 48;
}

static gboolean
write_node (guint8                        height,
            const CleaveOcdbtEncodeEntry *entries,
            guint                         n,
            const CleaveOcdbtConfig      *config,
            CleaveOcdbtWriteFunc          write,
            gpointer                      user_data,
            ChildRef                     *out,
            GError                      **error)
{
  g_autoptr(GBytes) encoded = cleave_ocdbt_btree_node_encode (height, entries, n, config);

  if (!write (encoded, &out->location, user_data, error))
    return FALSE;
  out->key = entries[0].key;
  out->key_len = entries[0].key_len;
  out->stats.num_tree_bytes += g_bytes_get_size (encoded);
  return TRUE;
}

gboolean
cleave_ocdbt_btree_build (const CleaveOcdbtConfig   *config,
                          const CleaveOcdbtKeyValue *pairs,
                          gsize                      n_pairs,
                          CleaveOcdbtWriteFunc       write,
                          gpointer                   user_data,
                          CleaveOcdbtVersion        *version,
                          GError                   **error)
{
  g_autofree CleaveOcdbtEncodeEntry *entries = NULL;
  g_autoptr(GArray) level = g_array_new (FALSE, TRUE, sizeof (ChildRef));
  gsize budget = config->max_decoded_node_bytes;
  guint8 height = 0;
  gsize start = 0;

  memset (version, 0, sizeof *version);
  if (n_pairs == 0)
    {
      version->root = (CleaveOcdbtLocation) { g_intern_static_string (""), g_intern_static_string (""),
                                              CLEAVE_OCDBT_MISSING, CLEAVE_OCDBT_MISSING };
      return TRUE;
    }

  /* Leaves: values out of line first, then entries packed into nodes. */
  entries = g_new0 (CleaveOcdbtEncodeEntry, n_pairs);
  for (gsize i = 0; i < n_pairs; i++)
    {
      CleaveOcdbtEncodeEntry *e = &entries[i];

      g_assert (i == 0 || cleave_ocdbt_key_cmp (pairs[i - 1].key, pairs[i - 1].key_len,
                                                pairs[i].key, pairs[i].key_len) < 0);
      e->key = pairs[i].key;
      e->key_len = pairs[i].key_len;
      e->value = pairs[i].value;
      e->value_length = pairs[i].value_len;
      if (pairs[i].value_len > config->max_inline_value_bytes)
        {
          g_autoptr(GBytes) raw = g_bytes_new_static (pairs[i].value, pairs[i].value_len);

          e->value_kind = CLEAVE_OCDBT_VALUE_INDIRECT;
          if (!write (raw, &e->value_location, user_data, error))
            return FALSE;
        }
    }

  while (start < n_pairs)
    {
      ChildRef ref = { 0 };
      gsize end = start, size = 0;

      while (end < n_pairs && (end == start || size + leaf_entry_size (&entries[end]) <= budget))
        size += leaf_entry_size (&entries[end++]);
      for (gsize i = start; i < end; i++)
        if (entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
          ref.stats.num_indirect_value_bytes += entries[i].value_length;
      ref.stats.num_keys = end - start;
      if (!write_node (0, entries + start, end - start, config, write, user_data, &ref, error))
        return FALSE;
      g_array_append_val (level, ref);
      start = end;
    }

  /* Interior levels until one node is left. */
  while (level->len > 1)
    {
      g_autoptr(GArray) up = g_array_new (FALSE, TRUE, sizeof (ChildRef));
      g_autofree CleaveOcdbtEncodeEntry *children = g_new0 (CleaveOcdbtEncodeEntry, level->len);

      height++;
      start = 0;
      while (start < level->len)
        {
          ChildRef ref = { 0 };
          gsize end = start, size = 0;

          while (end < level->len &&
                 (end - start < 2 || size + interior_entry_size (&g_array_index (level, ChildRef, end)) <= budget))
            size += interior_entry_size (&g_array_index (level, ChildRef, end++));
          /* Never leave a single child for the last node. */
          if (level->len - end == 1)
            end++;
          for (gsize i = start; i < end; i++)
            {
              const ChildRef *c = &g_array_index (level, ChildRef, i);

              children[i] = (CleaveOcdbtEncodeEntry) {
                .key = c->key, .key_len = c->key_len, .child = c->location, .child_stats = c->stats,
              };
              ref.stats.num_keys += c->stats.num_keys;
              ref.stats.num_tree_bytes += c->stats.num_tree_bytes;
              ref.stats.num_indirect_value_bytes += c->stats.num_indirect_value_bytes;
            }
          if (!write_node (height, children + start, end - start, config, write, user_data, &ref, error))
            return FALSE;
          g_array_append_val (up, ref);
          start = end;
        }
      g_array_unref (level);
      level = g_steal_pointer (&up);
    }

  {
    const ChildRef *root = &g_array_index (level, ChildRef, 0);

    version->root_height = height;
    version->root = root->location;
    version->stats = root->stats;
  }
  return TRUE;
}
