/* test-svsplit.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The geodesic supervoxel splitter (shared spec/algorithms.md §3): cuts
 * of dumbbells land in the neck, isotropic and at (8, 8, 40) nm; seeds
 * are snapped, checked and forced; the output contract (labels 0..3, one
 * 26-connected piece per side) holds on random blobs; the EDT matches a
 * brute-force EDT, the arrival fields a Bellman-Ford, and the 26-connected
 * components a flood fill.
 */

#include "algo/cleave-components.h"
#include "algo/cleave-svsplit.h"
#include "algo/cleave-svsplit-private.h"
#include "cleave-test.h"

#include <math.h>
#include <string.h>

static guint64 rng_state;

static guint64
rng_next (void)
{
  guint64 z = (rng_state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
rng_unit (void)
{
  return (rng_next () >> 11) * (1.0 / 9007199254740992.0);
}

static guint
rng_below (guint n)
{
  return (guint) (rng_next () % n);
}

typedef struct
{
  gsize   size[3];
  double  res[3];
  guint8 *mask;
  gsize   n;
} Vol;

static Vol *
vol_new (gsize nx,
         gsize ny,
         gsize nz,
         double rx,
         double ry,
         double rz)
{
  Vol *v = g_new0 (Vol, 1);

  v->size[0] = nx;
  v->size[1] = ny;
  v->size[2] = nz;
  v->res[0] = rx;
  v->res[1] = ry;
  v->res[2] = rz;
  v->n = nx * ny * nz;
  v->mask = g_new0 (guint8, MAX (v->n, 1));
  return v;
}

static void
vol_free (Vol *v)
{
  g_free (v->mask);
  g_free (v);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Vol, vol_free)

static inline gsize
vidx (const Vol *v,
      gsize      x,
      gsize      y,
      gsize      z)
{
  return (z * v->size[1] + y) * v->size[0] + x;
}

/* Two balls of radius @rb nm centred on @axis at @c1 and @c2 nm (the
 * other axes centred in the box), joined by a cylinder of radius @rn nm. */
static void
draw_dumbbell (Vol    *v,
               guint   axis,
               double  c1,
               double  c2,
               double  rb,
               double  rn)
{
  double mid[3];

  for (guint k = 0; k < 3; k++)
    mid[k] = (v->size[k] - 1) * v->res[k] / 2.0;
  for (gsize z = 0; z < v->size[2]; z++)
    for (gsize y = 0; y < v->size[1]; y++)
      for (gsize x = 0; x < v->size[0]; x++)
        {
          double p[3] = { x * v->res[0], y * v->res[1], z * v->res[2] };
          double r2 = 0, a = p[axis], d1, d2;

          for (guint k = 0; k < 3; k++)
            if (k != axis)
              r2 += (p[k] - mid[k]) * (p[k] - mid[k]);
          d1 = r2 + (a - c1) * (a - c1);
          d2 = r2 + (a - c2) * (a - c2);
          if (d1 <= rb * rb || d2 <= rb * rb || (a >= c1 && a <= c2 && r2 <= rn * rn))
            v->mask[vidx (v, x, y, z)] = 1;
        }
}

/* The output contract: 0 off the mask, 1..3 on it, and every side one
 * 26-connected piece holding all its seeds (given as voxels on the mask). */
static void
check_contract (const Vol    *v,
                const guint8 *labels,
                const gint64 *src,
                guint         n_src,
                const gint64 *snk,
                guint         n_snk,
                gboolean      single_piece)
{
  g_autofree guint32 *cc = g_new (guint32, v->n);
  const gint64 *team[2] = { src, snk };
  guint n_team[2] = { n_src, n_snk };

  for (gsize i = 0; i < v->n; i++)
    {
      if (v->mask[i])
        g_assert_true (labels[i] >= 1 && labels[i] <= 3);
      else
        g_assert_cmpuint (labels[i], ==, 0);
    }
  for (guint t = 0; t < 2; t++)
    {
      guint32 n = cleave_components_label26_value (labels, v->size, t + 1, cc);

      if (single_piece)
        g_assert_cmpuint (n, ==, 1);
      else
        g_assert_cmpuint (n, >=, 1);
      for (guint s = 0; s < n_team[t] && team[t] != NULL; s++)
        {
          const gint64 *p = team[t] + 3 * s;
          gsize i = vidx (v, (gsize) p[0], (gsize) p[1], (gsize) p[2]);

          g_assert_cmpuint (labels[i], ==, t + 1);
        }
    }
}

/* Along @axis: every mask voxel at or below @lo (nm) is SOURCE, at or
 * above @hi is SINK; returns the extent of the cut: the largest SOURCE
 * and smallest SINK coordinate. */
static void
check_halves (const Vol    *v,
              const guint8 *labels,
              guint         axis,
              double        lo,
              double        hi,
              double       *max_source,
              double       *min_sink)
{
  *max_source = -INFINITY;
  *min_sink = INFINITY;
  for (gsize z = 0; z < v->size[2]; z++)
    for (gsize y = 0; y < v->size[1]; y++)
      for (gsize x = 0; x < v->size[0]; x++)
        {
          gsize i = vidx (v, x, y, z);
          gsize c[3] = { x, y, z };
          double a = c[axis] * v->res[axis];

          if (!v->mask[i])
            continue;
          if (a <= lo)
            g_assert_cmpuint (labels[i], ==, CLEAVE_SVSPLIT_SOURCE);
          if (a >= hi)
            g_assert_cmpuint (labels[i], ==, CLEAVE_SVSPLIT_SINK);
          if (labels[i] == CLEAVE_SVSPLIT_SOURCE)
            *max_source = MAX (*max_source, a);
          if (labels[i] == CLEAVE_SVSPLIT_SINK)
            *min_sink = MIN (*min_sink, a);
        }
}

/* 64 x 32 x 32 at 4 nm: balls of radius 48 nm at x = 56 and 200 nm,
 * neck of radius 12 nm; the neck shows for x in (104, 152). */
static Vol *
make_iso_dumbbell (void)
{
  Vol *v = vol_new (64, 32, 32, 4, 4, 4);

  draw_dumbbell (v, 0, 56, 200, 48, 12);
  return v;
}

static void
test_svsplit_dumbbell (void)
{
  g_autoptr(Vol) v = make_iso_dumbbell ();
  g_autofree guint8 *labels = g_new (guint8, v->n);
  g_autoptr(GError) error = NULL;
  gint64 src[3] = { 14, 16, 16 }, snk[3] = { 50, 16, 16 };
  double max_source, min_sink;

  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, NULL, labels, &error));
  g_assert_no_error (error);
  check_contract (v, labels, src, 1, snk, 1, TRUE);
  /* The far halves for sure; in fact each whole ball. */
  check_halves (v, labels, 0, 104, 152, &max_source, &min_sink);
  g_assert_cmpfloat (max_source, <, 152);
  g_assert_cmpfloat (min_sink, >, 104);
  g_assert_cmpfloat (min_sink - max_source, <=, 4 + 1e-9);
  for (gsize i = 0; i < v->n; i++)
    g_assert_cmpuint (labels[i], !=, CLEAVE_SVSPLIT_STRAY);
}

