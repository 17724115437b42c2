/* cleave-pyramid.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-pyramid"

#include "cleave-pyramid.h"

#include <math.h>
#include <string.h>

#include "algo/cleave-downsample.h"
#include "cleave-fault.h"

G_DEFINE_QUARK (cleave-pyramid-error-quark, cleave_pyramid_error)

#define MAX_MIPS 24

gboolean
cleave_pyramid_factor (const CleaveVolumeInfo *info,
                       const char             *what,
                       guint                   factor[3],
                       GError                **error)
{
  for (guint k = 0; k < 3; k++)
    factor[k] = 1;
  for (guint m = 1; m < info->scales->len; m++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, m);
      const CleaveScale *prev = &g_array_index (info->scales, CleaveScale, m - 1);
      guint f[3];

      for (guint k = 0; k < 3; k++)
        {
          double ratio = s->resolution[k] / prev->resolution[k];
          double r = round (ratio);

          if (r < 1 || r > 1024 || fabs (ratio - r) > 1e-6 * ratio)
            {
              g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                           "%s: scale '%s' is %g times as coarse as scale '%s' along %c, "
                           "not a whole number of times", what, s->key, ratio, prev->key, "xyz"[k]);
              return FALSE;
            }
          f[k] = (guint) r;
        }
      if (m > 1 && memcmp (f, factor, sizeof f) != 0)
        {
          const CleaveScale *s1 = &g_array_index (info->scales, CleaveScale, 1);

          g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_NON_UNIFORM,
                       "%s: scale '%s' is downsampled %ux%ux%u from the scale before it but scale '%s' "
                       "%ux%ux%u; the mip pyramid needs one factor for every scale",
                       what, s->key, f[0], f[1], f[2], s1->key, factor[0], factor[1], factor[2]);
          return FALSE;
        }
      memcpy (factor, f, sizeof f);
    }
  return TRUE;
}

static const CleaveScale *
scale_at (const CleaveVolumeInfo *info,
          guint                   m)
{
  return &g_array_index (info->scales, CleaveScale, m);
}

gboolean
cleave_pyramid_init (CleavePyramid          *p,
                     const CleaveVolumeInfo *info,
                     const char             *what,
                     GError                **error)
{
  const CleaveScale *s0 = scale_at (info, 0);
  guint K;

  memset (p, 0, sizeof *p);
  if (!cleave_pyramid_factor (info, what, p->factor, error))
    return FALSE;
  K = p->n_mips = info->scales->len - 1;
  p->sparse = g_strcmp0 (info->downsampling, "mode_sparse") == 0;
  for (guint k = 0; k < 3; k++)
    {
      p->size[k] = s0->size[k];
      p->offset[k] = s0->voxel_offset[k];
      p->block[k] = scale_at (info, K)->chunk[k];
    }
  if (K == 0)
    return TRUE;
  if (K > MAX_MIPS)
    {
      g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                   "%s: %u mips are more than the worker handles (%u)", what, K + 1, MAX_MIPS + 1);
      return FALSE;
    }
  if (!info->segmentation || info->data_type != CLEAVE_DATA_TYPE_UINT64 || !cleave_downsample_mode_supported (p->factor))
    {
      g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                   "%s: the downsample worker handles uint64 segmentations downsampled 2x2x1 or 2x2x2, "
                   "not %s %ux%ux%u", what, cleave_data_type_to_name (info->data_type),
                   p->factor[0], p->factor[1], p->factor[2]);
      return FALSE;
    }
  for (guint m = 1; m <= K; m++)
    {
      const CleaveScale *s = scale_at (info, m), *prev = scale_at (info, m - 1);

      for (guint k = 0; k < 3; k++)
        {
          gint64 f = p->factor[k], fm = 1;

          for (guint i = 0; i < m; i++)
            fm *= f;
          if (s->size[k] != (prev->size[k] + f - 1) / f)
            {
              g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                           "%s: scale '%s' is %" G_GINT64_FORMAT " voxels along %c, not ceil(%" G_GINT64_FORMAT
                           " / %" G_GINT64_FORMAT ") as the factor makes it", what, s->key, s->size[k], "xyz"[k],
                           prev->size[k], f);
              return FALSE;
            }
          if (s->voxel_offset[k] * fm != s0->voxel_offset[k])
            {
              g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                           "%s: scale '%s' has voxel_offset %" G_GINT64_FORMAT " along %c, which is not mip 0's "
                           "%" G_GINT64_FORMAT " divided by %" G_GINT64_FORMAT, what, s->key, s->voxel_offset[k],
                           "xyz"[k], s0->voxel_offset[k], fm);
              return FALSE;
            }
          p->block[k] *= f;
        }
    }
  /* Every mip's chunks must tile a block exactly. */
  for (guint m = 0; m <= K; m++)
    for (guint k = 0; k < 3; k++)
      {
        gint64 fm = 1;

        for (guint i = 0; i < m; i++)
          fm *= p->factor[k];
        if ((p->block[k] / fm) % scale_at (info, m)->chunk[k] != 0)
          {
            g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_UNSUPPORTED,
                         "%s: scale '%s' has chunks of %u along %c, which do not tile the pyramid's blocks "
                         "(%" G_GINT64_FORMAT " voxels of that scale)", what, scale_at (info, m)->key,
                         scale_at (info, m)->chunk[k], "xyz"[k], p->block[k] / fm);
            return FALSE;
          }
      }
  return TRUE;
}

