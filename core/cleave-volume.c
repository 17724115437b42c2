/* cleave-volume.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-volume"

#include "cleave-volume.h"

#include <string.h>

#include "cleave-parallel.h"

struct _CleaveVolume
{
  gatomicrefcount   ref_count;
  CleaveOcdbt      *store;
  char             *prefix;
  char             *what;
  CleaveVolumeInfo *info;
  CleaveCache      *cache;     /* owned by the unpinned volume */
  CleaveVolume     *parent;    /* pinned views share the parent's cache */
};

static CleaveVolumeInfo *
read_info (CleaveOcdbt *store,
           const char  *prefix,
           const char  *what,
           GError     **error)
{
  g_autofree char *key = g_strconcat (prefix, "info", NULL);
  g_autoptr(GBytes) bytes = NULL;
  gsize len;
  const char *data;

  if (!cleave_ocdbt_get (store, (const guint8 *) key, strlen (key), &bytes, error))
    return NULL;
  if (bytes == NULL)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_NOT_FOUND,
                   "%s: no volume here (no key '%s' in generation %" G_GUINT64_FORMAT ")",
                   what, key, cleave_ocdbt_get_version (store).generation);
      return NULL;
    }
  data = g_bytes_get_data (bytes, &len);
  return cleave_volume_info_parse (data ? data : "", len, what, error);
}

static CleaveVolume *
volume_new (CleaveOcdbt      *store,
            const char       *prefix,
            const char       *what,
            CleaveVolumeInfo *info,
            CleaveVolume     *parent)
{
  CleaveVolume *v = g_new0 (CleaveVolume, 1);

  g_atomic_ref_count_init (&v->ref_count);
  v->store = cleave_ocdbt_ref (store);
  v->prefix = g_strdup (prefix);
  v->what = g_strdup (what);
  v->info = info;
  v->parent = parent ? cleave_volume_ref (parent) : NULL;
  v->cache = parent ? parent->cache : cleave_cache_new (CLEAVE_VOLUME_DEFAULT_CACHE_BYTES);
  return v;
}

CleaveVolume *
cleave_volume_open (CleaveOcdbt *store,
                    const char  *prefix,
                    const char  *what,
                    GError     **error)
{
  CleaveVolumeInfo *info = read_info (store, prefix, what, error);

  return info ? volume_new (store, prefix, what, info, NULL) : NULL;
}

CleaveVolume *
cleave_volume_create (CleaveOcdbt            *store,
                      const char             *prefix,
                      const CleaveVolumeInfo *info,
                      const char             *what,
                      GError                **error)
{
  g_autofree char *key = g_strconcat (prefix, "info", NULL);
  g_autofree char *json = NULL;
  g_autoptr(GBytes) existing = NULL;
  g_autoptr(CleaveOcdbtTxn) txn = NULL;

  if (!cleave_volume_info_validate (info, what, error))
    return NULL;
  if (!cleave_ocdbt_get (store, (const guint8 *) key, strlen (key), &existing, error))
    return NULL;
  if (existing != NULL)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                   "%s: there is a volume here already", what);
      return NULL;
    }
  json = cleave_volume_info_to_json (info);
  txn = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_put (txn, (const guint8 *) key, strlen (key), (const guint8 *) json, strlen (json));
  if (!cleave_ocdbt_txn_commit (txn, NULL, error))
    return NULL;
  return volume_new (store, prefix, what, cleave_volume_info_copy (info), NULL);
}

static CleaveVolume *
pinned (CleaveVolume *volume,
        CleaveOcdbt  *pin,
        GError      **error)
{
  CleaveVolume *root = volume->parent ? volume->parent : volume;
  CleaveVolumeInfo *info;

  if (pin == NULL)
    return NULL;
  info = read_info (pin, volume->prefix, volume->what, error);
  if (info == NULL)
    {
      cleave_ocdbt_unref (pin);
      return NULL;
    }
  volume = volume_new (pin, root->prefix, root->what, info, root);
  cleave_ocdbt_unref (pin);
  return volume;
}

