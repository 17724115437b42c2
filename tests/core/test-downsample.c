/* test-downsample.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The mode and mean kernels: golden 2x2 and 2x2x2 blocks pinning
 * tinybrain's tie rules (and the sparse variants), odd edges, a
 * straightforward re-statement of the rules checked against the kernels on
 * random volumes of odd sizes (small ones, every 2x2 block of labels that
 * differ in one 32-bit half, and one large enough for the kernels'
 * streaming stores), several mips in one pass against one step at a time; and the pyramid's geometry (spec/reference-pcg.md §10
 * test_downsample: block shape, blocks of a bbox, non-uniform factors).
 */

#include "algo/cleave-downsample.h"
#include "cleave-dataset.h"
#include "cleave-pyramid.h"
#include "cleave-test.h"

#include <string.h>

static guint64
m2 (guint64 a, guint64 b, guint64 c, guint64 d, gboolean sparse)
{
  guint64 in[4] = { a, b, c, d }, out = 99;

  if (sparse)
    cleave_downsample_mode_2x2x1_sparse (in, 2, 2, 1, &out);
  else
    cleave_downsample_mode_2x2x1 (in, 2, 2, 1, &out);
  return out;
}

static void
test_golden_2x2 (void)
{
  /* a b / c d: the earliest pair wins, in the order (a,b), (a,c), (b,c). */
  g_assert_cmpuint (m2 (7, 7, 7, 7, FALSE), ==, 7);
  g_assert_cmpuint (m2 (1, 1, 2, 3, FALSE), ==, 1);
  g_assert_cmpuint (m2 (1, 2, 1, 3, FALSE), ==, 1);
  g_assert_cmpuint (m2 (1, 2, 2, 3, FALSE), ==, 2);
  g_assert_cmpuint (m2 (1, 2, 3, 2, FALSE), ==, 2);
  g_assert_cmpuint (m2 (1, 2, 3, 3, FALSE), ==, 3);
  g_assert_cmpuint (m2 (5, 2, 3, 5, FALSE), ==, 5);
  /* 2-2 splits: {a==b, c==d} gives a, {a==c, b==d} a, {a==d, b==c} b. */
  g_assert_cmpuint (m2 (1, 1, 2, 2, FALSE), ==, 1);
  g_assert_cmpuint (m2 (1, 2, 1, 2, FALSE), ==, 1);
  g_assert_cmpuint (m2 (1, 2, 2, 1, FALSE), ==, 2);
  /* All different: d. */
  g_assert_cmpuint (m2 (1, 2, 3, 4, FALSE), ==, 4);
  /* Dense lets 0 win like any label. */
  g_assert_cmpuint (m2 (0, 0, 5, 7, FALSE), ==, 0);
  g_assert_cmpuint (m2 (4, 0, 0, 9, FALSE), ==, 0);
}

static void
test_golden_2x2_sparse (void)
{
  /* With no 0 present, sparse is dense. */
  g_assert_cmpuint (m2 (1, 1, 2, 2, TRUE), ==, 1);
  g_assert_cmpuint (m2 (1, 2, 2, 1, TRUE), ==, 2);
  g_assert_cmpuint (m2 (1, 2, 3, 4, TRUE), ==, 4);
  g_assert_cmpuint (m2 (1, 2, 3, 2, TRUE), ==, 2);
  /* A pair of zeros never wins. */
  g_assert_cmpuint (m2 (0, 0, 5, 7, TRUE), ==, 7);
  g_assert_cmpuint (m2 (0, 0, 2, 2, TRUE), ==, 2);
  g_assert_cmpuint (m2 (4, 0, 0, 9, TRUE), ==, 9);
  g_assert_cmpuint (m2 (0, 3, 3, 0, TRUE), ==, 3);
  g_assert_cmpuint (m2 (3, 0, 0, 3, TRUE), ==, 3);
  /* No non-zero pair: d, else the last non-zero of c, b, a. */
  g_assert_cmpuint (m2 (5, 0, 0, 0, TRUE), ==, 5);
  g_assert_cmpuint (m2 (5, 6, 0, 0, TRUE), ==, 6);
  g_assert_cmpuint (m2 (0, 0, 7, 0, TRUE), ==, 7);
  g_assert_cmpuint (m2 (0, 0, 0, 0, TRUE), ==, 0);
}

static guint64
m8 (const guint64 v[8],
    gboolean      sparse)
{
  guint64 out = 99;

  cleave_downsample_mode_2x2x2 (v, 2, 2, 2, sparse, &out);
  return out;
}