/* Neck along z at (8, 8, 40) nm: 56 x 56 x 29 voxels, balls of radius
 * 200 nm at z = 240 and 880 nm, neck radius 40 nm, showing for z in
 * (440, 680). */
static void
test_svsplit_anisotropic (void)
{
  g_autoptr(Vol) v = vol_new (56, 56, 29, 8, 8, 40);
  g_autofree guint8 *labels = g_new (guint8, v->n);
  g_autoptr(GError) error = NULL;
  gint64 src[3] = { 27, 27, 6 }, snk[3] = { 28, 28, 22 };
  double max_source, min_sink;

  draw_dumbbell (v, 2, 240, 880, 200, 40);
  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, NULL, labels, &error));
  g_assert_no_error (error);
  check_contract (v, labels, src, 1, snk, 1, TRUE);
  check_halves (v, labels, 2, 440, 680, &max_source, &min_sink);
  g_assert_cmpfloat (max_source, <, 680);
  g_assert_cmpfloat (min_sink, >, 440);
  g_assert_cmpfloat (min_sink - max_source, <=, 40 + 1e-9);
}

static void
test_svsplit_multi_seed (void)
{
  g_autoptr(Vol) v = make_iso_dumbbell ();
  g_autofree guint8 *labels = g_new (guint8, v->n);
  g_autoptr(GError) error = NULL;
  gint64 src[9] = { 14, 16, 16, 8, 12, 18, 20, 20, 10 };
  gint64 snk[12] = { 50, 16, 16, 56, 16, 20, 46, 10, 16, 50, 20, 22 };
  double max_source, min_sink;

  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 3, snk, 4, NULL, labels, &error));
  g_assert_no_error (error);
  check_contract (v, labels, src, 3, snk, 4, TRUE);
  check_halves (v, labels, 0, 104, 152, &max_source, &min_sink);
  g_assert_cmpfloat (min_sink - max_source, <=, 4 + 1e-9);
}