CleaveVolume *
cleave_volume_pin_generation (CleaveVolume *volume,
                              guint64       generation,
                              GError      **error)
{
  return pinned (volume, cleave_ocdbt_pin_generation (volume->store, generation, error), error);
}

CleaveVolume *
cleave_volume_pin_time (CleaveVolume *volume,
                        guint64       time_ns,
                        GError      **error)
{
  return pinned (volume, cleave_ocdbt_pin_time (volume->store, time_ns, error), error);
}

CleaveVolume *
cleave_volume_ref (CleaveVolume *volume)
{
  g_atomic_ref_count_inc (&volume->ref_count);
  return volume;
}

void
cleave_volume_unref (CleaveVolume *volume)
{
  if (volume == NULL || !g_atomic_ref_count_dec (&volume->ref_count))
    return;
  if (volume->parent)
    cleave_volume_unref (volume->parent);
  else
    cleave_cache_free (volume->cache);
  cleave_ocdbt_unref (volume->store);
  cleave_volume_info_free (volume->info);
  g_free (volume->prefix);
  g_free (volume->what);
  g_free (volume);
}

const CleaveVolumeInfo *
cleave_volume_get_info (CleaveVolume *volume)
{
  return volume->info;
}

CleaveOcdbt *
cleave_volume_get_store (CleaveVolume *volume)
{
  return volume->store;
}

const char *
cleave_volume_get_what (CleaveVolume *volume)
{
  return volume->what;
}

void
cleave_volume_set_cache_budget (CleaveVolume *volume,
                                gsize         bytes)
{
  cleave_cache_set_budget (volume->cache, bytes);
}

void
cleave_volume_get_cache_stats (CleaveVolume *volume,
                               gsize        *bytes,
                               guint64      *hits,
                               guint64      *misses)
{
  cleave_cache_get_stats (volume->cache, bytes, hits, misses);
}

static const CleaveScale *
get_scale (CleaveVolume *volume,
           guint         mip,
           GError      **error)
{
  const CleaveScale *s = cleave_volume_info_get_scale (volume->info, mip, error);

  if (s == NULL)
    g_prefix_error (error, "%s: ", volume->what);
  return s;
}

static gsize
box_voxels (const gint64 lo[3],
            const gint64 hi[3])
{
  return (gsize) (hi[0] - lo[0]) * (gsize) (hi[1] - lo[1]) * (gsize) (hi[2] - lo[2]);
}

/* With @keep FALSE a chunk not in the cache is decoded for this caller
 * only: a large region read would otherwise push what the viewer shows out
 * of the cache, and pay for fresh memory for every chunk it keeps. */
/* Where chunk @g of @mip is stored (ref->found FALSE when absent), its
 * key and its clipped shape. */
static const CleaveScale *
chunk_ref (CleaveVolume        *volume,
           guint                mip,
           const gint64         g[3],
           CleaveOcdbtValueRef *ref,
           char               **key_out,
           guint                shape[3],
           GError             **error)
{
  const CleaveScale *s = get_scale (volume, mip, error);
  gint64 lo[3], hi[3];

  if (s == NULL)
    return NULL;
  *key_out = cleave_scale_chunk_key (s, volume->prefix, g);
  if (!cleave_ocdbt_get_ref (volume->store, (const guint8 *) *key_out, strlen (*key_out), ref, error))
    return NULL;
  cleave_scale_chunk_box (s, g, lo, hi);
  for (guint d = 0; d < 3; d++)
    shape[d] = (guint) (hi[d] - lo[d]);
  return s;
}

