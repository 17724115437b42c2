/* cleave-precomputed.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Neuroglancer precomputed volume metadata (shared spec/precomputed.md):
 * the `info` JSON, read and written with json-glib and validated, and the
 * chunk grid arithmetic of each scale. Coordinates are absolute voxel
 * coordinates of the scale: they include voxel_offset, as keys do.
 */

#pragma once

#include <glib.h>

#include "cleave-codec.h"

G_BEGIN_DECLS

#define CLEAVE_VOLUME_ERROR (cleave_volume_error_quark ())

typedef enum
{
  CLEAVE_VOLUME_ERROR_INVALID,       /* info or a request that makes no sense */
  CLEAVE_VOLUME_ERROR_UNSUPPORTED,   /* valid, but not something Cleave reads */
  CLEAVE_VOLUME_ERROR_OUT_OF_BOUNDS, /* coordinates or boxes outside the volume */
  CLEAVE_VOLUME_ERROR_NOT_FOUND,     /* no volume, no such scale */
} CleaveVolumeError;

GQuark cleave_volume_error_quark (void);

typedef struct
{
  char           *key;
  gint64          size[3];
  double          resolution[3];
  gint64          voxel_offset[3];
  guint           chunk[3];
  CleaveEncoding  encoding;
  guint           block[3];          /* compressed_segmentation only */
} CleaveScale;

typedef struct
{
  gboolean        segmentation;      /* "type": "segmentation" (else "image") */
  CleaveDataType  data_type;
  GArray         *scales;            /* CleaveScale, finest first */
  char           *mesh;              /* kept as they were, or NULL */
  char           *skeletons;
  char           *segment_properties;
  /* How the mips above 0 were made, as whoever made them recorded it:
   * "mode" (dense), "mode_sparse" or "mean"; NULL if nobody did. Not part
   * of the precomputed format; Neuroglancer and tensorstore ignore it. */
  char           *downsampling;
} CleaveVolumeInfo;

CleaveVolumeInfo *cleave_volume_info_new       (gboolean                segmentation,
                                                CleaveDataType          data_type);
CleaveScale      *cleave_volume_info_add_scale (CleaveVolumeInfo       *info,
                                                const char             *key);
CleaveVolumeInfo *cleave_volume_info_parse     (const char             *json,
                                                gsize                   len,
                                                const char             *what,
                                                GError                **error);
/* Checks what parse checks, for an info built in code. */
gboolean          cleave_volume_info_validate  (const CleaveVolumeInfo *info,
                                                const char             *what,
                                                GError                **error);
char             *cleave_volume_info_to_json   (const CleaveVolumeInfo *info);
CleaveVolumeInfo *cleave_volume_info_copy      (const CleaveVolumeInfo *info);
void              cleave_volume_info_free      (CleaveVolumeInfo       *info);
const CleaveScale *cleave_volume_info_get_scale (const CleaveVolumeInfo *info,
                                                 guint                   mip,
                                                 GError                **error);

/* The chunk grid: how many chunks along each axis. */
void      cleave_scale_grid_size  (const CleaveScale *scale,
                                   gint64             grid[3]);
/* Chunk @g's voxels [lo, hi), clipped at the volume's upper edge. */
void      cleave_scale_chunk_box  (const CleaveScale *scale,
                                   const gint64       g[3],
                                   gint64             lo[3],
                                   gint64             hi[3]);
/* "<key>/<x0>-<x1>_<y0>-<y1>_<z0>-<z1>", absolute coordinates; @prefix
 * (may be "") goes in front. */
char     *cleave_scale_chunk_key  (const CleaveScale *scale,
                                   const char        *prefix,
                                   const gint64       g[3]);
/* The box [lo, hi) must be non-empty and inside the scale. @what names
 * the volume and mip in the message. */
gboolean  cleave_scale_check_box  (const CleaveScale *scale,
                                   const gint64       lo[3],
                                   const gint64       hi[3],
                                   const char        *what,
                                   GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveVolumeInfo, cleave_volume_info_free)

G_END_DECLS
