/* cleave-import.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-import"

#include "cleave-import.h"

#include <gio/gio.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cleave-dataset.h"
#include "cleave-node-id.h"
#include "cleave-parallel.h"
#include "cleave-queue.h"
#include "cleave-worker.h"
#include "cleave-util.h"

/* Values put in one transaction before it is committed, so an import of
 * any size runs in bounded memory. */
#define COMMIT_BYTES (256u << 20)
#define BATCH 64

static CleaveVolumeInfo *
read_source_info (const char *src,
                  GError    **error)
{
  g_autofree char *path = g_build_filename (src, "info", NULL);
  g_autofree char *json = NULL;
  gsize len;

  if (!g_file_test (src, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_NOT_FOUND, "%s: no such directory", src);
      return NULL;
    }
  if (!g_file_get_contents (path, &json, &len, NULL))
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_NOT_FOUND,
                   "%s: not a precomputed volume (no info file)", src);
      return NULL;
    }
  return cleave_volume_info_parse (json, len, path, error);
}

/* A chunk file, plain or gzip'd as NAME.gz; NULL without an error when
 * there is neither (the chunk is all zero). */
static GBytes *
read_chunk_file (const char *path,
                 GError    **error)
{
  g_autofree char *gz = g_strconcat (path, ".gz", NULL);
  g_autoptr(GFile) file = NULL;
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GConverter) zlib = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  char *data;
  gsize len;

  if (g_file_get_contents (path, &data, &len, NULL))
    return g_bytes_new_take (data, len);
  if (!g_file_test (gz, G_FILE_TEST_EXISTS))
    return NULL;
  file = g_file_new_for_path (gz);
  raw = G_INPUT_STREAM (g_file_read (file, NULL, error));
  if (raw == NULL)
    return NULL;
  zlib = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
  in = g_converter_input_stream_new (raw, zlib);
  out = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                              NULL, error) < 0)
    {
      g_prefix_error (error, "%s: ", gz);
      return NULL;
    }
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

typedef struct
{
  const char             *src;
  const CleaveVolumeInfo *from;
  const CleaveVolumeInfo *to;
  guint                   mip;
  gint64                  grid[3];
  gsize                   first;     /* of this batch */
  GBytes                **values;    /* per chunk of the batch; NULL: nothing to write */
  char                  **keys;
  gboolean                relabel;   /* labels become layer-1 ids per chunk */
  guint                   bits;      /* per chunk axis in those ids */
  GArray                **agg;       /* per chunk of the batch: guint64 pairs (new id, label) */
} Batch;

/* Gives each label of chunk @g its own layer-1 id in that chunk, in the
 * order of the labels (so an import is the same every time), and records
 * the (id, label) pairs. Runs of one label are the common case: one hash
 * lookup per run, not per voxel. */
static gboolean
relabel_chunk (guint64       *voxels,
               gsize          n,
               const gint64   g[3],
               guint          bits,
               GArray        *pairs,
               const char    *path,
               GError       **error)
{
  g_autoptr(GHashTable) ids = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint64 last = 0, last_id = 0;

  for (gsize k = 0; k < n; k++)
    if (voxels[k] != 0 && voxels[k] != last)
      {
        last = voxels[k];
        if (!g_hash_table_contains (ids, &voxels[k]))
          {
            g_array_append_val (labels, last);
            g_hash_table_add (ids, &voxels[k]);
          }
      }
  if (labels->len >= cleave_node_id_segment_limit (bits))
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                   "%s: %u labels in one chunk are more than layer-1 ids can number", path, labels->len);
      return FALSE;
    }
  g_array_sort (labels, cleave_cmp_u64);
  /* The table's keys pointed into @voxels, which is about to change. */
  g_hash_table_remove_all (ids);
  g_array_set_size (pairs, 2 * labels->len);
  for (guint i = 0; i < labels->len; i++)
    {
      guint64 *pair = &g_array_index (pairs, guint64, 2 * i);

      pair[0] = cleave_node_id_make (1, bits, (guint64) g[0], (guint64) g[1], (guint64) g[2], i + 1);
      pair[1] = g_array_index (labels, guint64, i);
      g_hash_table_insert (ids, &pair[1], &pair[0]);
    }
  last = 0;
  for (gsize k = 0; k < n; k++)
    if (voxels[k] != 0)
      {
        if (voxels[k] != last)
          {
            last = voxels[k];
            last_id = *(guint64 *) g_hash_table_lookup (ids, &last);
          }
        voxels[k] = last_id;
      }
  return TRUE;
}

