/* cleave-components.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * 26-connected components of a binary 3D mask (shared spec/algorithms.md
 * §3 and §4). Pure and deterministic: union-find over the x runs of each
 * row, components numbered in the order of their first voxel, x fastest.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @mask: size[0] * size[1] * size[2] bytes, x fastest, non-zero inside.
 * @labels: same size; receives 0 outside and 1..n inside, component k
 * being the k-th to start in scan order (x fastest, then y, then z).
 * Returns n. The box must hold fewer than 2^32 - 1 runs. */
guint32 cleave_components_label26       (const guint8 *mask,
                                         const gsize   size[3],
                                         guint32      *labels);

/* The same with foreground = voxels of @data equal to @value (any value,
 * 0 included). */
guint32 cleave_components_label26_value (const guint8 *data,
                                          const gsize   size[3],
                                          guint8        value,
                                          guint32      *labels);

G_END_DECLS