static gint64
row_end (const Vol *v,
         gsize      y,
         gsize      z,
         gboolean   last)
{
  gint64 end = -1;

  for (gsize x = 0; x < v->size[0]; x++)
    if (v->mask[vidx (v, x, y, z)] && (last || end < 0))
      end = (gint64) x;
  return end;
}

/* Seeds off the mask, even off the box, go to the nearest mask voxel in
 * nm: the same split as seeding that voxel. */
static void
test_svsplit_snap (void)
{
  g_autoptr(Vol) v = make_iso_dumbbell ();
  g_autofree guint8 *a = g_new (guint8, v->n);
  g_autofree guint8 *b = g_new (guint8, v->n);
  g_autoptr(GError) error = NULL;
  gint64 src_off[3] = { -7, 16, 16 }, snk_off[3] = { 63, 16, 16 };
  gint64 src_on[3] = { 0, 16, 16 }, snk_on[3] = { 0, 16, 16 };
  double max_source, min_sink;

  /* The ends of the row through both balls' centres. */
  src_on[0] = row_end (v, 16, 16, FALSE);
  snk_on[0] = row_end (v, 16, 16, TRUE);
  g_assert_cmpint (src_on[0], >, 0);
  g_assert_false (v->mask[vidx (v, 63, 16, 16)]);
  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src_off, 1, snk_off, 1, NULL, a, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src_on, 1, snk_on, 1, NULL, b, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, v->n, b, v->n);
  check_contract (v, a, src_on, 1, snk_on, 1, TRUE);
  check_halves (v, a, 0, 104, 152, &max_source, &min_sink);
}

static void
test_svsplit_seed_errors (void)
{
  g_autoptr(Vol) v = make_iso_dumbbell ();
  g_autofree guint8 *labels = g_new (guint8, v->n);
  gint64 src[3] = { 14, 16, 16 };
  gint64 same[3] = { 14, 16, 16 }, diag[3] = { 15, 17, 15 }, face[3] = { 14, 16, 17 };
  gint64 two_away[3] = { 16, 16, 16 };
  /* Off the mask, but snapping next to the source at the ball's tip. */
  gint64 src_edge[3] = { 0, 16, 16 }, snk_off[3] = { 0, 17, 16 };
  const gint64 *bad[] = { same, diag, face };

  src_edge[0] = row_end (v, 16, 16, FALSE);
  snk_off[0] = src_edge[0] - 2;
  g_assert_false (v->mask[vidx (v, (gsize) snk_off[0], 17, 16)]);

  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (cleave_svsplit (v->mask, v->size, v->res, src, 1, bad[k], 1, NULL, labels,
                                      &error));
      g_assert_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_SEEDS);
    }
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (cleave_svsplit (v->mask, v->size, v->res, src_edge, 1, snk_off, 1, NULL,
                                    labels, &error));
    g_assert_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_SEEDS);
  }
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (cleave_svsplit (v->mask, v->size, v->res, src, 1, NULL, 0, NULL, labels,
                                    &error));
    g_assert_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_SEEDS);
  }
  {
    g_autoptr(GError) error = NULL;

    /* Two voxels apart is a valid, if degenerate, cut. */
    g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, two_away, 1, NULL, labels,
                                   &error));
    g_assert_no_error (error);
    check_contract (v, labels, src, 1, two_away, 1, TRUE);
  }
}