static gboolean
is_zero (const guint8 *p,
         gsize         len)
{
  return len == 0 || (p[0] == 0 && memcmp (p, p + 1, len - 1) == 0);
}

static gboolean
convert_one (gsize     i,
             gpointer  user_data,
             GError  **error)
{
  Batch *b = user_data;
  const CleaveScale *fs = &g_array_index (b->from->scales, CleaveScale, b->mip);
  const CleaveScale *ts = &g_array_index (b->to->scales, CleaveScale, b->mip);
  gsize c = b->first + i;
  gint64 g[3] = { c % b->grid[0], c / b->grid[0] % b->grid[1], c / b->grid[0] / b->grid[1] };
  g_autofree char *key = cleave_scale_chunk_key (fs, "", g);
  g_autofree char *path = g_build_filename (b->src, key, NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local = NULL;
  gint64 lo[3], hi[3];
  guint shape[3];
  gsize n, len, esize = cleave_data_type_size (b->from->data_type);
  g_autofree guint8 *voxels = NULL;
  const guint8 *data;

  bytes = read_chunk_file (path, &local);
  if (bytes == NULL)
    {
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      return TRUE;
    }
  b->keys[i] = g_steal_pointer (&key);

  /* Same type and encoding: the bytes are copied as they are (decoded
   * once all the same, so a damaged chunk is caught here, not later). */
  cleave_scale_chunk_box (fs, g, lo, hi);
  for (guint d = 0; d < 3; d++)
    shape[d] = (guint) (hi[d] - lo[d]);
  n = (gsize) shape[0] * shape[1] * shape[2];
  voxels = g_malloc (n * 8);
  data = g_bytes_get_data (bytes, &len);
  if (!cleave_codec_decode (fs->encoding, b->from->data_type, data ? data : (const guint8 *) "", len, shape,
                            fs->block, voxels, path, error))
    return FALSE;
  if (is_zero (voxels, n * esize))
    return TRUE;
  if (!b->relabel && b->from->data_type == b->to->data_type && fs->encoding == ts->encoding &&
      (fs->encoding == CLEAVE_ENCODING_RAW || memcmp (fs->block, ts->block, sizeof fs->block) == 0))
    {
      b->values[i] = g_steal_pointer (&bytes);
      return TRUE;
    }
  /* Narrower labels widen to uint64, in place from the end. */
  for (gsize k = n; esize < 8 && k > 0; k--)
    ((guint64 *) voxels)[k - 1] = esize == 4 ? ((guint32 *) voxels)[k - 1]
                                  : esize == 2 ? ((guint16 *) voxels)[k - 1] : voxels[k - 1];
  if (b->relabel)
    {
      b->agg[i] = g_array_new (FALSE, FALSE, sizeof (guint64));
      if (!relabel_chunk ((guint64 *) voxels, n, g, b->bits, b->agg[i], path, error))
        return FALSE;
    }
  b->values[i] = cleave_codec_encode (ts->encoding, b->to->data_type, voxels, shape, ts->block);
  if (b->values[i] == NULL)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                   "%s: too many distinct labels to encode this chunk", path);
      return FALSE;
    }
  return TRUE;
}

/* Copies the scales [0, n_mips) of @from into @to. With @agg, mip 0's
 * labels become layer-1 ids and each (id, label) pair goes to @agg. */
