/* cleave-ocdbt-btree.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-btree.h"

#include <string.h>

typedef struct
{
  const CleaveOcdbtBtreeIO  *io;
  const CleaveOcdbtKeyValue *puts;
  gsize                      n_puts;
  const CleaveOcdbtRange    *dels;
  gsize                      n_dels;
  GStringChunk              *keys;    /* full keys of the entries written again */
  GPtrArray                 *holds;   /* loaded nodes: inline values point into them */
  GByteArray                *scratch;
} Apply;

/* Decoded-size estimates of one entry, as the reader will hold it. */
static gsize
entry_size (guint8                        height,
            const CleaveOcdbtEncodeEntry *e)
{
  if (height > 0)
    return e->key_len + 48;
  return e->key_len + 16 + (e->value_kind == CLEAVE_OCDBT_VALUE_INLINE ? e->value_length : 16);
}

/* Delete ranges are disjoint and sorted, so their upper bounds rise too:
 * the first range ending above @key is found by bisection. */
static gsize
first_range_above (Apply        *A,
                   const guint8 *key,
                   gsize         key_len)
{
  gsize lo = 0, hi = A->n_dels;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      const CleaveOcdbtRange *r = &A->dels[mid];

      if (r->hi == NULL || cleave_ocdbt_key_cmp (r->hi, r->hi_len, key, key_len) > 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

static gboolean
is_deleted (Apply        *A,
            const guint8 *key,
            gsize         key_len)
{
  gsize i = first_range_above (A, key, key_len);

  return i < A->n_dels && cleave_ocdbt_key_cmp (A->dels[i].lo, A->dels[i].lo_len, key, key_len) <= 0;
}

/* Whether a delete range meets [a, b); NULL bounds are unbounded. */
static gboolean
deletes_meet (Apply        *A,
              const guint8 *a,
              gsize         a_len,
              const guint8 *b,
              gsize         b_len)
{
  gsize i = a ? first_range_above (A, a, a_len) : 0;

  return i < A->n_dels && (b == NULL || cleave_ocdbt_key_cmp (A->dels[i].lo, A->dels[i].lo_len, b, b_len) < 0);
}

static const guint8 *
full_key (Apply                      *A,
          const guint8               *prefix,
          gsize                       prefix_len,
          const CleaveOcdbtBtreeNode *node,
          guint                       i,
          gsize                      *len_out)
{
  const CleaveOcdbtEntry *e = &node->entries[i];

  g_byte_array_set_size (A->scratch, 0);
  g_byte_array_append (A->scratch, prefix, prefix_len);
  g_byte_array_append (A->scratch, cleave_ocdbt_entry_key (node, i), e->key_length);
  *len_out = A->scratch->len;
  return (const guint8 *) g_string_chunk_insert_len (A->keys, (const char *) A->scratch->data,
                                                     A->scratch->len);
}

static const CleaveOcdbtBtreeNode *
load (Apply                     *A,
      const CleaveOcdbtLocation *location,
      guint8                     height,
      GError                   **error)
{
  gpointer hold = NULL;
  const CleaveOcdbtBtreeNode *node = A->io->load (location, height, &hold, A->io->user_data, error);

  if (node != NULL && hold != NULL)
    g_ptr_array_add (A->holds, hold);
  return node;
}

static gboolean
add_put (Apply                     *A,
         const CleaveOcdbtKeyValue *p,
         GArray                    *out,
         GError                   **error)
{
  CleaveOcdbtEncodeEntry e = {
    .key = p->key, .key_len = p->key_len, .value = p->value, .value_length = p->value_len,
  };

  if (p->value_len > A->io->config->max_inline_value_bytes)
    {
      g_autoptr(GBytes) raw = g_bytes_new_static (p->value, p->value_len);

      e.value_kind = CLEAVE_OCDBT_VALUE_INDIRECT;
      if (!A->io->write (raw, &e.value_location, A->io->user_data, error))
        return FALSE;
    }
  g_array_append_val (out, e);
  return TRUE;
}

/* A leaf's new entries: its kept entries merged with the puts [p0, p1). */
static gboolean
collect_leaf (Apply                      *A,
              const CleaveOcdbtBtreeNode *node,
              const guint8               *prefix,
              gsize                       prefix_len,
              gsize                       p0,
              gsize                       p1,
              GArray                     *out,
              GError                    **error)
{
  guint n = node ? node->n_entries : 0, i = 0;
  gsize p = p0;

  while (i < n || p < p1)
    {
      const CleaveOcdbtEntry *e = i < n ? &node->entries[i] : NULL;
      const guint8 *key = NULL;
      gsize key_len = 0;
      int cmp;

      if (e != NULL)
        key = full_key (A, prefix, prefix_len, node, i, &key_len);
      cmp = e && p < p1 ? cleave_ocdbt_key_cmp (key, key_len, A->puts[p].key, A->puts[p].key_len) : e ? -1 : 1;
      if (cmp < 0)
        {
          if (!is_deleted (A, key, key_len))
            {
              CleaveOcdbtEncodeEntry k = {
                .key = key, .key_len = key_len, .value_kind = e->value_kind, .value_length = e->value_length,
              };

              if (e->value_kind == CLEAVE_OCDBT_VALUE_INLINE)
                k.value = (const guint8 *) g_bytes_get_data (node->body, NULL) + e->value_offset;
              else
                k.value_location = (CleaveOcdbtLocation) { e->value_file, NULL, e->value_offset, e->value_length };
              g_array_append_val (out, k);
            }
          i++;
          continue;
        }
      if (cmp == 0)
        i++;
      if (!add_put (A, &A->puts[p++], out, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean pack (Apply *A, guint8 height, GArray *entries, GArray *out, GError **error);

static gboolean collect (Apply *A, const CleaveOcdbtLocation *location, guint8 height,
                         const guint8 *prefix, gsize prefix_len, const guint8 *lo, gsize lo_len,
                         const guint8 *hi, gsize hi_len, gsize p0, gsize p1, GArray *out, GError **error);

/* An interior node's new children: untouched subtrees referred to where
 * they are, touched ones rewritten (possibly into several nodes, or none). */
static gboolean
collect_interior (Apply                      *A,
                  const CleaveOcdbtBtreeNode *node,
                  const guint8               *prefix,
                  gsize                       prefix_len,
                  const guint8               *lo,
                  gsize                       lo_len,
                  const guint8               *hi,
                  gsize                       hi_len,
                  gsize                       p0,
                  gsize                       p1,
                  GArray                     *out,
                  GError                    **error)
{
  guint n = node->n_entries;
  g_autofree const guint8 **keys = g_new (const guint8 *, n);
  g_autofree gsize *lens = g_new (gsize, n);
  gsize p = p0;

  for (guint i = 0; i < n; i++)
    keys[i] = full_key (A, prefix, prefix_len, node, i, &lens[i]);

  for (guint i = 0; i < n; i++)
    {
      const CleaveOcdbtEntry *e = &node->entries[i];
      const guint8 *a = i == 0 ? lo : keys[i], *b = i + 1 == n ? hi : keys[i + 1];
      gsize a_len = i == 0 ? lo_len : lens[i], b_len = i + 1 == n ? hi_len : lens[i + 1];
      gsize q = p;

      while (q < p1 && (b == NULL || cleave_ocdbt_key_cmp (A->puts[q].key, A->puts[q].key_len, b, b_len) < 0))
        q++;
      if (q == p && !deletes_meet (A, a, a_len, b, b_len))
        {
          /* Kept as it is. Its keys omit its prefix; this entry's key is
           * now full, so the prefix length is counted from the root. */
          CleaveOcdbtEncodeEntry k = {
            .key = keys[i], .key_len = lens[i], .child = e->child, .child_stats = e->child_stats,
            .subtree_common_prefix_length = prefix_len + e->subtree_common_prefix_length,
          };
          g_array_append_val (out, k);
          continue;
        }
      {
        g_autoptr(GArray) sub = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtEncodeEntry));

        if (!collect (A, &e->child, node->height - 1, keys[i], prefix_len + e->subtree_common_prefix_length,
                      a, a_len, b, b_len, p, q, sub, error))
          return FALSE;
        if (!pack (A, node->height - 1, sub, out, error))
          return FALSE;
      }
      p = q;
    }
  return TRUE;
}

/* The new entries of the node at @location (NULL: an empty tree), which
 * covers [lo, hi) and receives the puts [p0, p1). */
static gboolean
collect (Apply                     *A,
         const CleaveOcdbtLocation *location,
         guint8                     height,
         const guint8              *prefix,
         gsize                      prefix_len,
         const guint8              *lo,
         gsize                      lo_len,
         const guint8              *hi,
         gsize                      hi_len,
         gsize                      p0,
         gsize                      p1,
         GArray                    *out,
         GError                   **error)
{
  const CleaveOcdbtBtreeNode *node = NULL;

  if (location != NULL && (node = load (A, location, height, error)) == NULL)
    return FALSE;
  if (height == 0)
    return collect_leaf (A, node, prefix, prefix_len, p0, p1, out, error);
  return collect_interior (A, node, prefix, prefix_len, lo, lo_len, hi, hi_len, p0, p1, out, error);
}

/* Writes @entries as nodes of @height and appends a reference to each to
 * @out, for the level above. */
static gboolean
pack (Apply   *A,
      guint8   height,
      GArray  *entries,
      GArray  *out,
      GError **error)
{
  const CleaveOcdbtEncodeEntry *all = (const CleaveOcdbtEncodeEntry *) entries->data;
  gsize n = entries->len, start = 0, budget = A->io->config->max_decoded_node_bytes;
  gsize min_arity = height > 0 ? 2 : 1;

  while (start < n)
    {
      CleaveOcdbtEncodeEntry ref = { .key = all[start].key, .key_len = all[start].key_len };
      g_autoptr(GBytes) encoded = NULL;
      gsize end = start, size = 0;

      while (end < n && (end - start < min_arity || size + entry_size (height, &all[end]) <= budget))
        size += entry_size (height, &all[end++]);
      /* Never leave a lone child for the last interior node. */
      if (height > 0 && n - end == 1)
        end++;

      for (gsize i = start; i < end; i++)
        {
          if (height == 0)
            {
              ref.child_stats.num_keys++;
              if (all[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
                ref.child_stats.num_indirect_value_bytes += all[i].value_length;
              continue;
            }
          ref.child_stats.num_keys += all[i].child_stats.num_keys;
          ref.child_stats.num_tree_bytes += all[i].child_stats.num_tree_bytes;
          ref.child_stats.num_indirect_value_bytes += all[i].child_stats.num_indirect_value_bytes;
        }
      encoded = cleave_ocdbt_btree_node_encode (height, all + start, end - start, A->io->config);
      if (!A->io->write (encoded, &ref.child, A->io->user_data, error))
        return FALSE;
      ref.child_stats.num_tree_bytes += g_bytes_get_size (encoded);
      g_array_append_val (out, ref);
      start = end;
    }
  return TRUE;
}

gboolean
cleave_ocdbt_btree_apply (const CleaveOcdbtBtreeIO  *io,
                          const CleaveOcdbtVersion  *root,
                          const CleaveOcdbtKeyValue *puts,
                          gsize                      n_puts,
                          const CleaveOcdbtRange    *deletes,
                          gsize                      n_deletes,
                          CleaveOcdbtVersion        *version_out,
                          GError                   **error)
{
  Apply A = { io, puts, n_puts, deletes, n_deletes, g_string_chunk_new (4096),
              g_ptr_array_new_with_free_func (io->release), g_byte_array_new () };
  g_autoptr(GArray) level = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtEncodeEntry));
  gboolean empty = root->root.offset == CLEAVE_OCDBT_MISSING;
  guint8 height = empty ? 0 : root->root_height;
  gboolean ok = FALSE;

  for (gsize i = 1; i < n_puts; i++)
    g_assert (cleave_ocdbt_key_cmp (puts[i - 1].key, puts[i - 1].key_len, puts[i].key, puts[i].key_len) < 0);
  for (gsize i = 1; i < n_deletes; i++)
    g_assert (deletes[i - 1].hi != NULL &&
              cleave_ocdbt_key_cmp (deletes[i - 1].hi, deletes[i - 1].hi_len, deletes[i].lo, deletes[i].lo_len) <= 0);

  if (!collect (&A, empty ? NULL : &root->root, height, (const guint8 *) "", 0, NULL, 0, NULL, 0,
                0, n_puts, level, error))
    goto out;

  /* The whole tree deleted. */
  if (level->len == 0)
    {
      version_out->root = (CleaveOcdbtLocation) { g_intern_static_string (""), g_intern_static_string (""),
                                                  CLEAVE_OCDBT_MISSING, CLEAVE_OCDBT_MISSING };
      version_out->root_height = 0;
      memset (&version_out->stats, 0, sizeof version_out->stats);
      ok = TRUE;
      goto out;
    }

  /* A root left with one child whose keys are full: that child is the root. */
  if (height > 0 && level->len == 1 && g_array_index (level, CleaveOcdbtEncodeEntry, 0).subtree_common_prefix_length == 0)
    height--;
  else
    for (;;)
      {
        g_autoptr(GArray) up = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtEncodeEntry));

        if (!pack (&A, height, level, up, error))
          goto out;
        g_array_unref (level);
        level = g_steal_pointer (&up);
        if (level->len == 1)
          break;
        height++;
      }

  version_out->root = g_array_index (level, CleaveOcdbtEncodeEntry, 0).child;
  version_out->root_height = height;
  version_out->stats = g_array_index (level, CleaveOcdbtEncodeEntry, 0).child_stats;
  ok = TRUE;

out:
  g_string_chunk_free (A.keys);
  g_ptr_array_unref (A.holds);
  g_byte_array_unref (A.scratch);
  return ok;
}

gboolean
cleave_ocdbt_btree_build (const CleaveOcdbtConfig   *config,
                          const CleaveOcdbtKeyValue *pairs,
                          gsize                      n_pairs,
                          CleaveOcdbtWriteFunc       write,
                          gpointer                   user_data,
                          CleaveOcdbtVersion        *version_out,
                          GError                   **error)
{
  const CleaveOcdbtBtreeIO io = { config, NULL, NULL, write, user_data };
  CleaveOcdbtVersion empty = { .root = { .offset = CLEAVE_OCDBT_MISSING, .length = CLEAVE_OCDBT_MISSING } };

  memset (version_out, 0, sizeof *version_out);
  return cleave_ocdbt_btree_apply (&io, &empty, pairs, n_pairs, NULL, 0, version_out, error);
}
