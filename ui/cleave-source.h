/* cleave-source.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An open dataset as the viewer reads it: its volumes and graph, and the
 * worker threads that turn stored chunks into what a slice view uploads.
 * Chunks are asked for by clients (one per slice view), decoded through
 * the core's chunk cache on worker threads, their supervoxels mapped to
 * roots in one batch per chunk, and handed back on the main thread. Nothing
 * here blocks the main thread on disk or SQLite.
 *
 * Other processes (cleavectl, the downsample worker) edit the dataset while
 * it is open: once a second a worker thread looks for a new segmentation
 * generation or a changed graph. When it finds one, the source's epoch
 * goes up: the chunks made before are stale, and are made again when
 * asked for, while the old ones stay ready (and drawn) until then.
 */

#pragma once

#include <gio/gio.h>

#include "cleave-precomputed.h"

G_BEGIN_DECLS

#define CLEAVE_TYPE_SOURCE (cleave_source_get_type ())

G_DECLARE_FINAL_TYPE (CleaveSource, cleave_source, CLEAVE, SOURCE, GObject)

typedef enum
{
  CLEAVE_LAYER_IMAGE = 0,
  CLEAVE_LAYER_SEGMENTATION = 1,
} CleaveLayer;

/* A decoded chunk, ready to upload. For the image, @voxels holds uint8
 * voxels; for the segmentation, @indices holds an index per voxel (uint16,
 * or uint32 when @wide) into @svs and @roots, entry 0 being background.
 * Voxels are x fastest, @size[0] x @size[1] x @size[2]. An absent chunk is
 * @empty and holds nothing.
 *
 * A chunk never changes once ready. @epoch is the source's epoch it was
 * read at; a chunk made again for a newer epoch keeps @serial when its
 * voxels and roots came out the same, and @voxel_serial when only its
 * roots differ (a new palette is all it needs). */
typedef struct
{
  guint64      key;
  CleaveLayer  layer;
  guint        mip;
  gint64       g[3];
  gint64       lo[3];         /* voxels of the mip, absolute */
  gint64       hi[3];
  int          size[3];
  gboolean     empty;
  guint8      *voxels;
  gpointer     indices;
  gboolean     wide;
  guint        n_labels;
  guint64     *svs;
  guint64     *roots;
  gsize        bytes;
  guint        epoch;
  guint64      serial;
  guint64      voxel_serial;
} CleaveSliceChunk;

/* Result of a probe: what lies at one mip-0 voxel. */
typedef struct
{
  gint64   xyz[3];
  gboolean inside;
  guint64  sv;
  guint64  root;
} CleaveProbe;

guint64           cleave_slice_chunk_key         (CleaveLayer        layer,
                                                  guint              mip,
                                                  const gint64       g[3]);
CleaveSliceChunk *cleave_slice_chunk_ref         (CleaveSliceChunk  *chunk);
void              cleave_slice_chunk_unref       (CleaveSliceChunk  *chunk);

void              cleave_source_open_async       (const char          *path,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
CleaveSource     *cleave_source_open_finish      (GAsyncResult        *result,
                                                  GError             **error);
/* Opens on the calling thread (tests, benchmarks). */
CleaveSource     *cleave_source_open             (const char          *path,
                                                  GError             **error);

const char       *cleave_source_get_path         (CleaveSource        *self);
const char       *cleave_source_get_name         (CleaveSource        *self);
/* The segmentation's current generation (OCDBT commit); notify::generation
 * when another process commits one. */
guint64           cleave_source_get_generation   (CleaveSource        *self);
/* Goes up (on the main thread, with ::data-changed) each time the dataset
 * is seen to have changed on disk: a new generation or new roots. */
guint             cleave_source_get_epoch        (CleaveSource        *self);
/* Looks for changes now instead of at the next poll (tests). */
void              cleave_source_check_changes    (CleaveSource        *self);
gboolean          cleave_source_has_graph        (CleaveSource        *self);
gboolean          cleave_source_has_image        (CleaveSource        *self);
/* The volume of @layer (NULL for a missing image). */
const CleaveVolumeInfo *cleave_source_get_info   (CleaveSource        *self,
                                                  CleaveLayer          layer);
/* The dataset's extent in nm, from the segmentation's mip 0. */
void              cleave_source_get_bounds       (CleaveSource        *self,
                                                  double               lo[3],
                                                  double               hi[3]);
void              cleave_source_get_resolution   (CleaveSource        *self,
                                                  guint                mip,
                                                  double               res[3]);
guint             cleave_source_get_n_mips       (CleaveSource        *self);

/* A client id for cleave_source_request (at most 32 clients). */
guint             cleave_source_add_client       (CleaveSource        *self);
void              cleave_source_remove_client    (CleaveSource        *self,
                                                  guint                client);
/* @keys become everything @client wants; the ones neither ready (and
 * current) nor queued are queued, in order; queued ones no client wants
 * are dropped. */
void              cleave_source_request          (CleaveSource        *self,
                                                  guint                client,
                                                  const guint64       *keys,
                                                  gsize                n_keys);
/* A new reference to a ready chunk, or NULL. Never waits. The chunk may be
 * stale (its epoch older than the source's). */
CleaveSliceChunk *cleave_source_lookup           (CleaveSource        *self,
                                                  guint64              key);
/* Decodes one chunk now, on the calling thread (benchmarks). */
CleaveSliceChunk *cleave_source_load_chunk       (CleaveSource        *self,
                                                  CleaveLayer          layer,
                                                  guint                mip,
                                                  const gint64         g[3],
                                                  GError             **error);
void              cleave_source_set_cache_budget (CleaveSource        *self,
                                                  gsize                bytes);

/* The supervoxel and root at a mip-0 voxel, on a worker thread. */
void              cleave_source_probe_async      (CleaveSource        *self,
                                                  const gint64         xyz[3],
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean          cleave_source_probe_finish     (CleaveSource        *self,
                                                  GAsyncResult        *result,
                                                  CleaveProbe         *probe,
                                                  GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveSliceChunk, cleave_slice_chunk_unref)

G_END_DECLS