static void
test_golden_2x2x2 (void)
{
  /* Scan order: x, then y, then z; v[0..3] the lower plane. */
  const guint64 lower_wins[8] = { 1, 1, 1, 1, 2, 2, 2, 2 };      /* 4-4: first to reach 4 */
  const guint64 upper_plane[8] = { 1, 2, 3, 4, 5, 5, 5, 5 };
  const guint64 three_three[8] = { 1, 2, 1, 2, 3, 3, 1, 2 };     /* 1 and 2 have 3 each: 1 first */
  const guint64 two_two[8] = { 2, 1, 1, 2, 3, 4, 5, 6 };         /* 2 and 1 have 2 each: 2 first */
  const guint64 distinct[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };        /* all 1: the first */
  const guint64 scattered4[8] = { 1, 2, 3, 2, 2, 4, 5, 2 };      /* 2 reaches 4 */
  const guint64 late_majority[8] = { 1, 2, 3, 4, 5, 5, 5, 6 };   /* 5 has 3 */
  const guint64 zeros_below[8] = { 0, 0, 0, 0, 1, 2, 3, 4 };
  const guint64 zeros_above[8] = { 5, 6, 7, 8, 0, 0, 0, 0 };
  const guint64 zero_majority[8] = { 0, 0, 0, 3, 0, 0, 3, 0 };
  const guint64 all_zero[8] = { 0 };

  g_assert_cmpuint (m8 (lower_wins, FALSE), ==, 1);
  g_assert_cmpuint (m8 (upper_plane, FALSE), ==, 5);
  g_assert_cmpuint (m8 (three_three, FALSE), ==, 1);
  g_assert_cmpuint (m8 (two_two, FALSE), ==, 2);
  g_assert_cmpuint (m8 (distinct, FALSE), ==, 8);
  g_assert_cmpuint (m8 (scattered4, FALSE), ==, 2);
  g_assert_cmpuint (m8 (late_majority, FALSE), ==, 5);
  /* Dense: 0 is a label like any. */
  g_assert_cmpuint (m8 (zeros_below, FALSE), ==, 0);
  g_assert_cmpuint (m8 (zeros_above, FALSE), ==, 0);
  g_assert_cmpuint (m8 (zero_majority, FALSE), ==, 0);
  /* Sparse: 0 only when all 8 are 0 (tinybrain's upper-plane shortcut
   * would give 0 for zeros_above). */
  g_assert_cmpuint (m8 (zeros_below, TRUE), ==, 1);
  g_assert_cmpuint (m8 (zeros_above, TRUE), ==, 5);
  g_assert_cmpuint (m8 (zero_majority, TRUE), ==, 3);
  g_assert_cmpuint (m8 (all_zero, TRUE), ==, 0);
  g_assert_cmpuint (m8 (two_two, TRUE), ==, 2);
}

static void
test_odd_edges (void)
{
  /* 3x3x1: the last column and row stand in for the missing ones, so the
   * edge outputs are the voxel at the block's origin. */
  const guint64 in[9] = { 1, 2, 3,
                          4, 5, 6,
                          7, 8, 9 };
  guint64 out[4];
  /* 3x3x3 for 2x2x2: the edge voxel counts twice (or 4 or 8 times). */
  guint64 cube[27], out8[8];

  cleave_downsample_mode_2x2x1 (in, 3, 3, 1, out);
  g_assert_cmpuint (out[0], ==, 5);           /* 1 2 / 4 5: all differ: d */
  g_assert_cmpuint (out[1], ==, 3);
  g_assert_cmpuint (out[2], ==, 7);
  g_assert_cmpuint (out[3], ==, 9);
  for (guint i = 0; i < 27; i++)
    cube[i] = 100 + i;
  cleave_downsample_mode_2x2x2 (cube, 3, 3, 3, FALSE, out8);
  g_assert_cmpuint (out8[7], ==, 126);        /* the far corner: one voxel, 8 times */
  g_assert_cmpuint (out8[1], ==, 102);        /* x edge: (2,0,0) twice first, count 2 */
  g_assert_cmpuint (out8[0], ==, 100);        /* all 8 differ: the first */
}

/* The rules as the spec states them, per output voxel with clamped
 * indices: the oracle for random volumes. */
