/* cleave-import.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Importing a plain-file Neuroglancer precomputed volume (unsharded, raw or
 * compressed_segmentation, as neuroglancer and cloud-volume write them;
 * chunk files may be gzip'd as NAME.gz) into a new dataset. Every scale is
 * copied with its absolute coordinates (voxel_offset kept). The
 * segmentation is stored as uint64 compressed_segmentation: uint64
 * compressed_segmentation chunks are copied byte for byte, others are
 * decoded and re-encoded. The image must be uint8; its chunks are stored
 * raw.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*CleaveImportProgress) (const char *what,
                                      guint64     done,
                                      guint64     total,
                                      gpointer    user_data);

gboolean cleave_import (const char           *src_seg,
                        const char           *src_image,
                        const char           *dir,
                        CleaveImportProgress  progress,
                        gpointer              user_data,
                        GError              **error);

/* The segmentation's coarser mips, rebuilt from its relabelled mip 0 by
 * the downsample worker; needs the graph (cleave_ingest) first. */
gboolean cleave_import_build_pyramid (const char  *dir,
                                      GError     **error);

G_END_DECLS
