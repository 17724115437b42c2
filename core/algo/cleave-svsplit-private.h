/* cleave-svsplit-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The splitter's stages, exposed for tests/core/test-svsplit.c and
 * tests/bench/bench-svsplit.c. See docs/svsplit.md.
 */

#pragma once

#include "cleave-svsplit.h"

G_BEGIN_DECLS

/* Exact squared Euclidean distance, in nm^2, from every voxel to the
 * nearest voxel where @mask is 0 (Felzenszwalb-Huttenlocher, separable,
 * spacing @resolution along x, y, z). Voxels with mask 0 get 0; if the
 * box holds no such voxel every voxel gets +inf. */
void     _cleave_svsplit_edt_sq   (const guint8  *mask,
                                   const gsize    size[3],
                                   const double   resolution[3],
                                   float         *out);

/* Multi-source geodesic arrival over 26 neighbours: the edge u-v costs
 * |u - v| in nm times (cost[u] + cost[v]) / 2. cost[v] = +inf blocks v;
 * every voxel of finite cost must lie off the box's faces (the caller's
 * halo). @seeds are linear indices of finite-cost voxels. @out receives
 * the arrival, +inf where unreachable. */
void     _cleave_svsplit_arrival  (const float   *cost,
                                   const gsize    size[3],
                                   const double   resolution[3],
                                   const guint32 *seeds,
                                   guint          n_seeds,
                                   float         *out);

G_END_DECLS
