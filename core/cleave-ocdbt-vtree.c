/* cleave-ocdbt-vtree.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-vtree.h"

static gboolean
write_node (CleaveOcdbtVersionNode    *node,
            const CleaveOcdbtConfig   *config,
            CleaveOcdbtWriteFunc  write,
            gpointer                   user_data,
            CleaveOcdbtLocation       *location,
            GError                   **error)
{
  g_autoptr(GBytes) encoded = cleave_ocdbt_version_node_encode (node, config);

  return write (encoded, location, user_data, error);
}

gboolean
cleave_ocdbt_vtree_append (CleaveOcdbtManifest       *m,
                           const CleaveOcdbtVersion  *version,
                           CleaveOcdbtVtreeLoadFunc   load,
                           CleaveOcdbtWriteFunc  write,
                           gpointer                   user_data,
                           GError                   **error)
{
  guint a = m->config.version_tree_arity_log2;
  const CleaveOcdbtVersion *last = &g_array_index (m->versions, CleaveOcdbtVersion, m->versions->len - 1);
  guint64 latest = last->generation + 1;
  g_autoptr(GArray) old_nodes = NULL;
  g_autoptr(GArray) new_nodes = NULL;
  CleaveOcdbtVersionNodeRef carry = { 0 };
  gboolean have_carry = TRUE;

  g_return_val_if_fail (version->generation == latest, FALSE);

  /* Same aligned leaf block as the latest: the inline list grows. */
  if ((last->generation - 1) >> a == (latest - 1) >> a)
    {
      g_array_append_val (m->versions, *version);
      return TRUE;
    }

  /* Otherwise the full inline leaf becomes a height-0 node, carried up. */
  {
    CleaveOcdbtVersionNode leaf = { .height = 0, .versions = m->versions };

    if (!write_node (&leaf, &m->config, write, user_data, &carry.location, error))
      return FALSE;
    carry.generation = last->generation;
    carry.num_generations = m->versions->len;
    carry.commit_time = g_array_index (m->versions, CleaveOcdbtVersion, 0).commit_time;
    carry.height = 0;
  }

  old_nodes = g_array_ref (m->version_nodes);
  new_nodes = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));

  /* Height by height: this height's node is the old one if it still fits
   * its slot, the carried one wrapped in a new node, or both merged. What
   * goes up next is the old node of this height. */
  for (guint h = 1; ; h++)
    {
      CleaveOcdbtVersionNodeRef *existing = NULL;
      CleaveOcdbtVersionNodeRef entry;
      guint64 lo, hi;
      gboolean existing_fits, carry_fits;

      for (guint i = 0; i < old_nodes->len; i++)
        if (g_array_index (old_nodes, CleaveOcdbtVersionNodeRef, i).height == h)
          existing = &g_array_index (old_nodes, CleaveOcdbtVersionNodeRef, i);

      if (!cleave_ocdbt_version_slot (latest, a, h, &lo, &hi))
        break;
      existing_fits = existing && existing->generation >= lo && existing->generation <= hi;
      carry_fits = have_carry && carry.generation >= lo && carry.generation <= hi;

      if (carry_fits && existing_fits)
        {
          g_autoptr(CleaveOcdbtVersionNode) node = load (existing, user_data, error);

          if (node == NULL)
            return FALSE;
          g_array_append_val (node->children, carry);
          entry = *existing;
          entry.generation = carry.generation;
          entry.num_generations = existing->num_generations + carry.num_generations;
          if (!write_node (node, &m->config, write, user_data, &entry.location, error))
            return FALSE;
          g_array_append_val (new_nodes, entry);
        }
      else if (carry_fits)
        {
          g_autoptr(CleaveOcdbtVersionNode) node = g_new0 (CleaveOcdbtVersionNode, 1);

          node->height = h;
          node->children = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));
          g_array_append_val (node->children, carry);
          entry = carry;
          entry.height = h;
          if (!write_node (node, &m->config, write, user_data, &entry.location, error))
            return FALSE;
          g_array_append_val (new_nodes, entry);
        }
      else if (existing_fits)
        g_array_append_val (new_nodes, *existing);

      have_carry = existing != NULL;
      if (existing)
        carry = *existing;
    }

  /* Manifest order: highest first. */
  g_array_set_size (m->version_nodes, 0);
  for (guint i = new_nodes->len; i > 0; i--)
    g_array_append_val (m->version_nodes, g_array_index (new_nodes, CleaveOcdbtVersionNodeRef, i - 1));
  g_array_set_size (m->versions, 0);
  g_array_append_val (m->versions, *version);
  return TRUE;
}
