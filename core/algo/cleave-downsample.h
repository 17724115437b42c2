/* cleave-downsample.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Mip pyramid kernels (shared spec/algorithms.md §1). Pure: dense x-fastest
 * arrays in, arrays out. Output sizes are ceil(size / 2) along the halved
 * axes; at an odd upper edge the last voxel stands in for the missing one
 * (it is counted twice, or four or eight times in a corner), as tinybrain
 * does. Higher mips are modes of modes, as tinybrain's are.
 *
 * Tie rules, bit-compatible with tinybrain (x fastest, then y, then z):
 *
 *   2x2x1 dense: a if a==b, else a if a==c, else b if b==c, else d (a, b
 *     the lower row, c, d the upper). A 2-2 split {a==d, b==c} gives b.
 *   2x2x1 sparse: the same pairs, but a pair of zeros never wins; when no
 *     non-zero pair exists: d, or else the last non-zero of c, b, a; 0 only
 *     when all four are 0. With no zero present it equals the dense rule.
 *   2x2x2: if the lower plane's 4 voxels agree, them; else if the upper
 *     plane's agree, them; else the first value in scan order whose count
 *     reaches 4, else the first with the strictly largest count. Sparse
 *     skips 0 in both shortcuts and in counting (tinybrain's upper-plane
 *     shortcut tests the lower plane's first voxel for 0, which can let 0
 *     win; here it never does): 0 only when all 8 are 0.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The output size of one step: ceil(size / factor) per axis. */
void cleave_downsample_out_size   (const gsize    size[3],
                                   const guint    factor[3],
                                   gsize          out[3]);

/* Whether the mode kernels handle @factor: (2,2,1) or (2,2,2). */
gboolean cleave_downsample_mode_supported (const guint factor[3]);

/* Dense 2x2x1 mode. @out holds ceil(sx/2) * ceil(sy/2) * sz labels. */
void cleave_downsample_mode_2x2x1 (const guint64 *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint64       *out);
void cleave_downsample_mode_2x2x1_sparse (const guint64 *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint64       *out);
/* 2x2x2 mode; @out holds ceil(sx/2) * ceil(sy/2) * ceil(sz/2) labels. */
void cleave_downsample_mode_2x2x2 (const guint64 *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   gboolean       sparse,
                                   guint64       *out);

/* One step of @factor ((2,2,1) or (2,2,2)). */
void cleave_downsample_mode       (const guint64 *in,
                                   const gsize    size[3],
                                   const guint    factor[3],
                                   gboolean       sparse,
                                   guint64       *out);

/* @n_mips steps of @factor in one pass over @in: slab by slab (a z-plane
 * for 2x2x1, 2^n_mips planes for 2x2x2), each mip's slab made while the
 * slab below it is still in cache. @outs[m] receives mip m + 1, of the size
 * m + 1 steps of cleave_downsample_out_size give. The same labels as
 * @n_mips calls of cleave_downsample_mode. */
void cleave_downsample_mode_mips  (const guint64 *in,
                                   const gsize    size[3],
                                   const guint    factor[3],
                                   gboolean       sparse,
                                   guint          n_mips,
                                   guint64      **outs);

/* Mean of each 2x2x1 block of a uint8 image, rounded to nearest (an odd
 * edge's voxel counts twice). */
void cleave_downsample_mean_2x2x1 (const guint8  *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint8        *out);
/* The same over 2x2x2. */
void cleave_downsample_mean_2x2x2 (const guint8  *in,
                                   gsize          sx,
                                   gsize          sy,
                                   gsize          sz,
                                   guint8        *out);

G_END_DECLS