static void
test_svsplit_empty (void)
{
  g_autoptr(Vol) v = vol_new (8, 8, 8, 4, 4, 4);
  g_autofree guint8 *labels = g_new (guint8, v->n);
  gint64 src[3] = { 1, 1, 1 }, snk[3] = { 6, 6, 6 };
  gsize zero[3] = { 0, 4, 4 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  memset (labels, 7, v->n);
  g_assert_false (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, NULL, labels, &error));
  g_assert_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_NO_MASK);
  g_assert_false (cleave_svsplit (NULL, zero, v->res, src, 1, snk, 1, NULL, NULL, &error2));
  g_assert_error (error2, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_NO_MASK);
}

/* A blob: random balls, kept to the component of the first. */
static Vol *
make_blob (gsize n,
           guint n_balls,
           double rz)
{
  Vol *v = vol_new (n, n, MAX (4, (gsize) (n * 4 / rz)), 4, 4, rz);
  g_autofree guint32 *cc = g_new (guint32, v->n);
  guint32 keep = 0;

  for (guint b = 0; b < n_balls; b++)
    {
      double c[3], r = (1.5 + 2.5 * rng_unit ()) * 4;

      for (guint k = 0; k < 3; k++)
        c[k] = (1 + rng_unit () * (v->size[k] - 2)) * v->res[k];
      for (gsize z = 0; z < v->size[2]; z++)
        for (gsize y = 0; y < v->size[1]; y++)
          for (gsize x = 0; x < v->size[0]; x++)
            {
              double dx = x * v->res[0] - c[0], dy = y * v->res[1] - c[1], dz = z * v->res[2] - c[2];

              if (dx * dx + dy * dy + dz * dz <= r * r + v->res[2] * v->res[2] / 4)
                v->mask[vidx (v, x, y, z)] = 1;
            }
    }
  {
    guint32 n_comp = cleave_components_label26 (v->mask, v->size, cc);
    g_autofree gsize *count = g_new0 (gsize, n_comp + 1);

    for (gsize i = 0; i < v->n; i++)
      count[cc[i]]++;
    for (guint32 l = 1; l <= n_comp; l++)
      if (keep == 0 || count[l] > count[keep])
        keep = l;
  }
  for (gsize i = 0; i < v->n; i++)
    v->mask[i] = keep != 0 && cc[i] == keep;
  return v;
}

static void random_mask (Vol *v, double p, gboolean halo);

/* Noise: random voxels at 0.6, kept to the largest component; its sides
 * come out ragged, which exercises the stray passes. */
static Vol *
make_noise (gsize  n,
            double rz)
{
  Vol *v = vol_new (n, n, MAX (4, (gsize) (n * 4 / rz)), 4, 4, rz);
  g_autofree guint32 *cc = g_new (guint32, v->n);
  guint32 n_comp, keep = 0;
  g_autofree gsize *count = NULL;

  random_mask (v, 0.6, FALSE);
  n_comp = cleave_components_label26 (v->mask, v->size, cc);
  count = g_new0 (gsize, n_comp + 1);
  for (gsize i = 0; i < v->n; i++)
    count[cc[i]]++;
  for (guint32 l = 1; l <= n_comp; l++)
    if (keep == 0 || count[l] > count[keep])
      keep = l;
  for (gsize i = 0; i < v->n; i++)
    v->mask[i] = keep != 0 && cc[i] == keep;
  return v;
}

static gboolean
pick_voxel (const Vol *v,
            gint64     p[3])
{
  gsize count = 0, k;

  for (gsize i = 0; i < v->n; i++)
    count += v->mask[i];
  if (count == 0)
    return FALSE;
  k = rng_below ((guint) count);
  for (gsize i = 0; i < v->n; i++)
    if (v->mask[i] && k-- == 0)
      {
        p[0] = (gint64) (i % v->size[0]);
        p[1] = (gint64) (i / v->size[0] % v->size[1]);
        p[2] = (gint64) (i / v->size[0] / v->size[1]);
        return TRUE;
      }
  return FALSE;
}

/* The contract on random blobs with one seed per team (so each side is
 * one piece), plus determinism. */
