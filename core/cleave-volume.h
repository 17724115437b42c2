/* cleave-volume.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A Neuroglancer precomputed volume inside an OCDBT store: `info` at
 * PREFIX "info", chunks at PREFIX "<scale key>/<x0>-<x1>_<y0>-<y1>_<z0>-<z1>".
 * Region reads and writes in absolute voxel coordinates into dense
 * x-fastest buffers, at any mip, optionally pinned to a generation or a
 * time; absent chunks read as 0. Writes re-encode only the chunks a box
 * touches and put only those whose voxels changed, in one transaction.
 * Decoded chunks are cached (bounded by bytes, shared by threads and by the
 * volume's pinned views), keyed by where their bytes are stored.
 */

#pragma once

#include "cleave-cache.h"
#include "cleave-ocdbt.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-precomputed.h"

G_BEGIN_DECLS

typedef struct _CleaveVolume CleaveVolume;

#define CLEAVE_VOLUME_DEFAULT_CACHE_BYTES (256u << 20)

/* @what names the volume in messages ("demo.cleave/seg"). */
CleaveVolume *cleave_volume_open         (CleaveOcdbt            *store,
                                          const char             *prefix,
                                          const char             *what,
                                          GError                **error);
/* Writes @info (validated) in one commit; refuses when there is one. */
CleaveVolume *cleave_volume_create       (CleaveOcdbt            *store,
                                          const char             *prefix,
                                          const CleaveVolumeInfo *info,
                                          const char             *what,
                                          GError                **error);
/* A read-only view of the volume as of a generation or a time (ns). */
CleaveVolume *cleave_volume_pin_generation (CleaveVolume         *volume,
                                            guint64               generation,
                                            GError              **error);
CleaveVolume *cleave_volume_pin_time     (CleaveVolume           *volume,
                                          guint64                 time_ns,
                                          GError                **error);
CleaveVolume *cleave_volume_ref          (CleaveVolume           *volume);
void          cleave_volume_unref        (CleaveVolume           *volume);

const CleaveVolumeInfo *cleave_volume_get_info  (CleaveVolume    *volume);
CleaveOcdbt  *cleave_volume_get_store    (CleaveVolume           *volume);
const char   *cleave_volume_get_what     (CleaveVolume           *volume);
void          cleave_volume_set_cache_budget (CleaveVolume       *volume,
                                          gsize                   bytes);
void          cleave_volume_get_cache_stats  (CleaveVolume       *volume,
                                          gsize                  *bytes,
                                          guint64                *hits,
                                          guint64                *misses);

/* The decoded chunk @g of @mip: the entry's value is its voxels (the
 * chunk's clipped shape, x fastest). *entry_out is NULL when the chunk is
 * absent (all zero). */
gboolean      cleave_volume_get_chunk    (CleaveVolume           *volume,
                                          guint                   mip,
                                          const gint64            g[3],
                                          CleaveCacheEntry      **entry_out,
                                          GError                **error);

/* Chunk @g of @mip of a segmentation as indices into its distinct labels,
 * decoded straight from the stored bytes (nothing goes into the cache).
 * *found is FALSE, and @out empty, when the chunk is absent (all zero). */
gboolean      cleave_volume_get_chunk_indexed (CleaveVolume        *volume,
                                               guint                mip,
                                               const gint64         g[3],
                                               gboolean            *found,
                                               CleaveIndexedLabels *out,
                                               GError             **error);

/* [lo, hi) into @out: (hi - lo) voxels along each axis, x fastest, of the
 * volume's data type. */
gboolean      cleave_volume_read         (CleaveVolume           *volume,
                                          guint                   mip,
                                          const gint64            lo[3],
                                          const gint64            hi[3],
                                          void                   *out,
                                          GError                **error);
/* Adds the chunks of [lo, hi) whose voxels @data changes to @txn (which
 * must be on this volume's store); *n_changed_out counts them. */
gboolean      cleave_volume_write_txn    (CleaveVolume           *volume,
                                          CleaveOcdbtTxn         *txn,
                                          guint                   mip,
                                          const gint64            lo[3],
                                          const gint64            hi[3],
                                          const void             *data,
                                          guint                  *n_changed_out,
                                          GError                **error);
/* The same, committed as one generation (none when nothing changed). */
gboolean      cleave_volume_write        (CleaveVolume           *volume,
                                          guint                   mip,
                                          const gint64            lo[3],
                                          const gint64            hi[3],
                                          const void             *data,
                                          guint64                *generation_out,
                                          guint                  *n_changed_out,
                                          GError                **error);
/* The voxel at each of @n coordinates (x, y, z triples), as uint64; every
 * chunk is read once. */
gboolean      cleave_volume_lookup       (CleaveVolume           *volume,
                                          guint                   mip,
                                          const gint64           *xyz,
                                          gsize                   n,
                                          guint64                *out,
                                          GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveVolume, cleave_volume_unref)

G_END_DECLS
