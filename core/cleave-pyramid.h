/* cleave-pyramid.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Bringing a segmentation's coarser mips up to date with mip 0 after an
 * edit (shared DESIGN.md §5, spec/reference-pcg.md §7). The pyramid is cut
 * into blocks of the coarsest chunk x factor^K mip-0 voxels (K = the mips
 * above 0), counted from the volume's voxel_offset: a block is aligned to
 * the chunk grid of every mip, so no two blocks share a storage chunk and
 * one lock per block (held by the caller) keeps writers apart.
 *
 * A block is processed from the bboxes that met it: their union inside
 * the block, aligned outward to factor^K, is read once and downsampled
 * through every mip in memory when it fits the memory budget; otherwise
 * depth first, one coarse tile at a time, reading back what the mip below
 * holds for tiles no bbox meets (bounded memory: a few tiles per mip). Only
 * tiles whose footprint meets a bbox are written, all into the caller's
 * transaction (one commit per block).
 */

#pragma once

#include "cleave-ocdbt-writer.h"
#include "cleave-volume.h"

G_BEGIN_DECLS

#define CLEAVE_PYRAMID_ERROR (cleave_pyramid_error_quark ())

typedef enum
{
  CLEAVE_PYRAMID_ERROR_NON_UNIFORM,  /* the factor changes between scales */
  CLEAVE_PYRAMID_ERROR_UNSUPPORTED,  /* a geometry or factor the worker cannot follow */
  CLEAVE_PYRAMID_ERROR_INVALID,      /* a bbox that makes no sense */
} CleavePyramidError;

GQuark cleave_pyramid_error_quark (void);

#define CLEAVE_PYRAMID_DEFAULT_BUDGET ((gsize) 1 << 30)

typedef struct
{
  guint    n_mips;           /* K: mips above 0 */
  guint    factor[3];        /* between consecutive mips */
  gint64   block[3];         /* block shape in mip-0 voxels */
  gint64   size[3];          /* mip 0 */
  gint64   offset[3];        /* mip 0 voxel_offset */
  gboolean sparse;           /* the info's "downsampling" is "mode_sparse" */
} CleavePyramid;

typedef struct
{
  guint64  blocks;
  guint64  in_memory;        /* blocks done in one read */
  guint64  per_tile;         /* blocks done tile by tile (over budget) */
  guint64  chunks_written;   /* chunks whose labels changed */
  guint64  voxels;           /* mip-0 voxels of the regions processed */
} CleavePyramidStats;

/* The factor between consecutive scales: the ratio of their resolutions,
 * which must be a whole number per axis and the same at every scale (a
 * pyramid of one scale has factor 1). NON_UNIFORM names both scales. */
gboolean cleave_pyramid_factor    (const CleaveVolumeInfo *info,
                                   const char             *what,
                                   guint                   factor[3],
                                   GError                **error);
/* The geometry the worker needs, checked: a uniform factor the kernels
 * handle, sizes and offsets that follow it, chunks that tile the blocks. */
gboolean cleave_pyramid_init      (CleavePyramid          *pyramid,
                                   const CleaveVolumeInfo *info,
                                   const char             *what,
                                   GError                **error);
/* The blocks a bbox (x0,y0,z0,x1,y1,z1, mip-0 voxels, half-open) meets
 * inside the volume, appended to @out (3 gint64 each) in sorted order. */
void     cleave_pyramid_blocks_for_bbox (const CleavePyramid *pyramid,
                                   const gint64            bbox[6],
                                   GArray                 *out);
/* Block @b's mip-0 voxels [lo, hi), clipped to the volume. */
void     cleave_pyramid_block_box (const CleavePyramid    *pyramid,
                                   const gint64            b[3],
                                   gint64                  lo[3],
                                   gint64                  hi[3]);
/* Rewrites every mip above 0 of block @b where @n bboxes (6 gint64 each)
 * meet it, adding the chunks that change to @txn. @budget: bytes of mip-0
 * labels read at once (0: the default, 1 GiB). */
gboolean cleave_pyramid_process_block (CleaveVolume       *seg,
                                   const CleavePyramid    *pyramid,
                                   const gint64            b[3],
                                   const gint64           *bboxes,
                                   guint                   n,
                                   gsize                   budget,
                                   CleaveOcdbtTxn         *txn,
                                   CleavePyramidStats     *stats,
                                   GError                **error);

G_END_DECLS