static void
test_svsplit_contract (void)
{
  guint done = 0;

  rng_state = 7;
  for (guint round = 0; round < 60; round++)
    {
      g_autoptr(Vol) v = round % 3 == 2 ? make_noise (14 + rng_below (10), round % 2 ? 40 : 4)
                                        : make_blob (20 + rng_below (12), 6 + rng_below (10),
                                                     round % 2 ? 40 : 4);
      g_autofree guint8 *a = g_new (guint8, v->n);
      g_autofree guint8 *b = g_new (guint8, v->n);
      g_autoptr(GError) error = NULL;
      gint64 src[3], snk[3];

      CleaveSvSplitParams params;

      /* The boost only changes a label when k_prox > e^2 (below that,
       * C_A <= C_B iff T_A <= T_B); a strong one at a fraction of a nm
       * cuts sides apart, so the stray passes run. */
      cleave_svsplit_params_init (&params);
      if (round % 4 == 3)
        {
          params.k_prox = 40;
          for (guint k = 0; k < 3; k++)
            v->res[k] *= 0.05;
        }
      if (!pick_voxel (v, src) || !pick_voxel (v, snk))
        continue;
      if (ABS (src[0] - snk[0]) <= 1 && ABS (src[1] - snk[1]) <= 1 && ABS (src[2] - snk[2]) <= 1)
        continue;
      g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, &params, a, &error));
      g_assert_no_error (error);
      check_contract (v, a, src, 1, snk, 1, TRUE);
      g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, &params, b, &error));
      g_assert_cmpmem (a, v->n, b, v->n);
      done++;
    }
  g_assert_cmpuint (done, >=, 50);
}

static void
test_svsplit_deterministic (void)
{
  g_autoptr(Vol) v = make_iso_dumbbell ();
  g_autofree guint8 *a = g_new (guint8, v->n);
  g_autofree guint8 *b = g_new (guint8, v->n);
  gint64 src[6] = { 14, 16, 16, 4, 16, 16 }, snk[3] = { 50, 10, 16 };

  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 2, snk, 1, NULL, a, NULL));
  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 2, snk, 1, NULL, b, NULL));
  g_assert_cmpmem (a, v->n, b, v->n);
}

/* Pieces of the mask that no seed reaches stay STRAY; pieces that only one
 * team reaches go to it whole. */
static void
test_svsplit_disconnected (void)
{
  g_autoptr(Vol) v = vol_new (40, 12, 12, 4, 4, 4);
  g_autofree guint8 *labels = g_new (guint8, v->n);
  g_autoptr(GError) error = NULL;
  gint64 src[3] = { 5, 5, 5 }, snk[3] = { 19, 5, 5 };

  for (gsize z = 2; z < 9; z++)
    for (gsize y = 2; y < 9; y++)
      for (gsize x = 2; x < 37; x++)
        if (x < 10 || (x > 15 && x < 24) || x > 29)
          v->mask[vidx (v, x, y, z)] = 1;
  g_assert_true (cleave_svsplit (v->mask, v->size, v->res, src, 1, snk, 1, NULL, labels, &error));
  g_assert_no_error (error);
  check_contract (v, labels, src, 1, snk, 1, TRUE);
  for (gsize z = 2; z < 9; z++)
    for (gsize y = 2; y < 9; y++)
      {
        g_assert_cmpuint (labels[vidx (v, 2, y, z)], ==, CLEAVE_SVSPLIT_SOURCE);
        g_assert_cmpuint (labels[vidx (v, 9, y, z)], ==, CLEAVE_SVSPLIT_SOURCE);
        g_assert_cmpuint (labels[vidx (v, 16, y, z)], ==, CLEAVE_SVSPLIT_SINK);
        g_assert_cmpuint (labels[vidx (v, 23, y, z)], ==, CLEAVE_SVSPLIT_SINK);
        g_assert_cmpuint (labels[vidx (v, 30, y, z)], ==, CLEAVE_SVSPLIT_STRAY);
        g_assert_cmpuint (labels[vidx (v, 36, y, z)], ==, CLEAVE_SVSPLIT_STRAY);
      }
}

/* ------------------------------------------------------------------ */

