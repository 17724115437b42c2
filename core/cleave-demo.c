/* cleave-demo.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-demo"

#include "cleave-demo.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "algo/cleave-downsample.h"
#include "cleave-dataset.h"
#include "cleave-node-id.h"
#include "cleave-parallel.h"
#include "cleave-util.h"

/* Geometry is in voxels along x and y; z distances are scaled by the
 * anisotropy (z resolution / x resolution) so tubes are round in nm. */

#define STEP          14.0    /* path step, in xy voxels */
#define PIECE_STEPS   6       /* path steps per supervoxel along an object */
#define N_EACH_ERROR  2

typedef struct
{
  double p0[3], p1[3];
  double r0, r1;
  guint32 piece;
} Segment;

typedef struct
{
  double p[3];
  double r;
} PathPoint;

typedef struct
{
  gint64   size[3];
  double   az;                 /* z voxel length in xy voxel lengths */
  GRand   *rand;
  GArray  *segments;           /* Segment */
  GArray  *piece_object;       /* guint32, index = piece id */
  guint32  n_objects;
  /* Rasterized: per voxel, the piece owning it (0: none). */
  guint32 *piece;
  float   *best;
} Demo;

typedef struct
{
  double source[3];
  double sink[3];
} ErrorPoints;

void
cleave_demo_params_init (CleaveDemoParams *p)
{
  p->size[0] = 512, p->size[1] = 512, p->size[2] = 128;
  p->chunk[0] = 64, p->chunk[1] = 64, p->chunk[2] = 32;
  p->resolution[0] = 8, p->resolution[1] = 8, p->resolution[2] = 40;
  p->n_mips = 3;
  p->seed = 1;
}

static double
rand_range (Demo  *d,
            double lo,
            double hi)
{
  return g_rand_double_range (d->rand, lo, hi);
}

static void
normalize (double v[3])
{
  double n = sqrt (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);

  for (guint i = 0; i < 3; i++)
    v[i] /= n > 0 ? n : 1;
}

/* A direction in physical space, mostly within the section plane. */
static void
random_direction (Demo   *d,
                  double  dir[3])
{
  /* Uniform on the sphere: neurites cross the sections at every angle,
   * most as round or oval profiles. */
  double a = rand_range (d, 0, 2 * G_PI), z = rand_range (d, -1, 1), r = sqrt (1 - z * z);

  dir[0] = r * cos (a);
  dir[1] = r * sin (a);
  dir[2] = z;
}

static gboolean
inside (Demo         *d,
        const double  p[3],
        double        margin)
{
  for (guint i = 0; i < 3; i++)
    {
      double m = i == 2 ? margin / d->az : margin;
      if (p[i] < -m || p[i] > d->size[i] + m)
        return FALSE;
    }
  return TRUE;
}

/* Walks from @start along a slowly turning direction until it leaves the
 * volume (or @max_steps); points are in voxels, radius in xy voxels. */
static GArray *
grow (Demo         *d,
      const double  start[3],
      const double  dir0[3],
      double        radius,
      guint         max_steps)
{
  GArray *path = g_array_new (FALSE, FALSE, sizeof (PathPoint));
  double dir[3] = { dir0[0], dir0[1], dir0[2] };
  double phase = rand_range (d, 0, 2 * G_PI), freq = rand_range (d, 0.15, 0.4);
  PathPoint pt = { { start[0], start[1], start[2] }, radius };

  g_array_append_val (path, pt);
  for (guint s = 1; s <= max_steps && inside (d, pt.p, radius); s++)
    {
      for (guint i = 0; i < 3; i++)
        dir[i] += rand_range (d, -0.22, 0.22);
      normalize (dir);
      pt.p[0] += dir[0] * STEP;
      pt.p[1] += dir[1] * STEP;
      pt.p[2] += dir[2] * STEP / d->az;
      pt.r = radius * (1 + 0.25 * sin (phase + s * freq));
      g_array_append_val (path, pt);
    }
  return path;
}

/* A path through @through with direction @dir: grown both ways. */
static GArray *
grow_through (Demo         *d,
              const double  through[3],
              const double  dir[3],
              double        radius,
              guint        *index_of_through)
{
  double back[3] = { -dir[0], -dir[1], -dir[2] };
  g_autoptr(GArray) b = grow (d, through, back, radius, 200);
  g_autoptr(GArray) f = grow (d, through, dir, radius, 200);
  GArray *path = g_array_new (FALSE, FALSE, sizeof (PathPoint));

  for (guint i = b->len; i > 1; i--)
    g_array_append_val (path, g_array_index (b, PathPoint, i - 1));
  *index_of_through = path->len;
  g_array_append_vals (path, f->data, f->len);
  return path;
}