static gint64
floor_div (gint64 a,
           gint64 b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void
cleave_pyramid_blocks_for_bbox (const CleavePyramid *p,
                                const gint64         bbox[6],
                                GArray              *out)
{
  gint64 lo[3], hi[3];

  for (guint k = 0; k < 3; k++)
    {
      gint64 a = MAX (bbox[k] - p->offset[k], 0), b = MIN (bbox[3 + k] - p->offset[k], p->size[k]);

      if (b <= a)
        return;
      lo[k] = floor_div (a, p->block[k]);
      hi[k] = floor_div (b - 1, p->block[k]) + 1;
    }
  for (gint64 x = lo[0]; x < hi[0]; x++)
    for (gint64 y = lo[1]; y < hi[1]; y++)
      for (gint64 z = lo[2]; z < hi[2]; z++)
        {
          gint64 b[3] = { x, y, z };

          g_array_append_vals (out, b, 3);
        }
}

void
cleave_pyramid_block_box (const CleavePyramid *p,
                          const gint64         b[3],
                          gint64               lo[3],
                          gint64               hi[3])
{
  for (guint k = 0; k < 3; k++)
    {
      lo[k] = p->offset[k] + MIN (b[k] * p->block[k], p->size[k]);
      hi[k] = p->offset[k] + MIN ((b[k] + 1) * p->block[k], p->size[k]);
    }
}

/* One block's work. Coordinates are relative to each mip's voxel_offset. */
typedef struct
{
  CleaveVolume           *seg;
  const CleaveVolumeInfo *info;
  const CleavePyramid    *p;
  CleaveOcdbtTxn         *txn;
  CleavePyramidStats     *stats;
  gint64                 *boxes;      /* the bboxes, clipped to the block, relative */
  guint                   n_boxes;
  gint64                  size[MAX_MIPS + 1][3];
  gint64                  fm[MAX_MIPS + 1][3];   /* factor^m */
} Block;

static gsize
voxels (const gint64 lo[3],
        const gint64 hi[3])
{
  return (gsize) (hi[0] - lo[0]) * (gsize) (hi[1] - lo[1]) * (gsize) (hi[2] - lo[2]);
}

/* Whether the mip-0 footprint of [lo, hi) at mip @m meets a bbox. */
static gboolean
meets_bbox (Block        *bk,
            guint         m,
            const gint64  lo[3],
            const gint64  hi[3])
{
  for (guint i = 0; i < bk->n_boxes; i++)
    {
      const gint64 *bb = bk->boxes + 6 * i;
      guint k;

      for (k = 0; k < 3; k++)
        if (lo[k] * bk->fm[m][k] >= bb[3 + k] || hi[k] * bk->fm[m][k] <= bb[k])
          break;
      if (k == 3)
        return TRUE;
    }
  return FALSE;
}

static gboolean
io_read (Block        *bk,
         guint         m,
         const gint64  lo[3],
         const gint64  hi[3],
         guint64      *out,
         GError      **error)
{
  const CleaveScale *s = scale_at (bk->info, m);
  gint64 alo[3], ahi[3];

  for (guint k = 0; k < 3; k++)
    {
      alo[k] = lo[k] + s->voxel_offset[k];
      ahi[k] = hi[k] + s->voxel_offset[k];
    }
  return cleave_volume_read (bk->seg, m, alo, ahi, out, error);
}

static gboolean
io_write (Block        *bk,
          guint         m,
          const gint64  lo[3],
          const gint64  hi[3],
          const guint64 *data,
          GError      **error)
{
  const CleaveScale *s = scale_at (bk->info, m);
  gint64 alo[3], ahi[3];
  guint n_changed = 0;

  for (guint k = 0; k < 3; k++)
    {
      alo[k] = lo[k] + s->voxel_offset[k];
      ahi[k] = hi[k] + s->voxel_offset[k];
    }
  if (!cleave_volume_write_txn (bk->seg, bk->txn, m, alo, ahi, data, &n_changed, error))
    return FALSE;
  if (bk->stats)
    bk->stats->chunks_written += n_changed;
  return TRUE;
}

/* Copies box [lo, hi) out of (or into) a buffer holding [blo, bhi). */
static void
copy_box (guint64       *dst,
          const gint64   dlo[3],
          const gint64   dhi[3],
          const guint64 *src,
          const gint64   slo[3],
          const gint64   shi[3],
          const gint64   lo[3],
          const gint64   hi[3])
{
  gsize dx = dhi[0] - dlo[0], dy = dhi[1] - dlo[1];
  gsize sx = shi[0] - slo[0], sy = shi[1] - slo[1];
  gsize w = (hi[0] - lo[0]) * sizeof (guint64);

  for (gint64 z = lo[2]; z < hi[2]; z++)
    for (gint64 y = lo[1]; y < hi[1]; y++)
      memcpy (dst + ((z - dlo[2]) * dy + (y - dlo[1])) * dx + (lo[0] - dlo[0]),
              src + ((z - slo[2]) * sy + (y - slo[1])) * sx + (lo[0] - slo[0]), w);
}

/* The tiles (chunks) of mip @m that [lo, hi) touches, as boxes clipped to
 * it, 6 gint64 each. */
static GArray *
tiles_of (Block        *bk,
          guint         m,
          const gint64  lo[3],
          const gint64  hi[3])
{
  const CleaveScale *s = scale_at (bk->info, m);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 t0[3], t1[3];

  for (guint k = 0; k < 3; k++)
    {
      t0[k] = lo[k] / s->chunk[k];
      t1[k] = (hi[k] - 1) / s->chunk[k] + 1;
    }
  for (gint64 z = t0[2]; z < t1[2]; z++)
    for (gint64 y = t0[1]; y < t1[1]; y++)
      for (gint64 x = t0[0]; x < t1[0]; x++)
        {
          gint64 t[3] = { x, y, z }, box[6];

          for (guint k = 0; k < 3; k++)
            {
              box[k] = MAX (lo[k], t[k] * s->chunk[k]);
              box[3 + k] = MIN (hi[k], (t[k] + 1) * s->chunk[k]);
            }
          g_array_append_vals (out, box, 6);
        }
  return out;
}

/* Writes the tiles of mip @m in [lo, hi) that meet a bbox, from @buf
 * (holding [lo, hi)). */
static gboolean
write_tiles (Block         *bk,
             guint          m,
             const gint64   lo[3],
             const gint64   hi[3],
             const guint64 *buf,
             GError       **error)
{
  g_autoptr(GArray) tiles = tiles_of (bk, m, lo, hi);
  guint n = tiles->len / 6, n_meet = 0;
  g_autofree gboolean *meet = g_new0 (gboolean, n);

  for (guint i = 0; i < n; i++)
    {
      const gint64 *box = &g_array_index (tiles, gint64, 6 * i);

      meet[i] = meets_bbox (bk, m, box, box + 3);
      n_meet += meet[i];
    }
  if (n_meet == n)
    return io_write (bk, m, lo, hi, buf, error);
  for (guint i = 0; i < n; i++)
    {
      const gint64 *box = &g_array_index (tiles, gint64, 6 * i);
      g_autofree guint64 *part = NULL;

      if (!meet[i])
        continue;
      part = g_new (guint64, voxels (box, box + 3));
      copy_box (part, box, box + 3, buf, lo, hi, box, box + 3);
      if (!io_write (bk, m, box, box + 3, part, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
in_memory (Block        *bk,
           const gint64  rlo[3],
           const gint64  rhi[3],
           GError      **error)
{
  const CleavePyramid *p = bk->p;
  g_autofree guint64 *buf0 = g_new (guint64, voxels (rlo, rhi));
  guint64 *bufs[MAX_MIPS] = { NULL };
  gsize size[3];
  gboolean ok = FALSE;
  gsize sizes[3];

  if (!io_read (bk, 0, rlo, rhi, buf0, error))
    return FALSE;
  cleave_fault_point ("downsample-read");
  for (guint k = 0; k < 3; k++)
    size[k] = sizes[k] = rhi[k] - rlo[k];
  for (guint m = 0; m < p->n_mips; m++)
    {
      cleave_downsample_out_size (sizes, p->factor, sizes);
      bufs[m] = g_new (guint64, sizes[0] * sizes[1] * sizes[2]);
    }
  cleave_downsample_mode_mips (buf0, size, p->factor, p->sparse, p->n_mips, bufs);
  for (guint k = 0; k < 3; k++)
    sizes[k] = size[k];
  for (guint m = 1; m <= p->n_mips; m++)
    {
      gint64 lo[3], hi[3];

      cleave_downsample_out_size (sizes, p->factor, sizes);
      for (guint k = 0; k < 3; k++)
        {
          lo[k] = rlo[k] / bk->fm[m][k];
          hi[k] = lo[k] + (gint64) sizes[k];
        }
      if (!write_tiles (bk, m, lo, hi, bufs[m - 1], error))
        goto out;
    }
  ok = TRUE;

out:
  for (guint m = 0; m < p->n_mips; m++)
    g_free (bufs[m]);
  return ok;
}

/* Mip @m over [lo, hi), made from the mip below (recursively where a bbox
 * meets it, else as stored) and written: depth first, so only a few tiles
 * per mip are in memory at once. */
static guint64 *
produce (Block        *bk,
         guint         m,
         const gint64  lo[3],
         const gint64  hi[3],
         GError      **error)
{
  const CleavePyramid *p = bk->p;
  gint64 clo[3], chi[3];
  g_autofree guint64 *child = NULL;
  g_autoptr(GArray) pieces = NULL;
  g_autofree guint64 *out = NULL;
  gsize csize[3];

  for (guint k = 0; k < 3; k++)
    {
      clo[k] = lo[k] * p->factor[k];
      chi[k] = MIN (hi[k] * p->factor[k], bk->size[m - 1][k]);
      csize[k] = chi[k] - clo[k];
    }
  child = g_new (guint64, voxels (clo, chi));
  pieces = tiles_of (bk, m - 1, clo, chi);
  for (guint i = 0; i < pieces->len / 6; i++)
    {
      const gint64 *box = &g_array_index (pieces, gint64, 6 * i);
      g_autofree guint64 *part = NULL;

      if (m - 1 >= 1 && meets_bbox (bk, m - 1, box, box + 3))
        part = produce (bk, m - 1, box, box + 3, error);
      else
        {
          part = g_new (guint64, voxels (box, box + 3));
          if (!io_read (bk, m - 1, box, box + 3, part, error))
            g_clear_pointer (&part, g_free);
        }
      if (part == NULL)
        return NULL;
      copy_box (child, clo, chi, part, box, box + 3, box, box + 3);
    }
  out = g_new (guint64, voxels (lo, hi));
  cleave_downsample_mode (child, csize, p->factor, p->sparse, out);
  if (!io_write (bk, m, lo, hi, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

static gboolean
per_tile (Block        *bk,
          const gint64  rlo[3],
          const gint64  rhi[3],
          GError      **error)
{
  guint K = bk->p->n_mips;
  gint64 lo[3], hi[3];
  g_autoptr(GArray) tiles = NULL;

  for (guint k = 0; k < 3; k++)
    {
      lo[k] = rlo[k] / bk->fm[K][k];
      hi[k] = MIN ((rhi[k] + bk->fm[K][k] - 1) / bk->fm[K][k], bk->size[K][k]);
    }
  tiles = tiles_of (bk, K, lo, hi);
  for (guint i = 0; i < tiles->len / 6; i++)
    {
      const gint64 *box = &g_array_index (tiles, gint64, 6 * i);
      g_autofree guint64 *done = NULL;

      if (!meets_bbox (bk, K, box, box + 3))
        continue;
      done = produce (bk, K, box, box + 3, error);
      if (done == NULL)
        return FALSE;
      cleave_fault_point ("downsample-tile");
    }
  return TRUE;
}

gboolean
cleave_pyramid_process_block (CleaveVolume        *seg,
                              const CleavePyramid *p,
                              const gint64         b[3],
                              const gint64        *bboxes,
                              guint                n,
                              gsize                budget,
                              CleaveOcdbtTxn      *txn,
                              CleavePyramidStats  *stats,
                              GError             **error)
{
  Block bk = { seg, cleave_volume_get_info (seg), p, txn, stats };
  g_autofree gint64 *boxes = g_new (gint64, 6 * MAX (n, 1));
  gint64 blo[3], bhi[3], rlo[3], rhi[3];
  gboolean ok;

  if (p->n_mips == 0)
    return TRUE;
  if (budget == 0)
    budget = CLEAVE_PYRAMID_DEFAULT_BUDGET;
  for (guint k = 0; k < 3; k++)
    {
      blo[k] = MIN (b[k] * p->block[k], p->size[k]);
      bhi[k] = MIN ((b[k] + 1) * p->block[k], p->size[k]);
      rlo[k] = G_MAXINT64;
      rhi[k] = G_MININT64;
    }
  /* The bboxes inside the block, and their union. */
  for (guint i = 0; i < n; i++)
    {
      const gint64 *bb = bboxes + 6 * i;
      gint64 *c = boxes + 6 * bk.n_boxes;
      guint k;

      for (k = 0; k < 3; k++)
        {
          if (bb[3 + k] < bb[k])
            {
              g_set_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_INVALID,
                           "%s: bbox %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                           ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT " ends before it starts",
                           cleave_volume_get_what (seg), bb[0], bb[1], bb[2], bb[3], bb[4], bb[5]);
              return FALSE;
            }
          c[k] = MAX (bb[k] - p->offset[k], blo[k]);
          c[3 + k] = MIN (bb[3 + k] - p->offset[k], bhi[k]);
          if (c[3 + k] <= c[k])
            break;
        }
      if (k < 3)
        continue;
      for (k = 0; k < 3; k++)
        {
          rlo[k] = MIN (rlo[k], c[k]);
          rhi[k] = MAX (rhi[k], c[3 + k]);
        }
      bk.n_boxes++;
    }
  if (bk.n_boxes == 0)
    return TRUE;
  bk.boxes = boxes;
  for (guint m = 0; m <= p->n_mips; m++)
    for (guint k = 0; k < 3; k++)
      {
        bk.size[m][k] = scale_at (bk.info, m)->size[k];
        bk.fm[m][k] = m == 0 ? 1 : bk.fm[m - 1][k] * p->factor[k];
      }
  /* Aligned outward to factor^K, so every coarse voxel's footprint is
   * whole, and clipped back to the block. */
  for (guint k = 0; k < 3; k++)
    {
      gint64 F = bk.fm[p->n_mips][k];

      rlo[k] = MAX (rlo[k] / F * F, blo[k]);
      rhi[k] = MIN ((rhi[k] + F - 1) / F * F, bhi[k]);
    }
  if (voxels (rlo, rhi) * sizeof (guint64) <= budget)
    {
      ok = in_memory (&bk, rlo, rhi, error);
      if (stats)
        stats->in_memory++;
    }
  else
    {
      ok = per_tile (&bk, rlo, rhi, error);
      if (stats)
        stats->per_tile++;
    }
  if (ok && stats)
    {
      stats->blocks++;
      stats->voxels += voxels (rlo, rhi);
    }
  return ok;
}