static void
random_mask (Vol      *v,
             double    p,
             gboolean  halo)
{
  for (gsize z = 0; z < v->size[2]; z++)
    for (gsize y = 0; y < v->size[1]; y++)
      for (gsize x = 0; x < v->size[0]; x++)
        {
          gboolean edge = x == 0 || y == 0 || z == 0 || x + 1 == v->size[0]
                          || y + 1 == v->size[1] || z + 1 == v->size[2];

          v->mask[vidx (v, x, y, z)] = (!halo || !edge) && rng_unit () < p;
        }
}

static void
test_svsplit_edt_brute (void)
{
  rng_state = 11;
  for (guint round = 0; round < 200; round++)
    {
      g_autoptr(Vol) v = vol_new (1 + rng_below (9), 1 + rng_below (9), 1 + rng_below (7),
                                  1 + rng_below (8), 1 + rng_below (8), 4 + rng_below (40));
      g_autofree float *d = g_new (float, v->n);
      gboolean any_bg = FALSE;

      /* Dense masks have lines with no background, sparse ones lines
       * with no mask: the EDT skips both. */
      random_mask (v, round % 3 == 0 ? 0.95 : round % 3 == 1 ? 0.6 : 0.15, FALSE);
      _cleave_svsplit_edt_sq (v->mask, v->size, v->res, d);
      for (gsize i = 0; i < v->n; i++)
        any_bg |= !v->mask[i];
      for (gsize i = 0; i < v->n; i++)
        {
          double best = INFINITY;
          gsize xi = i % v->size[0], yi = i / v->size[0] % v->size[1], zi = i / v->size[0] / v->size[1];

          for (gsize j = 0; j < v->n; j++)
            {
              double dx, dy, dz;

              if (v->mask[j])
                continue;
              dx = ((double) (j % v->size[0]) - xi) * v->res[0];
              dy = ((double) (j / v->size[0] % v->size[1]) - yi) * v->res[1];
              dz = ((double) (j / v->size[0] / v->size[1]) - zi) * v->res[2];
              best = MIN (best, dx * dx + dy * dy + dz * dz);
            }
          if (!any_bg)
            g_assert_true (isinf (d[i]));
          else
            g_assert_cmpfloat_with_epsilon (d[i], best, 1e-5 * MAX (1, best));
        }
    }
}

static void
test_svsplit_arrival_brute (void)
{
  rng_state = 13;
  for (guint round = 0; round < 60; round++)
    {
      g_autoptr(Vol) v = vol_new (3 + rng_below (7), 3 + rng_below (7), 3 + rng_below (6),
                                  1 + rng_below (8), 1 + rng_below (8), 4 + rng_below (40));
      g_autofree float *cost = g_new (float, v->n);
      g_autofree float *t = g_new (float, v->n);
      g_autofree double *bf = g_new (double, v->n);
      guint32 seeds[3];
      guint n_seeds = 0;
      gboolean changed = TRUE;

      random_mask (v, 0.7, TRUE);
      for (gsize i = 0; i < v->n; i++)
        {
          cost[i] = v->mask[i] ? (float) (1.0 + 20.0 * rng_unit () * rng_unit ()) : INFINITY;
          bf[i] = INFINITY;
        }
      for (guint s = 0; s < 1 + round % 3; s++)
        {
          guint32 i = rng_below ((guint) v->n);

          if (v->mask[i])
            {
              seeds[n_seeds++] = i;
              bf[i] = 0;
            }
        }
      _cleave_svsplit_arrival (cost, v->size, v->res, seeds, n_seeds, t);

      while (changed)
        {
          changed = FALSE;
          for (gsize i = 0; i < v->n; i++)
            {
              gssize xi = i % v->size[0], yi = i / v->size[0] % v->size[1];
              gssize zi = i / v->size[0] / v->size[1];

              if (!v->mask[i] || isinf (bf[i]))
                continue;
              for (int dz = -1; dz <= 1; dz++)
                for (int dy = -1; dy <= 1; dy++)
                  for (int dx = -1; dx <= 1; dx++)
                    {
                      gssize x = xi + dx, y = yi + dy, z = zi + dz;
                      double len, w;
                      gsize j;

                      if (x < 0 || y < 0 || z < 0 || x >= (gssize) v->size[0]
                          || y >= (gssize) v->size[1] || z >= (gssize) v->size[2])
                        continue;
                      j = vidx (v, x, y, z);
                      if (!v->mask[j] || j == i)
                        continue;
                      len = sqrt (dx * dx * v->res[0] * v->res[0] + dy * dy * v->res[1] * v->res[1]
                                  + dz * dz * v->res[2] * v->res[2]);
                      w = bf[i] + len * ((double) cost[i] + cost[j]) / 2;
                      if (w < bf[j] * (1 - 1e-12))
                        {
                          bf[j] = w;
                          changed = TRUE;
                        }
                    }
            }
        }
      for (gsize i = 0; i < v->n; i++)
        {
          if (isinf (bf[i]))
            g_assert_true (isinf (t[i]));
          else
            g_assert_cmpfloat_with_epsilon (t[i], bf[i], 1e-5 * MAX (1, bf[i]));
        }
    }
}

