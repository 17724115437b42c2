/* test-contacts.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Contact faces found block by block, with a one-voxel upper margin, add
 * up to a plain count over the whole volume: every face once, areas and
 * intensities exact, whatever the tiling.
 */

#include "algo/cleave-contacts.h"
#include "cleave-test.h"

#include <string.h>

typedef struct
{
  guint64 area, intensity;
} Sum;

static guint
pair_hash (gconstpointer p)
{
  const guint64 *k = p;

  return (guint) (k[0] * 0x9E3779B97F4A7C15u ^ k[1]);
}

static gboolean
pair_equal (gconstpointer a,
            gconstpointer b)
{
  return memcmp (a, b, 16) == 0;
}

/* Every face of the volume, one at a time. */
static GHashTable *
naive (const guint64 *l,
       const guint8  *img,
       const gsize    s[3])
{
  GHashTable *t = g_hash_table_new_full (pair_hash, pair_equal, g_free, g_free);
  gsize stride[3] = { 1, s[0], s[0] * s[1] };

  for (gsize z = 0; z < s[2]; z++)
    for (gsize y = 0; y < s[1]; y++)
      for (gsize x = 0; x < s[0]; x++)
        {
          gsize p[3] = { x, y, z }, i = x + y * stride[1] + z * stride[2];

          for (guint k = 0; k < 3; k++)
            {
              guint64 u = l[i], v, key[2];
              Sum *sum;

              if (p[k] + 1 >= s[k])
                continue;
              v = l[i + stride[k]];
              if (u == 0 || v == 0 || u == v)
                continue;
              key[0] = MIN (u, v), key[1] = MAX (u, v);
              sum = g_hash_table_lookup (t, key);
              if (sum == NULL)
                g_hash_table_insert (t, g_memdup2 (key, 16), sum = g_new0 (Sum, 1));
              sum->area++;
              sum->intensity += (guint64) img[i] + img[i + stride[k]];
            }
        }
  return t;
}

static void
check_tiling (const guint64 *l,
              const guint8  *img,
              const gsize    s[3],
              const gsize    b[3],
              GHashTable    *want)
{
  g_autoptr(GHashTable) got = g_hash_table_new_full (pair_hash, pair_equal, g_free, NULL);
  guint64 faces = 0, want_faces = 0;
  GHashTableIter it;
  gpointer k, v;

  for (gsize z0 = 0; z0 < s[2]; z0 += b[2])
    for (gsize y0 = 0; y0 < s[1]; y0 += b[1])
      for (gsize x0 = 0; x0 < s[0]; x0 += b[0])
        {
          gsize lo[3] = { x0, y0, z0 }, size[3], own[3];
          g_autofree guint64 *bl = NULL;
          g_autofree guint8 *bi = NULL;
          g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (CleaveContact));

          for (guint a = 0; a < 3; a++)
            {
              own[a] = MIN (b[a], s[a] - lo[a]);
              size[a] = MIN (own[a] + 1, s[a] - lo[a]);
            }
          bl = g_new (guint64, size[0] * size[1] * size[2]);
          bi = g_new (guint8, size[0] * size[1] * size[2]);
          for (gsize z = 0; z < size[2]; z++)
            for (gsize y = 0; y < size[1]; y++)
              for (gsize x = 0; x < size[0]; x++)
                {
                  gsize src = (lo[0] + x) + (lo[1] + y) * s[0] + (lo[2] + z) * s[0] * s[1];
                  gsize dst = x + y * size[0] + z * size[0] * size[1];

                  bl[dst] = l[src];
                  bi[dst] = img[src];
                }
          cleave_contacts_find (bl, bi, size, own, out);
          for (guint i = 0; i < out->len; i++)
            {
              const CleaveContact *c = &g_array_index (out, CleaveContact, i);
              const Sum *w;

              g_assert_cmpuint (c->a, <, c->b);
              if (i > 0)
                {
                  const CleaveContact *p = &g_array_index (out, CleaveContact, i - 1);

                  g_assert_true (p->a < c->a || (p->a == c->a && p->b < c->b));
                }
              /* Each pair comes from one block only: the faces between
               * two labels are all on one side of every block face, or
               * the pair is seen twice and the areas must add up. */
              w = g_hash_table_lookup (want, &c->a);
              g_assert_nonnull (w);
              {
                Sum *acc = g_hash_table_lookup (got, &c->a);

                if (acc == NULL)
                  g_hash_table_insert (got, g_memdup2 (&c->a, 16), acc = g_new0 (Sum, 1));
                acc->area += c->area;
                acc->intensity += c->intensity;
              }
              faces += c->area;
            }
        }
  g_assert_cmpuint (g_hash_table_size (got), ==, g_hash_table_size (want));
  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      Sum *acc = g_hash_table_lookup (got, k);

      g_assert_nonnull (acc);
      g_assert_cmpuint (acc->area, ==, ((Sum *) v)->area);
      g_assert_cmpuint (acc->intensity, ==, ((Sum *) v)->intensity);
      want_faces += ((Sum *) v)->area;
      g_free (acc);
    }
  g_assert_cmpuint (faces, ==, want_faces);
}

