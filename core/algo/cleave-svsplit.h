/* cleave-svsplit.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The geodesic supervoxel splitter (shared spec/algorithms.md §3): cuts
 * one supervoxel's mask between source and sink seeds where the mask is
 * thinnest. Pure and deterministic: a mask in, a label map out.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_SVSPLIT_ERROR (cleave_svsplit_error_quark ())

typedef enum
{
  CLEAVE_SVSPLIT_ERROR_NO_MASK,      /* the mask is empty */
  CLEAVE_SVSPLIT_ERROR_SEEDS,        /* a team has no seed, or both teams' seeds meet */
  CLEAVE_SVSPLIT_ERROR_FAILED,       /* a side came out empty: no cut separates the seeds */
} CleaveSvSplitError;

GQuark cleave_svsplit_error_quark (void);

enum
{
  CLEAVE_SVSPLIT_OUTSIDE = 0,   /* not in the mask */
  CLEAVE_SVSPLIT_SOURCE = 1,
  CLEAVE_SVSPLIT_SINK = 2,
  CLEAVE_SVSPLIT_STRAY = 3,     /* left over after the second single-component pass */
};

typedef struct
{
  double gamma_neck;        /* speed = (d / dmax)^gamma  [1.6] */
  double narrow_band_rel;   /* |TA - TB| / (TA + TB) below this is the band  [0.08] */
  guint  nb_dilate;         /* band dilation radius, voxels  [1] */
  double k_prox;            /* proximity boost  [2.0] */
  double lambda_prox;       /* [1.0] */
} CleaveSvSplitParams;

void     cleave_svsplit_params_init (CleaveSvSplitParams       *params);

/* @mask: size[0] * size[1] * size[2] bytes, x fastest, non-zero inside.
 * @resolution: nm per voxel along x, y, z. Seeds are voxel coordinates in
 * the mask's box (n x 3); seeds off the mask are snapped to the nearest
 * mask voxel in nm. On success @labels_out (same size as the mask) holds
 * CLEAVE_SVSPLIT_* per voxel: every mask voxel SOURCE, SINK or STRAY, each
 * side one 26-connected piece holding its seeds. */
gboolean cleave_svsplit (const guint8              *mask,
                         const gsize                size[3],
                         const double               resolution[3],
                         const gint64              *sources,
                         guint                      n_sources,
                         const gint64              *sinks,
                         guint                      n_sinks,
                         const CleaveSvSplitParams *params,
                         guint8                    *labels_out,
                         GError                   **error);

G_END_DECLS