static gboolean
get_chunk (CleaveVolume      *volume,
           guint              mip,
           const gint64       g[3],
           gboolean           keep,
           CleaveCacheEntry **entry_out,
           GError           **error)
{
  g_auto(CleaveOcdbtValueRef) ref = { 0 };
  g_autofree char *key = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree guint8 *voxels = NULL;
  const CleaveScale *s;
  guint shape[3];
  gsize size, len;
  const guint8 *data;

  *entry_out = NULL;
  s = chunk_ref (volume, mip, g, &ref, &key, shape, error);
  if (s == NULL)
    return FALSE;
  if (!ref.found)
    return TRUE;

  /* Out-of-line bytes never change where they are: that is the key. */
  if (ref.file != NULL && (*entry_out = cleave_cache_lookup (volume->cache, ref.file, ref.offset, mip)) != NULL)
    return TRUE;

  size = (gsize) shape[0] * shape[1] * shape[2] * cleave_data_type_size (volume->info->data_type);
  bytes = cleave_ocdbt_read_ref (volume->store, &ref, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &len);
  voxels = g_malloc (size);
  if (!cleave_codec_decode (s->encoding, volume->info->data_type, data ? data : (const guint8 *) "", len,
                            shape, s->block, voxels, key, error))
    {
      g_prefix_error (error, "%s: ", volume->what);
      return FALSE;
    }
  if (ref.file != NULL && keep)
    *entry_out = cleave_cache_insert (volume->cache, ref.file, ref.offset, mip, g_steal_pointer (&voxels),
                                      size, g_free);
  else
    *entry_out = cleave_cache_entry_new (g_steal_pointer (&voxels), size, g_free);
  return TRUE;
}

gboolean
cleave_volume_get_chunk (CleaveVolume      *volume,
                         guint              mip,
                         const gint64       g[3],
                         CleaveCacheEntry **entry_out,
                         GError           **error)
{
  return get_chunk (volume, mip, g, TRUE, entry_out, error);
}

gboolean
cleave_volume_get_chunk_indexed (CleaveVolume        *volume,
                                 guint                mip,
                                 const gint64         g[3],
                                 gboolean            *found,
                                 CleaveIndexedLabels *out,
                                 GError             **error)
{
  g_auto(CleaveOcdbtValueRef) ref = { 0 };
  g_autofree char *key = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const CleaveScale *s;
  guint shape[3];
  gsize len;
  const guint8 *data;

  memset (out, 0, sizeof *out);
  *found = FALSE;
  s = chunk_ref (volume, mip, g, &ref, &key, shape, error);
  if (s == NULL)
    return FALSE;
  if (!ref.found)
    return TRUE;
  bytes = cleave_ocdbt_read_ref (volume->store, &ref, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &len);
  if (!cleave_codec_decode_indexed (s->encoding, volume->info->data_type, data ? data : (const guint8 *) "", len,
                                    shape, s->block, out, key, error))
    {
      g_prefix_error (error, "%s: ", volume->what);
      return FALSE;
    }
  *found = TRUE;
  return TRUE;
}

/* The chunks a box meets: [g0, g1] inclusive along each axis. */
typedef struct
{
  CleaveVolume      *volume;
  const CleaveScale *scale;
  guint              mip;
  gint64             lo[3], hi[3];
  gint64             g0[3], count[3];
  gsize              elem;
  guint8            *buf;       /* the box's voxels */
  GBytes           **encoded;   /* write: per chunk, NULL when unchanged */
} Region;

static gsize
region_init (Region            *r,
             CleaveVolume      *volume,
             const CleaveScale *s,
             guint              mip,
             const gint64       lo[3],
             const gint64       hi[3])
{
  r->volume = volume;
  r->scale = s;
  r->mip = mip;
  r->elem = cleave_data_type_size (volume->info->data_type);
  for (guint d = 0; d < 3; d++)
    {
      r->lo[d] = lo[d];
      r->hi[d] = hi[d];
      r->g0[d] = (lo[d] - s->voxel_offset[d]) / s->chunk[d];
      r->count[d] = (hi[d] - 1 - s->voxel_offset[d]) / s->chunk[d] - r->g0[d] + 1;
    }
  return (gsize) (r->count[0] * r->count[1] * r->count[2]);
}

static void
region_chunk (Region *r,
              gsize   i,
              gint64  g[3])
{
  g[0] = r->g0[0] + (gint64) (i % r->count[0]);
  g[1] = r->g0[1] + (gint64) (i / r->count[0] % r->count[1]);
  g[2] = r->g0[2] + (gint64) (i / r->count[0] / r->count[1]);
}

