/* cleave-node-id.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * PyChunkedGraph's uint64 node ids (shared spec/reference-pcg.md §1.1):
 * 8 bits of layer, @b bits for each chunk coordinate x, y, z, and the rest
 * a per-chunk segment counter. Layers 1 and 2 use max(spatial_bits,
 * n_layers - 2) bits per axis.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_NODE_LAYER_BITS 8
#define CLEAVE_NODE_DEFAULT_SPATIAL_BITS 10

/* Bits per chunk axis of ids on @layer in a graph of @n_layers layers. */
guint   cleave_node_bits_per_axis (guint   layer,
                                   guint   n_layers,
                                   guint   spatial_bits);
guint64 cleave_node_id_make       (guint   layer,
                                   guint   bits,
                                   guint64 x,
                                   guint64 y,
                                   guint64 z,
                                   guint64 segment);
guint   cleave_node_id_layer      (guint64 id);
void    cleave_node_id_chunk      (guint64 id,
                                   guint   bits,
                                   guint64 xyz[3]);
guint64 cleave_node_id_segment    (guint64 id,
                                   guint   bits);
guint64 cleave_node_id_segment_limit (guint bits);
/* The chunk id (segment 0) on @layer of a node of that layer or below:
 * its layer-2 chunk coordinates divided by 2^(layer - 2). */
guint64 cleave_node_chunk_on_layer (guint64 node,
                                    guint   layer,
                                    guint   n_layers,
                                    guint   spatial_bits);

G_END_DECLS