/* Turns a path into segments of object @object, a new piece every
 * PIECE_STEPS steps; returns the piece of each point in @piece_of. */
static void
add_path (Demo    *d,
          GArray  *path,
          guint32  object,
          GArray  *piece_of)
{
  guint32 piece = 0;

  for (guint i = 0; i + 1 < path->len; i++)
    {
      const PathPoint *a = &g_array_index (path, PathPoint, i), *b = &g_array_index (path, PathPoint, i + 1);
      Segment s;

      if (i % PIECE_STEPS == 0)
        {
          piece = d->piece_object->len;
          g_array_append_val (d->piece_object, object);
        }
      memcpy (s.p0, a->p, sizeof s.p0);
      memcpy (s.p1, b->p, sizeof s.p1);
      s.r0 = a->r;
      s.r1 = b->r;
      s.piece = piece;
      g_array_append_val (d->segments, s);
      if (piece_of)
        g_array_append_val (piece_of, piece);
    }
  if (piece_of && path->len > 0)
    g_array_append_val (piece_of, piece);
}

/* One object: a trunk and a branch or two. */
static void
add_object (Demo         *d,
            GArray       *trunk,
            GArray       *piece_of)
{
  guint32 object = ++d->n_objects;
  guint n_branches = g_rand_int_range (d->rand, 0, 3);

  add_path (d, trunk, object, piece_of);
  for (guint b = 0; b < n_branches && trunk->len > 6; b++)
    {
      guint at = g_rand_int_range (d->rand, 2, trunk->len - 2);
      const PathPoint *p = &g_array_index (trunk, PathPoint, at);
      double dir[3];
      g_autoptr(GArray) branch = NULL;

      random_direction (d, dir);
      branch = grow (d, p->p, dir, p->r * 0.6, g_rand_int_range (d->rand, 6, 20));
      add_path (d, branch, object, NULL);
    }
}

static void
random_point (Demo   *d,
              double  p[3])
{
  for (guint i = 0; i < 3; i++)
    p[i] = rand_range (d, 0.15, 0.85) * d->size[i];
}

/* Object B placed to touch object A at point i of A's trunk: B's axis passes
 * through a point beside A's axis, close enough that the tubes overlap. */
static GArray *
touching_path (Demo       *d,
               GArray     *a_path,
               guint       i,
               double      side,
               double      rb,
               guint      *index_of_contact,
               double      contact[3])
{
  const PathPoint *pa = &g_array_index (a_path, PathPoint, i);
  const PathPoint *pn = &g_array_index (a_path, PathPoint, MIN (i + 1, a_path->len - 1));
  double along[3] = { pn->p[0] - pa->p[0], pn->p[1] - pa->p[1], 0 };
  double u[3], dir[3];
  double gap = (pa->r + rb) * 0.8;

  normalize (along);
  u[0] = -along[1] * side;
  u[1] = along[0] * side;
  u[2] = 0;
  for (guint k = 0; k < 3; k++)
    contact[k] = pa->p[k] + u[k] * gap;
  /* Across A, tilted out of the section plane. */
  dir[0] = along[1] + along[0] * 0.3;
  dir[1] = -along[0] + along[1] * 0.3;
  dir[2] = rand_range (d, -0.5, 0.5);
  normalize (dir);
  return grow_through (d, contact, dir, rb, index_of_contact);
}