static void
test_tilings (void)
{
  const gsize s[3] = { 23, 17, 9 };
  const gsize tilings[][3] = { { 23, 17, 9 }, { 8, 8, 4 }, { 5, 3, 2 }, { 1, 1, 1 }, { 23, 1, 9 } };
  gsize n = s[0] * s[1] * s[2];
  g_autofree guint64 *l = g_new (guint64, n);
  g_autofree guint8 *img = g_new (guint8, n);
  g_autoptr(GRand) r = g_rand_new_with_seed (7);
  g_autoptr(GHashTable) want = NULL;

  /* Blobby labels (runs along x, some zeros) and a random image. */
  for (gsize i = 0; i < n; i++)
    {
      l[i] = (i > 0 && g_rand_int_range (r, 0, 4) != 0) ? l[i - 1] : (guint64) g_rand_int_range (r, 0, 12);
      if (l[i] != 0)
        l[i] += G_GUINT64_CONSTANT (1) << 40;
      img[i] = (guint8) g_rand_int_range (r, 0, 256);
    }
  want = naive (l, img, s);
  g_assert_cmpuint (g_hash_table_size (want), >, 30);
  for (guint t = 0; t < G_N_ELEMENTS (tilings); t++)
    check_tiling (l, img, s, tilings[t], want);
}

/* Without an image the intensities are 0; one label has no contacts. */
static void
test_no_image (void)
{
  const guint64 l[8] = { 1, 1, 2, 2, 1, 1, 2, 3 };
  const gsize size[3] = { 2, 2, 2 }, own[3] = { 2, 2, 2 };
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (CleaveContact));
  g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (CleaveContact));
  const guint64 one[8] = { 5, 5, 5, 5, 5, 5, 5, 5 };

  cleave_contacts_find (l, NULL, size, own, out);
  {
  /* 1-2: two y faces at z 0, one at z 1; 1-3: one y face; 2-3: one x
   * face, one z face. */
  const guint64 want[3][3] = { { 1, 2, 3 }, { 1, 3, 1 }, { 2, 3, 2 } };

  g_assert_cmpuint (out->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const CleaveContact *c = &g_array_index (out, CleaveContact, i);

      g_assert_cmpuint (c->a, ==, want[i][0]);
      g_assert_cmpuint (c->b, ==, want[i][1]);
      g_assert_cmpuint (c->area, ==, want[i][2]);
      g_assert_cmpuint (c->intensity, ==, 0);
    }
  }
  cleave_contacts_find (one, NULL, size, own, none);
  g_assert_cmpuint (none->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/contacts/tilings", test_tilings);
  g_test_add_func ("/contacts/no-image", test_no_image);
  return g_test_run ();
}