/* Flood fill in scan order numbers components the same way. */
static void
test_svsplit_components (void)
{
  rng_state = 17;
  for (guint round = 0; round < 300; round++)
    {
      g_autoptr(Vol) v = vol_new (1 + rng_below (12), 1 + rng_below (12), 1 + rng_below (10),
                                  1, 1, 1);
      g_autofree guint32 *got = g_new (guint32, v->n);
      g_autofree guint32 *want = g_new0 (guint32, v->n);
      g_autofree gsize *stack = g_new (gsize, v->n);
      guint8 value = round % 4 == 0 ? 0 : 1;
      guint32 n_want = 0, n_got;

      random_mask (v, 0.15 + 0.5 * rng_unit (), FALSE);
      if (value == 0)
        n_got = cleave_components_label26_value (v->mask, v->size, 0, got);
      else
        n_got = cleave_components_label26 (v->mask, v->size, got);

      for (gsize i = 0; i < v->n; i++)
        {
          gsize top = 0;

          if ((v->mask[i] != 0) != (value != 0) || want[i] != 0)
            continue;
          want[i] = ++n_want;
          stack[top++] = i;
          while (top > 0)
            {
              gsize u = stack[--top];
              gssize xu = u % v->size[0], yu = u / v->size[0] % v->size[1];
              gssize zu = u / v->size[0] / v->size[1];

              for (int dz = -1; dz <= 1; dz++)
                for (int dy = -1; dy <= 1; dy++)
                  for (int dx = -1; dx <= 1; dx++)
                    {
                      gssize x = xu + dx, y = yu + dy, z = zu + dz;
                      gsize j;

                      if (x < 0 || y < 0 || z < 0 || x >= (gssize) v->size[0]
                          || y >= (gssize) v->size[1] || z >= (gssize) v->size[2])
                        continue;
                      j = vidx (v, x, y, z);
                      if ((v->mask[j] != 0) != (value != 0) || want[j] != 0)
                        continue;
                      want[j] = n_want;
                      stack[top++] = j;
                    }
            }
        }
      g_assert_cmpuint (n_got, ==, n_want);
      g_assert_cmpmem (got, v->n * sizeof (guint32), want, v->n * sizeof (guint32));
    }
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/svsplit/dumbbell", test_svsplit_dumbbell);
  g_test_add_func ("/svsplit/anisotropic", test_svsplit_anisotropic);
  g_test_add_func ("/svsplit/multi-seed", test_svsplit_multi_seed);
  g_test_add_func ("/svsplit/snap", test_svsplit_snap);
  g_test_add_func ("/svsplit/seed-errors", test_svsplit_seed_errors);
  g_test_add_func ("/svsplit/empty", test_svsplit_empty);
  g_test_add_func ("/svsplit/deterministic", test_svsplit_deterministic);
  g_test_add_func ("/svsplit/disconnected", test_svsplit_disconnected);
  g_test_add_func ("/svsplit/contract", test_svsplit_contract);
  g_test_add_func ("/svsplit/edt-brute", test_svsplit_edt_brute);
  g_test_add_func ("/svsplit/arrival-brute", test_svsplit_arrival_brute);
  g_test_add_func ("/svsplit/components", test_svsplit_components);

  return g_test_run ();
}
