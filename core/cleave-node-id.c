/* cleave-node-id.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-node-id.h"

guint
cleave_node_bits_per_axis (guint layer,
                           guint n_layers,
                           guint spatial_bits)
{
  if (layer <= 2)
    return MAX (spatial_bits, n_layers > 2 ? n_layers - 2 : 0);
  return MAX (1, (gint) n_layers - (gint) layer);
}

static guint
segment_bits (guint bits)
{
  return 64 - CLEAVE_NODE_LAYER_BITS - 3 * bits;
}

guint64
cleave_node_id_segment_limit (guint bits)
{
  return (G_GUINT64_CONSTANT (1) << segment_bits (bits)) - 1;
}

guint64
cleave_node_id_make (guint   layer,
                     guint   bits,
                     guint64 x,
                     guint64 y,
                     guint64 z,
                     guint64 segment)
{
  guint xo = 64 - CLEAVE_NODE_LAYER_BITS - bits, yo = xo - bits, zo = yo - bits;
  guint64 mask = (G_GUINT64_CONSTANT (1) << bits) - 1;

  g_return_val_if_fail (x <= mask && y <= mask && z <= mask, 0);
  g_return_val_if_fail (segment <= cleave_node_id_segment_limit (bits), 0);
  return (guint64) layer << (64 - CLEAVE_NODE_LAYER_BITS) | x << xo | y << yo | z << zo | segment;
}

guint
cleave_node_id_layer (guint64 id)
{
  return (guint) (id >> (64 - CLEAVE_NODE_LAYER_BITS));
}

void
cleave_node_id_chunk (guint64 id,
                      guint   bits,
                      guint64 xyz[3])
{
  guint xo = 64 - CLEAVE_NODE_LAYER_BITS - bits;
  guint64 mask = (G_GUINT64_CONSTANT (1) << bits) - 1;

  xyz[0] = id >> xo & mask;
  xyz[1] = id >> (xo - bits) & mask;
  xyz[2] = id >> (xo - 2 * bits) & mask;
}

guint64
cleave_node_id_segment (guint64 id,
                        guint   bits)
{
  return id & cleave_node_id_segment_limit (bits);
}

guint64
cleave_node_chunk_on_layer (guint64 node,
                            guint   layer,
                            guint   n_layers,
                            guint   spatial_bits)
{
  guint from = MAX (2, cleave_node_id_layer (node));
  guint64 c[3];

  cleave_node_id_chunk (node, cleave_node_bits_per_axis (from, n_layers, spatial_bits), c);
  for (guint k = 0; k < 3; k++)
    c[k] >>= (layer - from);
  return cleave_node_id_make (layer, cleave_node_bits_per_axis (layer, n_layers, spatial_bits), c[0], c[1], c[2], 0);
}
