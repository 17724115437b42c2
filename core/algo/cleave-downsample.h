/* cleave-downsample.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Mip pyramid kernels (shared spec/algorithms.md §1). Pure: dense x-fastest
 * arrays in, arrays out. Output sizes are ceil(size / 2) along the halved
 * axes; at an odd upper edge the last voxel stands in for the missing one,
 * as tinybrain does.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mode of each 2x2x1 block of labels, with tinybrain's tie rule: a if a==b,
 * else a if a==c, else b if b==c, else d (a, b the lower row, c, d the
 * upper). @out holds ceil(sx/2) * ceil(sy/2) * sz labels. */
void cleave_downsample_mode_2x2x1 (const guint64 *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint64       *out);

/* Mean of each 2x2x1 block of a uint8 image, rounded to nearest. */
void cleave_downsample_mean_2x2x1 (const guint8  *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint8        *out);

G_END_DECLS