/* Copies the overlap of chunk [clo, chi) and the box, row by row, from the
 * chunk to the box (@to_box) or back. */
static void
copy_overlap (Region       *r,
              const gint64  clo[3],
              const gint64  chi[3],
              guint8       *chunk,
              gboolean      to_box)
{
  gint64 a[3], b[3];
  gsize cx = chi[0] - clo[0], cy = chi[1] - clo[1];
  gsize bx = r->hi[0] - r->lo[0], by = r->hi[1] - r->lo[1];
  gsize row;

  for (guint d = 0; d < 3; d++)
    {
      a[d] = MAX (clo[d], r->lo[d]);
      b[d] = MIN (chi[d], r->hi[d]);
    }
  row = (gsize) (b[0] - a[0]) * r->elem;
  for (gint64 z = a[2]; z < b[2]; z++)
    for (gint64 y = a[1]; y < b[1]; y++)
      {
        guint8 *c = chunk + (((gsize) (z - clo[2]) * cy + (gsize) (y - clo[1])) * cx + (gsize) (a[0] - clo[0])) * r->elem;
        guint8 *x = r->buf + (((gsize) (z - r->lo[2]) * by + (gsize) (y - r->lo[1])) * bx + (gsize) (a[0] - r->lo[0])) * r->elem;

        if (to_box)
          memcpy (x, c, row);
        else
          memcpy (c, x, row);
      }
}

static gboolean
read_one (gsize     i,
          gpointer  user_data,
          GError  **error)
{
  Region *r = user_data;
  g_autoptr(CleaveCacheEntry) entry = NULL;
  gint64 g[3], clo[3], chi[3];

  region_chunk (r, i, g);
  if (!get_chunk (r->volume, r->mip, g, FALSE, &entry, error))
    return FALSE;
  cleave_scale_chunk_box (r->scale, g, clo, chi);
  if (entry != NULL)
    copy_overlap (r, clo, chi, entry->value, TRUE);
  else
    {
      /* Absent: zeros, through a zeroed chunk-sized row source. */
      g_autofree guint8 *zeros = g_malloc0 (box_voxels (clo, chi) * r->elem);
      copy_overlap (r, clo, chi, zeros, TRUE);
    }
  return TRUE;
}

gboolean
cleave_volume_read (CleaveVolume *volume,
                    guint         mip,
                    const gint64  lo[3],
                    const gint64  hi[3],
                    void         *out,
                    GError      **error)
{
  const CleaveScale *s = get_scale (volume, mip, error);
  g_autofree char *what = NULL;
  Region r = { 0 };
  gsize n;

  if (s == NULL)
    return FALSE;
  what = g_strdup_printf ("%s mip %u", volume->what, mip);
  if (!cleave_scale_check_box (s, lo, hi, what, error))
    return FALSE;
  n = region_init (&r, volume, s, mip, lo, hi);
  r.buf = out;
  return cleave_parallel_for (n, read_one, &r, error);
}

static gboolean
is_zero (const guint8 *p,
         gsize         len)
{
  return len == 0 || (p[0] == 0 && memcmp (p, p + 1, len - 1) == 0);
}