static guint64
oracle_2x2 (const guint64 v[4],
            gboolean      sparse)
{
  guint64 a = v[0], b = v[1], c = v[2], d = v[3];

  if (!sparse)
    return a == b ? a : a == c ? a : b == c ? b : d;
  if (a != 0 && (a == b || a == c))
    return a;
  if (b != 0 && b == c)
    return b;
  if (d != 0)
    return d;
  return c ? c : b ? b : a;
}

static guint64
oracle_count (const guint64 *v,
              guint          n,
              gboolean       sparse)
{
  guint best = 0;
  guint64 winner = 0;

  for (guint t = 0; t < n; t++)
    {
      guint ct = 0;

      if (sparse && v[t] == 0)
        continue;
      for (guint p = 0; p < n; p++)
        ct += v[p] == v[t];
      if (ct >= n / 2)
        return v[t];
      if (ct > best)
        best = ct, winner = v[t];
    }
  return winner;
}

static void
oracle_step (const guint64 *in,
             const gsize    s[3],
             const guint    f[3],
             gboolean       sparse,
             guint64       *out)
{
  gsize o[3];

  cleave_downsample_out_size (s, f, o);
  for (gsize z = 0; z < o[2]; z++)
    for (gsize y = 0; y < o[1]; y++)
      for (gsize x = 0; x < o[0]; x++)
        {
          guint64 v[8];
          guint n = 0;

          for (gsize dz = 0; dz < f[2]; dz++)
            for (gsize dy = 0; dy < 2; dy++)
              for (gsize dx = 0; dx < 2; dx++)
                {
                  gsize xx = MIN (2 * x + dx, s[0] - 1), yy = MIN (2 * y + dy, s[1] - 1);
                  gsize zz = MIN (f[2] * z + dz, s[2] - 1);

                  v[n++] = in[(zz * s[1] + yy) * s[0] + xx];
                }
          out[(z * o[1] + y) * o[0] + x] = n == 4 ? oracle_2x2 (v, sparse) : oracle_count (v, 8, sparse);
        }
}

/* Blocky labels with some noise and background, like a segmentation. */
static void
fill (guint64 *v,
      const gsize s[3],
      GRand  *r,
      guint    n_labels)
{
  for (gsize z = 0; z < s[2]; z++)
    for (gsize y = 0; y < s[1]; y++)
      for (gsize x = 0; x < s[0]; x++)
        {
          gsize i = (z * s[1] + y) * s[0] + x;

          v[i] = g_rand_int_range (r, 0, 4) == 0 ? (guint64) g_rand_int_range (r, 0, n_labels)
                                                 : ((x / 3 + y / 5 + z / 2) % n_labels) * 1000003ull;
        }
}

static void
test_random_against_oracle (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (17);

  for (guint iter = 0; iter < 60; iter++)
    {
      gsize s[3] = { g_rand_int_range (r, 1, 24), g_rand_int_range (r, 1, 24), g_rand_int_range (r, 1, 12) };
      guint f[3] = { 2, 2, iter % 2 ? 2 : 1 };
      gboolean sparse = iter % 4 >= 2;
      gsize o[3], n = s[0] * s[1] * s[2], no;
      g_autofree guint64 *in = g_new (guint64, n);
      g_autofree guint64 *got = NULL, *want = NULL;

      cleave_downsample_out_size (s, f, o);
      no = o[0] * o[1] * o[2];
      got = g_new (guint64, no);
      want = g_new (guint64, no);
      fill (in, s, r, 2 + iter % 5);
      cleave_downsample_mode (in, s, f, sparse, got);
      oracle_step (in, s, f, sparse, want);
      g_assert_cmpmem (got, no * 8, want, no * 8);
    }
}

/* Labels that differ in one 32-bit half only, besides 0: the vector code
 * compares 64-bit lanes as pairs of 32-bit ones. */
static const guint64 halves[] = {
  0, 1, G_GUINT64_CONSTANT (1) << 32, (G_GUINT64_CONSTANT (1) << 32) | 1,
  0xffffffffu, G_MAXUINT64,
};

/* Every 2x2 block of those labels side by side in one row pair, so most
 * go through the vector loop; also with the output one voxel off 16-byte
 * alignment, and with an odd width. */
