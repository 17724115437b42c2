/* cleave-demo.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The demo dataset: branching, neurite-like objects (tubes of varying
 * radius that touch and cross) cut into supervoxels along their length and
 * at chunk faces, with PyChunkedGraph layer-1 ids; an EM-like image (dark
 * membranes, noisy interiors); contact edges with affinities and an initial
 * agglomeration; and deliberate errors for a proofreader to fix. The same
 * parameters give the same contents, byte for byte.
 *
 * Written into DIR:
 *   seg/base, seg/fork, image          the dataset (cleave-dataset.h)
 *   demo.json                          parameters and the errors' locations
 *   edges.tsv                     sv_a, sv_b, affinity ("inf" across a chunk face), area
 *   agglomeration.tsv             sv, agglomeration (the initial objects)
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gint64  size[3];        /* voxels; default 512, 512, 128 */
  guint   chunk[3];       /* default 64, 64, 32 */
  double  resolution[3];  /* nm; default 8, 8, 40 */
  guint   n_mips;         /* default 3, each 2x2x1 of the one before */
  guint64 seed;           /* default 1 */
} CleaveDemoParams;

void     cleave_demo_params_init (CleaveDemoParams       *params);

/* Progress: a short phase name and a fraction in [0, 1]. */
typedef void (*CleaveDemoProgress) (const char *phase,
                                    double      fraction,
                                    gpointer    user_data);

gboolean cleave_demo_create      (const char             *dir,
                                  const CleaveDemoParams *params,
                                  CleaveDemoProgress      progress,
                                  gpointer                user_data,
                                  GError                **error);

G_END_DECLS