static gboolean
write_one (gsize     i,
           gpointer  user_data,
           GError  **error)
{
  Region *r = user_data;
  g_autoptr(CleaveCacheEntry) entry = NULL;
  g_autofree guint8 *chunk = NULL;
  gint64 g[3], clo[3], chi[3];
  guint shape[3];
  gsize size;

  region_chunk (r, i, g);
  if (!get_chunk (r->volume, r->mip, g, FALSE, &entry, error))
    return FALSE;
  cleave_scale_chunk_box (r->scale, g, clo, chi);
  size = box_voxels (clo, chi) * r->elem;
  chunk = entry ? g_memdup2 (entry->value, size) : g_malloc0 (size);
  copy_overlap (r, clo, chi, chunk, FALSE);

  /* Only chunks whose voxels change are written: OCDBT keeps every
   * version, so an unchanged chunk would only grow the store. */
  if (entry ? memcmp (chunk, entry->value, size) == 0 : is_zero (chunk, size))
    return TRUE;
  for (guint d = 0; d < 3; d++)
    shape[d] = (guint) (chi[d] - clo[d]);
  r->encoded[i] = cleave_codec_encode (r->scale->encoding, r->volume->info->data_type, chunk, shape, r->scale->block);
  if (r->encoded[i] == NULL)
    {
      g_autofree char *key = cleave_scale_chunk_key (r->scale, r->volume->prefix, g);
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                   "%s: %s: too many distinct labels to encode this chunk", r->volume->what, key);
      return FALSE;
    }
  return TRUE;
}

gboolean
cleave_volume_write_txn (CleaveVolume   *volume,
                         CleaveOcdbtTxn *txn,
                         guint           mip,
                         const gint64    lo[3],
                         const gint64    hi[3],
                         const void     *data,
                         guint          *n_changed_out,
                         GError        **error)
{
  const CleaveScale *s = get_scale (volume, mip, error);
  g_autofree char *what = NULL;
  Region r = { 0 };
  guint n_changed = 0;
  gboolean ok;
  gsize n;

  if (n_changed_out)
    *n_changed_out = 0;
  if (s == NULL)
    return FALSE;
  if (cleave_ocdbt_is_pinned (volume->store))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_READ_ONLY,
                   "%s: read-only: pinned to generation %" G_GUINT64_FORMAT,
                   volume->what, cleave_ocdbt_get_version (volume->store).generation);
      return FALSE;
    }
  what = g_strdup_printf ("%s mip %u", volume->what, mip);
  if (!cleave_scale_check_box (s, lo, hi, what, error))
    return FALSE;
  n = region_init (&r, volume, s, mip, lo, hi);
  r.buf = (guint8 *) data;
  r.encoded = g_new0 (GBytes *, n);
  ok = cleave_parallel_for (n, write_one, &r, error);
  for (gsize i = 0; i < n; i++)
    {
      if (r.encoded[i] == NULL)
        continue;
      if (ok)
        {
          gint64 g[3];
          g_autofree char *key = NULL;

          region_chunk (&r, i, g);
          key = cleave_scale_chunk_key (s, volume->prefix, g);
          cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) key, strlen (key), r.encoded[i]);
          n_changed++;
        }
      g_bytes_unref (r.encoded[i]);
    }
  g_free (r.encoded);
  if (n_changed_out)
    *n_changed_out = n_changed;
  return ok;
}

gboolean
cleave_volume_write (CleaveVolume *volume,
                     guint         mip,
                     const gint64  lo[3],
                     const gint64  hi[3],
                     const void   *data,
                     guint64      *generation_out,
                     guint        *n_changed_out,
                     GError      **error)
{
  g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (volume->store);

  if (!cleave_volume_write_txn (volume, txn, mip, lo, hi, data, n_changed_out, error))
    return FALSE;
  return cleave_ocdbt_txn_commit (txn, generation_out, error);
}

typedef struct
{
  const gint64 *xyz;
  gint64       *chunk_of;   /* linear chunk index per coordinate */
} LookupSort;

static int
cmp_by_chunk (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  const LookupSort *ls = user_data;
  gint64 x = ls->chunk_of[*(const gsize *) a], y = ls->chunk_of[*(const gsize *) b];

  return x < y ? -1 : x > y;
}

static guint64
voxel_at (const guint8   *voxels,
          CleaveDataType  type,
          gsize           index)
{
  switch (type)
    {
    case CLEAVE_DATA_TYPE_UINT8:
      return voxels[index];
    case CLEAVE_DATA_TYPE_UINT16:
      return ((const guint16 *) voxels)[index];
    case CLEAVE_DATA_TYPE_UINT32:
      return ((const guint32 *) voxels)[index];
    case CLEAVE_DATA_TYPE_UINT64:
    default:
      return ((const guint64 *) voxels)[index];
    }
}