static void
test_all_blocks (void)
{
  const guint n_h = G_N_ELEMENTS (halves), n_blocks = n_h * n_h * n_h * n_h;

  for (guint variant = 0; variant < 4; variant++)
    {
      gboolean sparse = variant & 1, odd = variant & 2;
      gsize sx = 2 * n_blocks + (odd ? 1 : 0), ox = (sx + 1) / 2;
      g_autofree guint64 *in = g_new (guint64, 2 * sx);
      g_autofree guint64 *buf = g_new (guint64, ox + 1);
      guint64 *got = buf + 1;

      for (guint i = 0; i < n_blocks; i++)
        {
          in[2 * i] = halves[i % n_h];
          in[2 * i + 1] = halves[i / n_h % n_h];
          in[sx + 2 * i] = halves[i / (n_h * n_h) % n_h];
          in[sx + 2 * i + 1] = halves[i / (n_h * n_h * n_h)];
        }
      if (odd)
        in[sx - 1] = 0, in[2 * sx - 1] = halves[3];
      for (guint misalign = 0; misalign < 2; misalign++)
        {
          guint64 *o = misalign ? got : buf;

          if (sparse)
            cleave_downsample_mode_2x2x1_sparse (in, sx, 2, 1, o);
          else
            cleave_downsample_mode_2x2x1 (in, sx, 2, 1, o);
          for (gsize x = 0; x < ox; x++)
            {
              gsize x0 = 2 * x, x1 = MIN (2 * x + 1, sx - 1);
              const guint64 v[4] = { in[x0], in[x1], in[sx + x0], in[sx + x1] };

              if (o[x] != oracle_2x2 (v, sparse))
                g_error ("block %zu (%" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER "x / %" G_GINT64_MODIFIER
                         "x %" G_GINT64_MODIFIER "x), sparse %d: got %" G_GINT64_MODIFIER "x",
                         x, v[0], v[1], v[2], v[3], sparse, o[x]);
            }
        }
    }
}

/* A volume large enough that the 2x2x1 kernels write with non-temporal
 * stores (an output of 4 MiB or more: the single step, and mip 2 of the
 * two-mip pass), of odd sizes, with few labels so that ties are common:
 * every path against the oracle, output aligned or not. */
static void
test_large_against_oracle (void)
{
  const gsize s[3] = { 1029, 1027, 8 };
  const guint f[3] = { 2, 2, 1 };
  gsize n = s[0] * s[1] * s[2], o1[3], o2[3], n1, n2;
  g_autoptr(GRand) r = g_rand_new_with_seed (29);
  g_autofree guint64 *in = g_new (guint64, n);
  g_autofree guint64 *want1 = NULL, *want2 = NULL, *got1 = NULL, *got2 = NULL;

  cleave_downsample_out_size (s, f, o1);
  cleave_downsample_out_size (o1, f, o2);
  n1 = o1[0] * o1[1] * o1[2];
  n2 = o2[0] * o2[1] * o2[2];
  g_assert_cmpuint (n2 * sizeof (guint64), >=, 4 << 20);
  want1 = g_new (guint64, n1);
  want2 = g_new (guint64, n2);
  got1 = g_new (guint64, n1 + 1);
  got2 = g_new (guint64, n2 + 1);
  /* Planes of 2 to 6 labels, some of them 0. */
  for (gsize i = 0; i < n; i++)
    in[i] = halves[g_rand_int_range (r, 0, 2 + i / (s[0] * s[1]) % 5)];
  for (guint sparse = 0; sparse < 2; sparse++)
    {
      guint64 *outs[2];

      oracle_step (in, s, f, sparse, want1);
      oracle_step (want1, o1, f, sparse, want2);
      for (guint misalign = 0; misalign < 2; misalign++)
        {
          memset (got1, 0xa5, (n1 + 1) * sizeof (guint64));
          cleave_downsample_mode (in, s, f, sparse, got1 + misalign);
          g_assert_cmpmem (got1 + misalign, n1 * 8, want1, n1 * 8);
          memset (got1, 0xa5, (n1 + 1) * sizeof (guint64));
          if (sparse)
            cleave_downsample_mode_2x2x1_sparse (in, s[0], s[1], s[2], got1 + misalign);
          else
            cleave_downsample_mode_2x2x1 (in, s[0], s[1], s[2], got1 + misalign);
          g_assert_cmpmem (got1 + misalign, n1 * 8, want1, n1 * 8);
          memset (got1, 0xa5, (n1 + 1) * sizeof (guint64));
          outs[0] = got1 + misalign;
          cleave_downsample_mode_mips (in, s, f, sparse, 1, outs);
          g_assert_cmpmem (got1 + misalign, n1 * 8, want1, n1 * 8);
          memset (got1, 0xa5, (n1 + 1) * sizeof (guint64));
          memset (got2, 0xa5, (n2 + 1) * sizeof (guint64));
          outs[1] = got2 + misalign;
          cleave_downsample_mode_mips (in, s, f, sparse, 2, outs);
          g_assert_cmpmem (got1 + misalign, n1 * 8, want1, n1 * 8);
          g_assert_cmpmem (got2 + misalign, n2 * 8, want2, n2 * 8);
        }
    }
}