/* Whether p and q sit in one chunk, a few voxels from its faces. */
static gboolean
same_chunk_inside (const double  p[3],
                   const double  q[3],
                   const guint   chunk[3],
                   const gint64  size[3])
{
  for (guint k = 0; k < 3; k++)
    {
      double lo = MIN (p[k], q[k]), hi = MAX (p[k], q[k]);
      gint64 c = (gint64) floor (lo) / chunk[k];
      double m = k == 2 ? 1.5 : 4;

      if (lo < m || hi > size[k] - m - 1 || (gint64) floor (hi) / (gint64) chunk[k] != c ||
          lo - c * chunk[k] < m || (c + 1) * chunk[k] - hi < m)
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  Demo *d;
} RasterCtx;

static gboolean
raster_plane (gsize     z,
              gpointer  user_data,
              GError  **error)
{
  Demo *d = ((RasterCtx *) user_data)->d;
  gsize sx = d->size[0], sy = d->size[1];
  guint32 *piece = d->piece + z * sx * sy;
  float *best = d->best + z * sx * sy;
  double az = d->az;

  for (guint s = 0; s < d->segments->len; s++)
    {
      const Segment *g = &g_array_index (d->segments, Segment, s);
      double rmax = MAX (g->r0, g->r1);
      double zlo = MIN (g->p0[2], g->p1[2]) - rmax / az, zhi = MAX (g->p0[2], g->p1[2]) + rmax / az;
      double v[3] = { g->p1[0] - g->p0[0], g->p1[1] - g->p0[1], (g->p1[2] - g->p0[2]) * az };
      double vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
      gint64 x0, x1, y0, y1;

      if ((double) z < zlo - 1 || (double) z > zhi + 1)
        continue;
      x0 = MAX (0, (gint64) floor (MIN (g->p0[0], g->p1[0]) - rmax));
      x1 = MIN ((gint64) sx - 1, (gint64) ceil (MAX (g->p0[0], g->p1[0]) + rmax));
      y0 = MAX (0, (gint64) floor (MIN (g->p0[1], g->p1[1]) - rmax));
      y1 = MIN ((gint64) sy - 1, (gint64) ceil (MAX (g->p0[1], g->p1[1]) + rmax));
      for (gint64 y = y0; y <= y1; y++)
        for (gint64 x = x0; x <= x1; x++)
          {
            double w[3] = { x + 0.5 - g->p0[0], y + 0.5 - g->p0[1], (z + 0.5 - g->p0[2]) * az };
            double t = vv > 0 ? (w[0] * v[0] + w[1] * v[1] + w[2] * v[2]) / vv : 0;
            double e[3], dist, r, nd;
            gsize i = (gsize) y * sx + (gsize) x;

            t = CLAMP (t, 0, 1);
            for (guint k = 0; k < 3; k++)
              e[k] = w[k] - t * v[k];
            dist = sqrt (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
            r = g->r0 + t * (g->r1 - g->r0);
            nd = dist / r;
            /* Ties go to the lower piece: the result never depends on
             * which thread drew what first. */
            if (nd < 1 && (nd < best[i] || (nd == best[i] && g->piece < piece[i])))
              {
                best[i] = (float) nd;
                piece[i] = g->piece;
              }
          }
    }
  return TRUE;
}

static guint64
hash64 (guint64 x)
{
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return x;
}

typedef struct
{
  guint64 a, b;
} SvPair;

typedef struct
{
  guint64 same;   /* contact faces inside one true object */
  guint64 other;  /* faces between two objects */
} Contact;

static int
cmp_u32 (gconstpointer a,
         gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static int
cmp_pair (gconstpointer a,
          gconstpointer b)
{
  const SvPair *x = a, *y = b;
  return x->a != y->a ? (x->a < y->a ? -1 : 1) : (x->b < y->b ? -1 : x->b > y->b);
}

static guint
pair_hash (gconstpointer p)
{
  const SvPair *k = p;
  return (guint) hash64 (k->a * 31 + k->b);
}

static gboolean
pair_equal (gconstpointer a,
            gconstpointer b)
{
  const SvPair *x = a, *y = b;
  return x->a == y->a && x->b == y->b;
}

static void
add_point (JsonBuilder  *b,
           const char   *name,
           const double  p[3])
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint k = 0; k < 3; k++)
    json_builder_add_int_value (b, (gint64) floor (p[k]));
  json_builder_end_array (b);
}

static void
add_triple_int (JsonBuilder *b,
                const char  *name,
                gint64       x,
                gint64       y,
                gint64       z)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  json_builder_add_int_value (b, x);
  json_builder_add_int_value (b, y);
  json_builder_add_int_value (b, z);
  json_builder_end_array (b);
}