static gboolean
copy_volume (const char             *src,
             const CleaveVolumeInfo *from,
             CleaveVolume           *to,
             guint                   n_mips,
             FILE                   *agg,
             const char             *what,
             CleaveImportProgress    progress,
             gpointer                user_data,
             GError                **error)
{
  CleaveOcdbt *store = cleave_volume_get_store (to);
  g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (store);
  guint64 pending = 0;

  for (guint mip = 0; mip < n_mips; mip++)
    {
      Batch b = { src, from, cleave_volume_get_info (to), mip };
      g_autofree char *label = g_strdup_printf ("%s mip %u", what, mip);
      gsize total;

      cleave_scale_grid_size (&g_array_index (from->scales, CleaveScale, mip), b.grid);
      total = (gsize) (b.grid[0] * b.grid[1] * b.grid[2]);
      for (b.first = 0; b.first < total; b.first += BATCH)
        {
          gsize n = MIN (BATCH, total - b.first);
          gboolean ok;

          b.values = g_new0 (GBytes *, n);
          b.keys = g_new0 (char *, n);
          b.relabel = agg != NULL && mip == 0;
          b.bits = cleave_node_bits_per_axis (1, 0, CLEAVE_NODE_DEFAULT_SPATIAL_BITS);
          b.agg = g_new0 (GArray *, n);
          ok = cleave_parallel_for (n, convert_one, &b, error);
          for (gsize i = 0; i < n; i++)
            {
              for (guint k = 0; ok && b.agg[i] && k < b.agg[i]->len; k += 2)
                fprintf (agg, "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n", g_array_index (b.agg[i], guint64, k),
                         g_array_index (b.agg[i], guint64, k + 1));
              if (b.agg[i])
                g_array_unref (b.agg[i]);
              if (ok && b.values[i] != NULL)
                {
                  cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) b.keys[i], strlen (b.keys[i]), b.values[i]);
                  pending += g_bytes_get_size (b.values[i]);
                }
              g_clear_pointer (&b.values[i], g_bytes_unref);
              g_free (b.keys[i]);
            }
          g_free (b.values);
          g_free (b.keys);
          g_free (b.agg);
          if (!ok)
            return FALSE;
          if (pending >= COMMIT_BYTES)
            {
              if (!cleave_ocdbt_txn_commit (txn, NULL, error))
                return FALSE;
              g_clear_pointer (&txn, cleave_ocdbt_txn_free);
              txn = cleave_ocdbt_txn_new (store);
              pending = 0;
            }
          if (progress)
            progress (label, b.first + n, total, user_data);
        }
    }
  return cleave_ocdbt_txn_commit (txn, NULL, error);
}