static void
test_mips_one_pass (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (5);

  for (guint iter = 0; iter < 24; iter++)
    {
      gsize s[3] = { g_rand_int_range (r, 1, 70), g_rand_int_range (r, 1, 70), g_rand_int_range (r, 1, 40) };
      guint f[3] = { 2, 2, iter % 2 ? 2 : 1 };
      gboolean sparse = iter % 3 == 0;
      guint n_mips = 1 + iter % 4;
      g_autofree guint64 *in = g_new (guint64, s[0] * s[1] * s[2]);
      guint64 *outs[4];
      g_autofree guint64 *prev = g_memdup2 (in, 8), *step = NULL;
      gsize cur[3] = { s[0], s[1], s[2] };

      fill (in, s, r, 3 + iter % 7);
      g_free (prev);
      prev = g_memdup2 (in, s[0] * s[1] * s[2] * 8);
      for (guint m = 0; m < n_mips; m++)
        {
          gsize o[3];

          cleave_downsample_out_size (cur, f, o);
          outs[m] = g_new (guint64, o[0] * o[1] * o[2]);
          memcpy (cur, o, sizeof o);
        }
      cleave_downsample_mode_mips (in, s, f, sparse, n_mips, outs);
      memcpy (cur, s, sizeof cur);
      for (guint m = 0; m < n_mips; m++)
        {
          gsize o[3];

          cleave_downsample_out_size (cur, f, o);
          step = g_new (guint64, o[0] * o[1] * o[2]);
          cleave_downsample_mode (prev, cur, f, sparse, step);
          g_assert_cmpmem (outs[m], o[0] * o[1] * o[2] * 8, step, o[0] * o[1] * o[2] * 8);
          g_free (prev);
          prev = g_steal_pointer (&step);
          memcpy (cur, o, sizeof o);
          g_free (outs[m]);
        }
    }
}

static void
test_mean (void)
{
  const guint8 q[4] = { 1, 2, 3, 4 }, c[8] = { 0, 0, 0, 0, 255, 255, 255, 255 }, odd[3] = { 10, 20, 31 };
  guint8 out[2];

  cleave_downsample_mean_2x2x1 (q, 2, 2, 1, out);
  g_assert_cmpuint (out[0], ==, 3);               /* 2.5 rounds up */
  cleave_downsample_mean_2x2x2 (c, 2, 2, 2, out);
  g_assert_cmpuint (out[0], ==, 128);             /* 127.5 rounds up */
  cleave_downsample_mean_2x2x1 (odd, 3, 1, 1, out);
  g_assert_cmpuint (out[0], ==, 15);
  g_assert_cmpuint (out[1], ==, 31);              /* the edge voxel alone */
}

static CleaveVolumeInfo *
pyramid_info (guint       n_scales,
              const guint f[3],
              guint       chunk)
{
  CleaveVolumeInfo *info = cleave_volume_info_new (TRUE, CLEAVE_DATA_TYPE_UINT64);
  gint64 size[3] = { 256, 256, 64 };
  double res[3] = { 8, 8, 40 };

  for (guint m = 0; m < n_scales; m++)
    {
      g_autofree char *key = g_strdup_printf ("s%u", m);
      CleaveScale *s = cleave_volume_info_add_scale (info, key);

      for (guint k = 0; k < 3; k++)
        {
          s->size[k] = size[k];
          s->resolution[k] = res[k];
          s->chunk[k] = chunk;
          s->block[k] = 8;
          size[k] = (size[k] + f[k] - 1) / f[k];
          res[k] *= f[k];
        }
      s->encoding = CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
    }
  return info;
}