static void
add_errors (JsonBuilder       *b,
            const char        *name,
            const char        *first,
            const char        *second,
            const ErrorPoints *e,
            guint              n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      add_point (b, first, e[i].source);
      add_point (b, second, e[i].sink);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static gboolean
write_text (const char *dir,
            const char *name,
            const char *text,
            gsize       len,
            GError    **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_set_contents (path, text, len, error);
}

static CleaveVolumeInfo *
pyramid_info (const CleaveDemoParams *p,
              gboolean                segmentation)
{
  CleaveVolumeInfo *info = cleave_volume_info_new (segmentation,
                                                   segmentation ? CLEAVE_DATA_TYPE_UINT64 : CLEAVE_DATA_TYPE_UINT8);

  /* What step 6 uses, recorded for the downsample worker. */
  info->downsampling = g_strdup (segmentation ? "mode" : "mean");

  for (guint m = 0; m < p->n_mips; m++)
    {
      double f = (double) (1u << m);
      g_autofree char *key = g_strdup_printf ("%g_%g_%g", p->resolution[0] * f, p->resolution[1] * f, p->resolution[2]);
      CleaveScale *s = cleave_volume_info_add_scale (info, key);

      for (guint k = 0; k < 3; k++)
        {
          s->size[k] = k == 2 ? p->size[2] : MAX (1, (p->size[k] + (1 << m) - 1) >> m);
          s->resolution[k] = k == 2 ? p->resolution[2] : p->resolution[k] * f;
          s->chunk[k] = p->chunk[k];
          s->block[k] = 8;
        }
      s->encoding = segmentation ? CLEAVE_ENCODING_COMPRESSED_SEGMENTATION : CLEAVE_ENCODING_RAW;
    }
  return info;
}

/* The image value of one voxel: bright noisy cytoplasm, dark membranes
 * where the true object changes, grey extracellular space. */
static guint8
image_value (const guint32 *object,
             gsize          sx,
             gsize          sy,
             gsize          x,
             gsize          y,
             gsize          z,
             guint64        seed)
{
  gsize i = (z * sy + y) * sx + x;
  guint32 o = object[i];
  gboolean membrane = FALSE;
  guint64 h = hash64 (seed * 0x9E3779B97F4A7C15ull + i);
  int noise = (int) (h % 41) - 20, v;

  if (x > 0 && object[i - 1] != o)
    membrane = TRUE;
  else if (x + 1 < sx && object[i + 1] != o)
    membrane = TRUE;
  else if (y > 0 && object[i - sx] != o)
    membrane = TRUE;
  else if (y + 1 < sy && object[i + sx] != o)
    membrane = TRUE;
  v = membrane ? 55 : o != 0 ? 175 : 118;
  v += noise + (o != 0 && !membrane ? (int) (hash64 (o) % 21) - 10 : 0);
  return (guint8) CLAMP (v, 0, 255);
}

typedef struct
{
  Demo                   *d;
  const CleaveDemoParams *p;
  const guint32          *object;     /* true object per voxel */
  const guint32          *alias;      /* piece -> piece after sv merges */
  guint64                *sv;         /* out: sv ids, whole volume */
  guint                   bits;
  gint64                  grid[3];
} SvCtx;

/* Layer-1 ids for one chunk: its pieces in increasing order get segment
 * ids 1, 2, ... with the chunk's coordinates. */
static gboolean
label_chunk (gsize     c,
             gpointer  user_data,
             GError  **error)
{
  SvCtx *ctx = user_data;
  Demo *d = ctx->d;
  gsize sx = d->size[0], sy = d->size[1];
  gint64 g[3] = { c % ctx->grid[0], c / ctx->grid[0] % ctx->grid[1], c / ctx->grid[0] / ctx->grid[1] };
  gint64 lo[3], hi[3];
  g_autoptr(GHashTable) ids = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) pieces = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (guint k = 0; k < 3; k++)
    {
      lo[k] = g[k] * ctx->p->chunk[k];
      hi[k] = MIN (lo[k] + ctx->p->chunk[k], d->size[k]);
    }
  for (gint64 z = lo[2]; z < hi[2]; z++)
    for (gint64 y = lo[1]; y < hi[1]; y++)
      for (gint64 x = lo[0]; x < hi[0]; x++)
        {
          guint32 pc = ctx->alias[d->piece[((gsize) z * sy + y) * sx + x]];

          if (pc != 0 && !g_hash_table_contains (ids, GUINT_TO_POINTER (pc)))
            {
              g_hash_table_add (ids, GUINT_TO_POINTER (pc));
              g_array_append_val (pieces, pc);
            }
        }
  g_array_sort (pieces, cmp_u32);
  g_hash_table_remove_all (ids);
  for (guint i = 0; i < pieces->len; i++)
    g_hash_table_insert (ids, GUINT_TO_POINTER (g_array_index (pieces, guint32, i)), GUINT_TO_POINTER (i + 1));
  for (gint64 z = lo[2]; z < hi[2]; z++)
    for (gint64 y = lo[1]; y < hi[1]; y++)
      for (gint64 x = lo[0]; x < hi[0]; x++)
        {
          gsize i = ((gsize) z * sy + y) * sx + x;
          guint32 pc = ctx->alias[d->piece[i]];

          ctx->sv[i] = pc == 0 ? 0 : cleave_node_id_make (1, ctx->bits, g[0], g[1], g[2],
                                                            GPOINTER_TO_UINT (g_hash_table_lookup (ids, GUINT_TO_POINTER (pc))));
        }
  return TRUE;
}