typedef struct
{
  CleaveVolume      *volume;
  const CleaveScale *scale;
  guint              mip;
  const gint64      *xyz;
  const gint64      *chunk_of;
  const gsize       *order;
  gsize              n;
  gsize             *starts;
  gint64             gx, gy;
  guint64           *out;
  gsize              n_groups;
} LookupGroups;

static gboolean
lookup_group (gsize     i,
              gpointer  user_data,
              GError  **error)
{
  LookupGroups *lg = user_data;
  g_autoptr(CleaveCacheEntry) entry = NULL;
  gsize k = lg->starts[i], end = i + 1 < lg->n_groups ? lg->starts[i + 1] : lg->n;
  gint64 c = lg->chunk_of[lg->order[k]];
  gint64 g[3] = { c % lg->gx, c / lg->gx % lg->gy, c / lg->gx / lg->gy }, clo[3], chi[3];

  if (!cleave_volume_get_chunk (lg->volume, lg->mip, g, &entry, error))
    return FALSE;
  cleave_scale_chunk_box (lg->scale, g, clo, chi);
  for (; k < end; k++)
    {
      const gint64 *p = lg->xyz + 3 * lg->order[k];
      gsize index = ((gsize) (p[2] - clo[2]) * (gsize) (chi[1] - clo[1]) + (gsize) (p[1] - clo[1]))
                    * (gsize) (chi[0] - clo[0]) + (gsize) (p[0] - clo[0]);

      lg->out[lg->order[k]] = entry ? voxel_at (entry->value, lg->volume->info->data_type, index) : 0;
    }
  return TRUE;
}

gboolean
cleave_volume_lookup (CleaveVolume *volume,
                      guint         mip,
                      const gint64 *xyz,
                      gsize         n,
                      guint64      *out,
                      GError      **error)
{
  const CleaveScale *s = get_scale (volume, mip, error);
  g_autofree gint64 *chunk_of = NULL;
  g_autofree gsize *order = NULL;
  gint64 grid[3];
  LookupSort ls;

  if (s == NULL)
    return FALSE;
  cleave_scale_grid_size (s, grid);
  chunk_of = g_new (gint64, MAX (n, 1));
  order = g_new (gsize, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      const gint64 *p = xyz + 3 * i;
      gint64 g[3];

      for (guint d = 0; d < 3; d++)
        {
          if (p[d] < s->voxel_offset[d] || p[d] >= s->voxel_offset[d] + s->size[d])
            {
              g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_OUT_OF_BOUNDS,
                           "%s mip %u: %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                           " is outside the volume (%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                           ":%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ")",
                           volume->what, mip, p[0], p[1], p[2],
                           s->voxel_offset[0], s->voxel_offset[1], s->voxel_offset[2],
                           s->voxel_offset[0] + s->size[0], s->voxel_offset[1] + s->size[1],
                           s->voxel_offset[2] + s->size[2]);
              return FALSE;
            }
          g[d] = (p[d] - s->voxel_offset[d]) / s->chunk[d];
        }
      chunk_of[i] = (g[2] * grid[1] + g[1]) * grid[0] + g[0];
      order[i] = i;
    }
  ls = (LookupSort) { xyz, chunk_of };
  g_qsort_with_data (order, (gint) n, sizeof *order, cmp_by_chunk, &ls);

  /* One group per chunk; groups are decoded in parallel. */
  {
    g_autoptr(GArray) starts = g_array_new (FALSE, FALSE, sizeof (gsize));
    LookupGroups lg = { volume, s, mip, xyz, chunk_of, order, n, NULL, grid[0], grid[1], out };

    for (gsize k = 0; k < n; k++)
      if (k == 0 || chunk_of[order[k]] != chunk_of[order[k - 1]])
        g_array_append_val (starts, k);
    lg.starts = (gsize *) starts->data;
    lg.n_groups = starts->len;
    if (!cleave_parallel_for (starts->len, lookup_group, &lg, error))
      return FALSE;
  }
  return TRUE;
}