static void
test_geometry (void)
{
  const guint f[3] = { 2, 2, 1 };
  g_autoptr(CleaveVolumeInfo) info = pyramid_info (3, f, 32);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) blocks = g_array_new (FALSE, FALSE, sizeof (gint64));
  CleavePyramid p;
  const gint64 tiny[6] = { 5, 5, 5, 6, 6, 6 };
  const gint64 spans[6] = { 120, 10, 0, 130, 20, 10 };
  const gint64 outside[6] = { 300, 0, 0, 400, 10, 10 };
  gint64 b[3] = { 1, 0, 1 }, lo[3], hi[3];

  g_assert_true (cleave_pyramid_init (&p, info, "test", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.n_mips, ==, 2);
  g_assert_cmpuint (p.factor[0], ==, 2);
  g_assert_cmpuint (p.factor[2], ==, 1);
  /* The coarsest chunk times factor^K: 32 x (4, 4, 1). */
  g_assert_cmpint (p.block[0], ==, 128);
  g_assert_cmpint (p.block[1], ==, 128);
  g_assert_cmpint (p.block[2], ==, 32);
  g_assert_false (p.sparse);
  cleave_pyramid_blocks_for_bbox (&p, tiny, blocks);
  g_assert_cmpuint (blocks->len, ==, 3);
  g_assert_cmpint (g_array_index (blocks, gint64, 0), ==, 0);
  g_array_set_size (blocks, 0);
  cleave_pyramid_blocks_for_bbox (&p, spans, blocks);
  g_assert_cmpuint (blocks->len, ==, 6);
  g_assert_cmpint (g_array_index (blocks, gint64, 0), ==, 0);
  g_assert_cmpint (g_array_index (blocks, gint64, 3), ==, 1);
  g_array_set_size (blocks, 0);
  cleave_pyramid_blocks_for_bbox (&p, outside, blocks);
  g_assert_cmpuint (blocks->len, ==, 0);
  cleave_pyramid_block_box (&p, b, lo, hi);
  g_assert_cmpint (lo[0], ==, 128);
  g_assert_cmpint (hi[0], ==, 256);
  g_assert_cmpint (lo[2], ==, 32);
  g_assert_cmpint (hi[2], ==, 64);

  g_free (info->downsampling);
  info->downsampling = g_strdup ("mode_sparse");
  g_assert_true (cleave_pyramid_init (&p, info, "test", &error));
  g_assert_true (p.sparse);
}

static void
test_non_uniform (void)
{
  const guint f[3] = { 2, 2, 1 };
  g_autoptr(CleaveVolumeInfo) info = pyramid_info (3, f, 32);
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "n.cleave", NULL);
  g_autoptr(CleaveVolume) seg = NULL;
  CleaveScale *s2 = &g_array_index (info->scales, CleaveScale, 2);
  guint factor[3];
  CleavePyramid p;

  /* The last step 2x2x2 instead of 2x2x1. */
  s2->resolution[2] *= 2;
  s2->size[2] = 32;
  g_assert_false (cleave_pyramid_factor (info, "n", factor, &error));
  g_assert_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_NON_UNIFORM);
  g_assert_nonnull (strstr (error->message, "one factor"));
  g_clear_error (&error);
  g_assert_false (cleave_pyramid_init (&p, info, "n", &error));
  g_clear_error (&error);
  /* Refused when the dataset is created, before anything is written. */
  g_assert_false (cleave_dataset_create (dir, info, NULL, &seg, NULL, &error));
  g_assert_error (error, CLEAVE_PYRAMID_ERROR, CLEAVE_PYRAMID_ERROR_NON_UNIFORM);
  g_assert_null (seg);
  g_clear_error (&error);
  {
    g_autofree char *base = g_build_filename (dir, "seg", "base", NULL);

    g_assert_false (g_file_test (base, G_FILE_TEST_EXISTS));
  }
  cleave_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/downsample/golden-2x2", test_golden_2x2);
  g_test_add_func ("/downsample/golden-2x2-sparse", test_golden_2x2_sparse);
  g_test_add_func ("/downsample/golden-2x2x2", test_golden_2x2x2);
  g_test_add_func ("/downsample/odd-edges", test_odd_edges);
  g_test_add_func ("/downsample/random-vs-oracle", test_random_against_oracle);
  g_test_add_func ("/downsample/all-blocks", test_all_blocks);
  g_test_add_func ("/downsample/large-vs-oracle", test_large_against_oracle);
  g_test_add_func ("/downsample/mips-one-pass", test_mips_one_pass);
  g_test_add_func ("/downsample/mean", test_mean);
  g_test_add_func ("/downsample/pyramid-geometry", test_geometry);
  g_test_add_func ("/downsample/non-uniform-factor", test_non_uniform);
  return g_test_run ();
}