gboolean
cleave_import (const char           *src_seg,
               const char           *src_image,
               const char           *dir,
               CleaveImportProgress  progress,
               gpointer              user_data,
               GError              **error)
{
  g_autoptr(CleaveVolumeInfo) seg_from = read_source_info (src_seg, error);
  g_autoptr(CleaveVolumeInfo) image_from = NULL;
  g_autoptr(CleaveVolumeInfo) seg_to = NULL;
  g_autoptr(CleaveVolume) seg = NULL;
  g_autoptr(CleaveVolume) image = NULL;
  g_autofree char *agg_tmp = NULL;
  g_autofree char *agg_path = NULL;
  FILE *agg;
  gboolean ok;

  if (seg_from == NULL)
    return FALSE;
  if (!seg_from->segmentation)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                   "%s: an image, not a segmentation (give it with --image)", src_seg);
      return FALSE;
    }
  if (src_image != NULL)
    {
      image_from = read_source_info (src_image, error);
      if (image_from == NULL)
        return FALSE;
      if (image_from->segmentation || image_from->data_type != CLEAVE_DATA_TYPE_UINT8)
        {
          g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                       "%s: the image must be a uint8 image volume", src_image);
          return FALSE;
        }
      for (guint m = 0; m < image_from->scales->len; m++)
        if (g_array_index (image_from->scales, CleaveScale, m).encoding != CLEAVE_ENCODING_RAW)
          {
            g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                         "%s: the image must be raw-encoded", src_image);
            return FALSE;
          }
    }

  seg_to = cleave_volume_info_copy (seg_from);
  seg_to->data_type = CLEAVE_DATA_TYPE_UINT64;
  for (guint m = 0; m < seg_to->scales->len; m++)
    {
      CleaveScale *s = &g_array_index (seg_to->scales, CleaveScale, m);

      if (s->encoding != CLEAVE_ENCODING_COMPRESSED_SEGMENTATION)
        s->block[0] = s->block[1] = s->block[2] = 8;
      s->encoding = CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
    }
  /* The coarser mips are rebuilt here, so the info says how: the sparse
   * variant only when the source's own info asked for it, else the dense
   * one the reference's worker uses. Later edits' pyramids follow it. */
  g_free (seg_to->downsampling);
  seg_to->downsampling = g_strdup (g_strcmp0 (seg_from->downsampling, "mode_sparse") == 0 ? "mode_sparse" : "mode");

  /* Layer-1 ids number chunks in a fixed number of bits per axis. */
  {
    const CleaveScale *s0 = &g_array_index (seg_from->scales, CleaveScale, 0);
    guint bits = cleave_node_bits_per_axis (1, 0, CLEAVE_NODE_DEFAULT_SPATIAL_BITS);
    gint64 grid[3];

    cleave_scale_grid_size (s0, grid);
    for (guint k = 0; k < 3; k++)
      if (grid[k] > (G_GINT64_CONSTANT (1) << bits))
        {
          g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                       "%s: %" G_GINT64_FORMAT " chunks along axis %c at mip 0; supervoxel ids hold at most %"
                       G_GINT64_FORMAT " (use larger chunks)", src_seg, grid[k], "xyz"[k],
                       G_GINT64_CONSTANT (1) << bits);
          return FALSE;
        }
  }

  if (!cleave_dataset_create (dir, seg_to, image_from, &seg, &image, error))
    return FALSE;
  agg_tmp = g_build_filename (dir, "agglomeration.tsv.part", NULL);
  agg = fopen (agg_tmp, "w");
  if (agg == NULL)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", agg_tmp, g_strerror (saved));
      return FALSE;
    }
  /* The agglomeration is each supervoxel's original label: the labels are
   * the initial objects when the graph is built. */
  fputs ("# sv\tagglomeration (the imported label)\n", agg);
  /* Mip 0 only: the coarser mips must hold the new ids, so they are
   * rebuilt from it (cleave_import_build_pyramid) once the graph exists. */
  ok = copy_volume (src_seg, seg_from, seg, 1, agg, "segmentation", progress, user_data, error);
  if (fclose (agg) != 0 && ok)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", agg_tmp, g_strerror (saved));
      ok = FALSE;
    }
  if (!ok)
    return FALSE;
  agg_path = g_build_filename (dir, "agglomeration.tsv", NULL);
  if (g_rename (agg_tmp, agg_path) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", agg_path, g_strerror (saved));
      return FALSE;
    }
  if (image_from != NULL &&
      !copy_volume (src_image, image_from, image, image_from->scales->len, NULL, "image", progress, user_data, error))
    return FALSE;
  return cleave_dataset_finish (dir, error);
}

gboolean
cleave_import_build_pyramid (const char  *dir,
                             GError     **error)
{
  CleaveWorkerOptions options;
  g_autoptr(CleaveWorker) worker = NULL;
  const gint64 all[6] = { G_MININT64 / 4, G_MININT64 / 4, G_MININT64 / 4, G_MAXINT64 / 4, G_MAXINT64 / 4, G_MAXINT64 / 4 };

  cleave_worker_options_init (&options);
  worker = cleave_worker_new (dir, &options, error);
  if (worker == NULL)
    return FALSE;
  /* One job over the whole volume, done here: the dataset is handed over
   * with its pyramid complete and nothing queued. */
  return cleave_queue_enqueue (cleave_worker_get_graph (worker), 0, all, 1, error) &&
         cleave_worker_drain (worker, NULL, error);
}