gboolean
cleave_demo_create (const char             *dir,
                    const CleaveDemoParams *p,
                    CleaveDemoProgress      progress,
                    gpointer                user_data,
                    GError                **error)
{
  Demo d = { 0 };
  gsize sx = p->size[0], sy = p->size[1], sz = p->size[2], n = sx * sy * sz;
  g_autofree guint32 *object = NULL;
  g_autofree guint32 *alias = NULL;
  g_autofree guint *uf = NULL;
  g_autofree guint64 *sv = NULL;
  g_autofree guint8 *image = NULL;
  g_autoptr(CleaveVolumeInfo) seg_info = NULL;
  g_autoptr(CleaveVolumeInfo) image_info = NULL;
  g_autoptr(CleaveVolume) seg = NULL;
  g_autoptr(CleaveVolume) img = NULL;
  g_autoptr(GHashTable) contacts = NULL;
  g_autoptr(GHashTable) sv_piece = NULL;
  ErrorPoints merge_err[N_EACH_ERROR], sv_merge_err[N_EACH_ERROR], split_err[N_EACH_ERROR];
  guint n_merge = 0, n_sv_merge = 0, n_split = 0;
  g_autoptr(GPtrArray) trunk_pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  guint n_objects;
  gboolean ok = FALSE;
  RasterCtx rc = { &d };

  for (guint k = 0; k < 3; k++)
    if (p->size[k] < 16 || p->size[k] > 4096 || p->chunk[k] < 8 || p->chunk[k] > 1024)
      {
        g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                     "%s: sizes must be 16 to 4096 voxels and chunks 8 to 1024 voxels along each axis", dir);
        return FALSE;
      }
  if (p->n_mips < 1 || (1u << (p->n_mips - 1)) > MIN (p->size[0], p->size[1]))
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                   "%s: %u mips do not fit a volume of %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, dir,
                   p->n_mips, p->size[0], p->size[1]);
      return FALSE;
    }

  /* 1. Objects. Pairs made to touch carry the deliberate errors. */
  memcpy (d.size, p->size, sizeof d.size);
  d.az = p->resolution[2] / p->resolution[0];
  d.rand = g_rand_new_with_seed ((guint32) (p->seed ^ (p->seed >> 32)));
  d.segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  d.piece_object = g_array_new (FALSE, FALSE, sizeof (guint32));
  {
    guint32 none = 0;
    g_array_append_val (d.piece_object, none);   /* piece 0: no object */
  }
  /* Densely packed, as neuropil is: about 150 objects in the default volume. */
  n_objects = MAX (12, (guint) ((double) sx * sy * sz / (512.0 * 512 * 128) * 150));
  if (progress)
    progress ("objects", 0, user_data);

  for (guint e = 0; e < 2 * N_EACH_ERROR; e++)
    {
      /* A: a trunk through the middle; B: touching it in one chunk. */
      for (guint attempt = 0; attempt < 200; attempt++)
        {
          double start[3], dir[3], contact[3];
          double ra = rand_range (&d, 7, 12), rb = rand_range (&d, 6, 11);
          g_autoptr(GArray) a = NULL;
          g_autoptr(GArray) b = NULL;
          GArray *a_pieces, *b_pieces;
          guint ic = 0, i, mid;
          double side = g_rand_boolean (d.rand) ? 1 : -1;

          random_point (&d, start);
          random_direction (&d, dir);
          a = grow_through (&d, start, dir, ra, &mid);
          if (a->len < 8)
            continue;
          i = g_rand_int_range (d.rand, 2, a->len - 2);
          if (!inside (&d, g_array_index (a, PathPoint, i).p, -12))
            continue;
          b = touching_path (&d, a, i, side, rb, &ic, contact);
          if (b->len < 8 || ic < 2 || ic + 2 >= b->len)
            continue;
          /* sv merge: both points in one chunk, so one supervoxel holds
           * both. merge: three steps away from the contact on each side. */
          if (e < N_EACH_ERROR)
            {
              const double *pa = g_array_index (a, PathPoint, i).p;

              /* A point where two pieces meet belongs to the lower one;
               * keep both points inside the pieces that get fused. */
              if (i % PIECE_STEPS == 0 || ic % PIECE_STEPS == 0 ||
                  !same_chunk_inside (pa, contact, p->chunk, p->size))
                continue;
              memcpy (sv_merge_err[n_sv_merge].source, pa, sizeof (double[3]));
              memcpy (sv_merge_err[n_sv_merge].sink, contact, sizeof (double[3]));
            }
          else
            {
              const double *pa = g_array_index (a, PathPoint, i > 3 ? i - 3 : i + 3).p;
              const double *pb = g_array_index (b, PathPoint, ic > 3 ? ic - 3 : ic + 3).p;

              if (!inside (&d, pa, -6) || !inside (&d, pb, -6))
                continue;
              memcpy (merge_err[n_merge].source, pa, sizeof (double[3]));
              memcpy (merge_err[n_merge].sink, pb, sizeof (double[3]));
            }
          a_pieces = g_array_new (FALSE, FALSE, sizeof (guint32));
          b_pieces = g_array_new (FALSE, FALSE, sizeof (guint32));
          add_object (&d, a, a_pieces);
          add_object (&d, b, b_pieces);
          if (e < N_EACH_ERROR)
            {
              /* The pieces to fuse into one supervoxel: A's at the
               * source, B's at the sink. */
              guint32 fuse[2] = { g_array_index (a_pieces, guint32, i), g_array_index (b_pieces, guint32, ic) };
              GArray *f = g_array_new (FALSE, FALSE, sizeof (guint32));

              g_array_append_vals (f, fuse, 2);
              g_ptr_array_add (trunk_pieces, a_pieces);
              g_ptr_array_add (trunk_pieces, b_pieces);
              g_ptr_array_add (trunk_pieces, f);
              n_sv_merge++;
            }
          else
            {
              g_ptr_array_add (trunk_pieces, a_pieces);
              g_ptr_array_add (trunk_pieces, b_pieces);
              n_merge++;
            }
          break;
        }
    }
  if (n_sv_merge < N_EACH_ERROR || n_merge < N_EACH_ERROR)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                   "%s: could not place the deliberate errors in a volume this small; use a larger --size", dir);
      goto out;
    }

  /* Split errors: one object, its agglomeration cut between two pieces. */
  {
    guint32 first_split_object = d.n_objects + 1;

    for (guint e = 0; e < N_EACH_ERROR; e++)
      for (guint attempt = 0; attempt < 200; attempt++)
        {
          double start[3], dir[3];
          guint mid, k;
          g_autoptr(GArray) t = NULL;
          GArray *pieces;

          random_point (&d, start);
          random_direction (&d, dir);
          t = grow_through (&d, start, dir, rand_range (&d, 7, 12), &mid);
          if (t->len < 3 * PIECE_STEPS)
            continue;
          k = (t->len / 2 / PIECE_STEPS) * PIECE_STEPS;   /* first point of a piece */
          if (k < PIECE_STEPS || !inside (&d, g_array_index (t, PathPoint, k - 2).p, -6) ||
              !inside (&d, g_array_index (t, PathPoint, k + 2).p, -6))
            continue;
          memcpy (split_err[n_split].source, g_array_index (t, PathPoint, k - 2).p, sizeof (double[3]));
          memcpy (split_err[n_split].sink, g_array_index (t, PathPoint, k + 2).p, sizeof (double[3]));
          pieces = g_array_new (FALSE, FALSE, sizeof (guint32));
          add_object (&d, t, pieces);
          g_ptr_array_add (trunk_pieces, pieces);
          n_split++;
          break;
        }
    if (n_split < N_EACH_ERROR)
      {
        g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                     "%s: could not place the split errors in a volume this small; use a larger --size", dir);
        goto out;
      }
    (void) first_split_object;
  }

  /* The rest: plain objects. */
  while (d.n_objects < n_objects)
    {
      double start[3], dir[3];
      guint mid;
      g_autoptr(GArray) t = NULL;

      random_point (&d, start);
      random_direction (&d, dir);
      t = grow_through (&d, start, dir, rand_range (&d, 5, 14), &mid);
      add_object (&d, t, NULL);
    }

  /* 2. Rasterize: each voxel to the piece whose tube is nearest,
   * relative to its radius. */
  if (progress)
    progress ("rasterize", 0.1, user_data);
  d.piece = g_new0 (guint32, n);
  d.best = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    d.best[i] = 2;
  if (!cleave_parallel_for (sz, raster_plane, &rc, error))
    goto out;
  object = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    object[i] = g_array_index (d.piece_object, guint32, d.piece[i]);

  /* 3. Errors in the labels and the agglomeration. */
  alias = g_new (guint32, d.piece_object->len);
  uf = g_new (guint, d.piece_object->len);
  for (guint i = 0; i < d.piece_object->len; i++)
    alias[i] = uf[i] = i;
  /* Pieces of one object agglomerate... */
  {
    g_autofree guint32 *first = g_new0 (guint32, d.n_objects + 1);

    for (guint i = 1; i < d.piece_object->len; i++)
      {
        guint32 o = g_array_index (d.piece_object, guint32, i);
        if (first[o] == 0)
          first[o] = i;
        else
          cleave_uf_union (uf, first[o], i);
      }
  }
  {
    /* Layout of trunk_pieces: per sv-merge error A, B, fuse; per merge
     * error A, B; per split error T. */
    guint t = 0;

    for (guint e = 0; e < N_EACH_ERROR; e++, t += 3)
      {
        GArray *fuse = trunk_pieces->pdata[t + 2];
        guint32 pa = g_array_index (fuse, guint32, 0), pb = g_array_index (fuse, guint32, 1);

        alias[pb] = pa;
        cleave_uf_union (uf, pa, pb);
      }
    for (guint e = 0; e < N_EACH_ERROR; e++, t += 2)
      {
        GArray *a = trunk_pieces->pdata[t], *b = trunk_pieces->pdata[t + 1];
        cleave_uf_union (uf, g_array_index (a, guint32, 0), g_array_index (b, guint32, 0));
      }
    for (guint e = 0; e < N_EACH_ERROR; e++, t++)
      {
        GArray *tp = trunk_pieces->pdata[t];
        guint32 o = g_array_index (d.piece_object, guint32, g_array_index (tp, guint32, 0));
        guint k = (tp->len / 2 / PIECE_STEPS) * PIECE_STEPS;
        guint32 cut = g_array_index (tp, guint32, k);

        /* Redo this object's unions: pieces before the cut, and from it on. */
        for (guint i = 1; i < d.piece_object->len; i++)
          if (g_array_index (d.piece_object, guint32, i) == o)
            uf[i] = i;
        for (guint i = 1; i < d.piece_object->len; i++)
          if (g_array_index (d.piece_object, guint32, i) == o)
            cleave_uf_union (uf, i < cut ? g_array_index (tp, guint32, 0) : cut, i);
      }
  }

  /* 4. Supervoxel ids, chunk by chunk. */
  if (progress)
    progress ("supervoxels", 0.35, user_data);
  sv = g_new (guint64, n);
  {
    SvCtx ctx = { &d, p, object, alias, sv, cleave_node_bits_per_axis (1, 0, CLEAVE_NODE_DEFAULT_SPATIAL_BITS) };

    for (guint k = 0; k < 3; k++)
      ctx.grid[k] = (p->size[k] + p->chunk[k] - 1) / p->chunk[k];
    if (!cleave_parallel_for (ctx.grid[0] * ctx.grid[1] * ctx.grid[2], label_chunk, &ctx, error))
      goto out;
  }

  /* 5. Contact edges (6-connected faces), split by whether the two voxels
   * belong to one true object. */
  if (progress)
    progress ("edges", 0.45, user_data);
  contacts = g_hash_table_new_full (pair_hash, pair_equal, g_free, g_free);
  sv_piece = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (gsize z = 0; z < sz; z++)
    for (gsize y = 0; y < sy; y++)
      for (gsize x = 0; x < sx; x++)
        {
          gsize i = (z * sy + y) * sx + x;
          const gsize step[3] = { 1, sx, sx * sy };
          const gboolean has[3] = { x + 1 < sx, y + 1 < sy, z + 1 < sz };

          if (sv[i] == 0)
            continue;
          if (!g_hash_table_contains (sv_piece, &sv[i]))
            g_hash_table_insert (sv_piece, g_memdup2 (&sv[i], 8), GUINT_TO_POINTER (alias[d.piece[i]]));
          for (guint k = 0; k < 3; k++)
            {
              gsize j = i + step[k];
              SvPair key;
              Contact *c;

              if (!has[k] || sv[j] == 0 || sv[j] == sv[i])
                continue;
              key.a = MIN (sv[i], sv[j]);
              key.b = MAX (sv[i], sv[j]);
              c = g_hash_table_lookup (contacts, &key);
              if (c == NULL)
                {
                  c = g_new0 (Contact, 1);
                  g_hash_table_insert (contacts, g_memdup2 (&key, sizeof key), c);
                }
              if (object[i] == object[j])
                c->same++;
              else
                c->other++;
            }
        }

  /* 6. The dataset: seg (all mips) in one commit, the image in another. */
  if (progress)
    progress ("image", 0.55, user_data);
  image = g_new (guint8, n);
  for (gsize z = 0; z < sz; z++)
    for (gsize y = 0; y < sy; y++)
      for (gsize x = 0; x < sx; x++)
        image[(z * sy + y) * sx + x] = image_value (object, sx, sy, x, y, z, p->seed);

  seg_info = pyramid_info (p, TRUE);
  image_info = pyramid_info (p, FALSE);
  if (!cleave_dataset_create (dir, seg_info, image_info, &seg, &img, error))
    goto out;
  {
    g_autoptr(CleaveOcdbtTxn) seg_txn = cleave_ocdbt_txn_new (cleave_volume_get_store (seg));
    g_autoptr(CleaveOcdbtTxn) img_txn = cleave_ocdbt_txn_new (cleave_volume_get_store (img));
    g_autofree guint64 *seg_mip = g_memdup2 (sv, n * 8);
    g_autofree guint8 *img_mip = g_memdup2 (image, n);
    gint64 mx = sx, my = sy;

    for (guint m = 0; m < p->n_mips; m++)
      {
        gint64 lo[3] = { 0, 0, 0 }, hi[3] = { mx, my, (gint64) sz };

        if (progress)
          progress ("write", 0.6 + 0.35 * m / p->n_mips, user_data);
        if (!cleave_volume_write_txn (seg, seg_txn, m, lo, hi, seg_mip, NULL, error) ||
            !cleave_volume_write_txn (img, img_txn, m, lo, hi, img_mip, NULL, error))
          goto out;
        if (m + 1 < p->n_mips)
          {
            gint64 nx = (mx + 1) / 2, ny = (my + 1) / 2;
            guint64 *s2 = g_new (guint64, (gsize) nx * ny * sz);
            guint8 *i2 = g_new (guint8, (gsize) nx * ny * sz);

            cleave_downsample_mode_2x2x1 (seg_mip, mx, my, sz, s2);
            cleave_downsample_mean_2x2x1 (img_mip, mx, my, sz, i2);
            g_free (seg_mip);
            g_free (img_mip);
            seg_mip = s2;
            img_mip = i2;
            mx = nx;
            my = ny;
          }
      }
    if (progress)
      progress ("commit", 0.95, user_data);
    if (!cleave_ocdbt_txn_commit (seg_txn, NULL, error) || !cleave_ocdbt_txn_commit (img_txn, NULL, error))
      goto out;
  }
  if (!cleave_dataset_finish (dir, error))
    goto out;

  /* 7. The files the graph ingest reads, and the errors' locations. */
  {
    g_autoptr(GString) edges = g_string_new ("# sv_a\tsv_b\taffinity\tarea\n");
    g_autoptr(GString) agg = g_string_new ("# sv\tagglomeration\n");
    g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (SvPair));
    g_autoptr(GArray) svs = g_array_new (FALSE, FALSE, sizeof (guint64));
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init (&it, contacts);
    while (g_hash_table_iter_next (&it, &k, &v))
      g_array_append_val (keys, *(SvPair *) k);
    /* Sorted, so the files are identical run to run. */
    g_array_sort (keys, cmp_pair);
    for (guint i = 0; i < keys->len; i++)
      {
        SvPair *key = &g_array_index (keys, SvPair, i);
        Contact *c = g_hash_table_lookup (contacts, key);
        guint32 pa = GPOINTER_TO_UINT (g_hash_table_lookup (sv_piece, &key->a));
        guint32 pb = GPOINTER_TO_UINT (g_hash_table_lookup (sv_piece, &key->b));
        double jitter = (hash64 (key->a ^ (key->b * 3)) % 1000) / 1000.0;

        if (pa == pb)
          g_string_append_printf (edges, "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\tinf\t%" G_GUINT64_FORMAT "\n",
                                  key->a, key->b, c->same + c->other);
        else
          {
            double same = 0.82 + 0.15 * jitter, other = 0.05 + 0.25 * jitter;
            double aff = (c->same * same + c->other * other) / (double) (c->same + c->other);

            g_string_append_printf (edges, "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%.4f\t%" G_GUINT64_FORMAT "\n",
                                    key->a, key->b, aff, c->same + c->other);
          }
      }
    g_hash_table_iter_init (&it, sv_piece);
    while (g_hash_table_iter_next (&it, &k, &v))
      g_array_append_val (svs, *(guint64 *) k);
    g_array_sort (svs, cleave_cmp_u64);
    for (guint i = 0; i < svs->len; i++)
      {
        guint64 id = g_array_index (svs, guint64, i);
        guint32 pc = GPOINTER_TO_UINT (g_hash_table_lookup (sv_piece, &id));

        g_string_append_printf (agg, "%" G_GUINT64_FORMAT "\t%u\n", id, cleave_uf_find (uf, pc));
      }
    if (!write_text (dir, "edges.tsv", edges->str, edges->len, error) ||
        !write_text (dir, "agglomeration.tsv", agg->str, agg->len, error))
      goto out;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "seed");
    json_builder_add_int_value (b, (gint64) p->seed);
    add_triple_int (b, "size", p->size[0], p->size[1], p->size[2]);
    add_triple_int (b, "chunk", p->chunk[0], p->chunk[1], p->chunk[2]);
    json_builder_set_member_name (b, "objects");
    json_builder_add_int_value (b, d.n_objects);
    json_builder_set_member_name (b, "supervoxels");
    json_builder_add_int_value (b, svs->len);
    json_builder_set_member_name (b, "edges");
    json_builder_add_string_value (b, "edges.tsv");
    json_builder_set_member_name (b, "agglomeration");
    json_builder_add_string_value (b, "agglomeration.tsv");
    add_errors (b, "merge_errors", "source", "sink", merge_err, n_merge);
    add_errors (b, "sv_merge_errors", "source", "sink", sv_merge_err, n_sv_merge);
    add_errors (b, "split_errors", "a", "b", split_err, n_split);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    json = json_generator_to_data (gen, NULL);
    if (!write_text (dir, "demo.json", json, -1, error))
      goto out;
  }
  if (progress)
    progress ("done", 1, user_data);
  ok = TRUE;

out:
  g_rand_free (d.rand);
  g_array_unref (d.segments);
  g_array_unref (d.piece_object);
  g_free (d.piece);
  g_free (d.best);
  return ok;
}
