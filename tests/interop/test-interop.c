/* test-interop.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What Cleave writes must read the same through an independent reader:
 * neuroglancer's OCDBT decoder, run under Node.js by the shared
 * tools/ngocdbt. Each test writes one store with libcleave while keeping
 * an in-memory model of every generation, then has ngocdbt list every
 * generation (`ls-all`) and compares the generation numbers, commit times,
 * key sets, value sizes and SHA-256 sums with the model.
 *
 * interop-ngocdbt.c installs and runs the tool, says when the tests
 * skip, and compares its reading with the model.
 */

#define G_LOG_DOMAIN "test-interop"

#include "interop.h"
#include "cleave-test.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * The model: what every generation of a store should hold.
 * ------------------------------------------------------------------------ */

static void
entry_clear (Entry *e)
{
  g_bytes_unref (e->key);
  g_free (e->sha256);
}

static void
generation_free (Generation *g)
{
  g_array_unref (g->entries);
  g_free (g);
}

int
interop_bytes_cmp (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  gsize al, bl;
  const guint8 *ad = g_bytes_get_data ((GBytes *) a, &al);
  const guint8 *bd = g_bytes_get_data ((GBytes *) b, &bl);

  return cleave_ocdbt_key_cmp (ad ? ad : (const guint8 *) "", al, bd ? bd : (const guint8 *) "", bl);
}

/* ------------------------------------------------------------------------
 * Writing a store and its model together.
 * ------------------------------------------------------------------------ */

static gboolean
snapshot_entry (gpointer key,
                gpointer value,
                gpointer user_data)
{
  GArray *entries = user_data;
  Entry e = { g_bytes_ref (key), g_bytes_get_size (value),
              g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, value) };

  g_array_append_val (entries, e);
  return FALSE;
}

/* The model as generation @v. */
static void
record_generation (Writer                   *w,
                   const CleaveOcdbtVersion *v)
{
  Generation *g = g_new0 (Generation, 1);

  g->generation = v->generation;
  g->commit_time = v->commit_time;
  g->entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), g_tree_nnodes (w->model));
  g_array_set_clear_func (g->entries, (GDestroyNotify) entry_clear);
  g_tree_foreach (w->model, snapshot_entry, g->entries);
  g_ptr_array_add (w->generations, g);
  w->max_btree_height = MAX (w->max_btree_height, v->root_height);
}

static void
w_put (Writer       *w,
       const guint8 *key,
       gsize         key_len,
       GBytes       *value)
{
  cleave_ocdbt_txn_put_bytes (w->txn, key, key_len, value);
  g_tree_replace (w->model, g_bytes_new (key, key_len), g_bytes_ref (value));
  w->n_ops++;
}

/* Keys in [lo, hi); @hi NULL: every key from @lo on. The model applies
 * operations in order, as the transaction promises: the last one wins. */
static void
w_delete_range (Writer       *w,
                const guint8 *lo,
                gsize         lo_len,
                const guint8 *hi,
                gsize         hi_len)
{
  g_autoptr(GBytes) from = g_bytes_new (lo, lo_len);
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  cleave_ocdbt_txn_delete_range (w->txn, lo, lo_len, hi, hi_len);
  for (GTreeNode *n = g_tree_lower_bound (w->model, from); n != NULL; n = g_tree_node_next (n))
    {
      gsize kl;
      const guint8 *k = g_bytes_get_data (g_tree_node_key (n), &kl);

      if (hi != NULL && cleave_ocdbt_key_cmp (k ? k : (const guint8 *) "", kl, hi, hi_len) >= 0)
        break;
      g_ptr_array_add (doomed, g_bytes_ref (g_tree_node_key (n)));
    }
  for (guint i = 0; i < doomed->len; i++)
    g_tree_remove (w->model, doomed->pdata[i]);
  w->n_ops++;
}

static void
w_delete (Writer       *w,
          const guint8 *key,
          gsize         key_len)
{
  g_autoptr(GBytes) k = g_bytes_new (key, key_len);

  cleave_ocdbt_txn_delete (w->txn, key, key_len);
  g_tree_remove (w->model, k);
  w->n_ops++;
}

/* §6.4 of the spec, worked out independently of the writer: with every
 * generation 1..G present, the inline versions are the aligned leaf block
 * holding G, and each version-tree slot below it is one manifest node. */
static void
check_manifest_layout (Writer *w,
                       guint  *max_height)
{
  const CleaveOcdbtManifest *m = cleave_ocdbt_get_manifest (w->store);
  guint64 latest = cleave_ocdbt_get_version (w->store).generation;
  guint a = w->config.version_tree_arity_log2;
  guint64 first_inline = ((latest - 1) >> a << a) + 1;
  guint64 g = ((latest - 1) >> a) << a;
  g_autoptr(GArray) want = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));

  g_assert_cmpuint (m->versions->len, ==, latest - first_inline + 1);
  for (guint i = 0; i < m->versions->len; i++)
    g_assert_cmpuint (g_array_index (m->versions, CleaveOcdbtVersion, i).generation, ==, first_inline + i);
  for (guint h = 1; g != 0; h++)
    {
      guint shift = (h + 1) * a;
      guint64 next = shift >= 64 ? 0 : ((g - 1) >> shift) << shift;
      CleaveOcdbtVersionNodeRef ref = { .generation = g, .num_generations = g - next, .height = h };

      g_array_prepend_val (want, ref);
      g = next;
    }
  g_assert_cmpuint (m->version_nodes->len, ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      const CleaveOcdbtVersionNodeRef *got = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);
      const CleaveOcdbtVersionNodeRef *exp = &g_array_index (want, CleaveOcdbtVersionNodeRef, i);

      g_assert_cmpuint (got->height, ==, exp->height);
      g_assert_cmpuint (got->generation, ==, exp->generation);
      g_assert_cmpuint (got->num_generations, ==, exp->num_generations);
      *max_height = MAX (*max_height, got->height);
    }
}

static void
w_commit (Writer *w,
          guint  *max_vtree_height)
{
  g_autoptr(GError) error = NULL;
  CleaveOcdbtVersion before = cleave_ocdbt_get_version (w->store), after;
  guint64 gen = 0;

  g_assert_cmpuint (w->n_ops, >, 0);   /* an empty transaction commits nothing */
  g_assert_cmpuint (cleave_ocdbt_txn_get_n_ops (w->txn), ==, w->n_ops);
  g_assert_true (cleave_ocdbt_txn_commit (w->txn, &gen, &error));
  g_assert_no_error (error);
  after = cleave_ocdbt_get_version (w->store);
  g_assert_cmpuint (gen, ==, before.generation + 1);
  g_assert_cmpuint (after.generation, ==, gen);
  g_assert_cmpuint (after.commit_time, >, before.commit_time);
  g_assert_cmpuint (after.stats.num_keys, ==, g_tree_nnodes (w->model));
  record_generation (w, &after);
  check_manifest_layout (w, max_vtree_height);

  cleave_ocdbt_txn_free (w->txn);
  w->txn = cleave_ocdbt_txn_new (w->store);
  w->n_ops = 0;
}

static GBytes *
make_value (Writer *w,
            gsize   len)
{
  guint8 *data = g_malloc (len + 1);
  guint32 r = g_rand_int (w->rand);

  /* Half repetitive (zstd has something to do), half noise. */
  for (gsize i = 0; i < len; i++)
    data[i] = (r & 1) ? (guint8) ("segment:" [(i + r) % 8]) : (guint8) g_rand_int_range (w->rand, 0, 256);
  return g_bytes_new_take (data, len);
}

/* Value lengths around the inline limit, and a few others. */
static gsize
pick_length (Writer *w)
{
  gsize inl = w->config.max_inline_value_bytes;

  switch (g_rand_int_range (w->rand, 0, 8))
    {
    case 0:
      return 0;
    case 1:
      return inl > 0 ? inl - 1 : 1;
    case 2:
      return inl;
    case 3:
      return inl + 1;
    case 4:
      return g_rand_int_range (w->rand, 1, 16);
    case 5:
      return inl + g_rand_int_range (w->rand, 2, 600);
    default:
      return g_rand_int_range (w->rand, 0, inl + 2);
    }
}

static char *
chunk_key (guint scale,
           guint x,
           guint y,
           guint z)
{
  return g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u-%u_%u-%u", scale, scale, scale,
                          x * scale, (x + 1) * scale, y * scale, (y + 1) * scale, z * scale, (z + 1) * scale);
}

typedef struct
{
  guint scale, x, y, z;
} Chunk;

static Chunk
random_chunk (Writer *w)
{
  Chunk c;
  guint n;

  c.scale = g_rand_int_range (w->rand, 0, 4) == 0 ? 128 : 64;
  n = c.scale == 64 ? w->c->grid : MAX (w->c->grid / 2, 1);
  c.x = g_rand_int_range (w->rand, 0, n);
  c.y = g_rand_int_range (w->rand, 0, n);
  c.z = g_rand_int_range (w->rand, 0, n);
  return c;
}

static void
put_str (Writer     *w,
         const char *key,
         gsize       value_len)
{
  g_autoptr(GBytes) value = make_value (w, value_len);

  w_put (w, (const guint8 *) key, strlen (key), value);
}

static void
put_random (Writer     *w,
            const char *key)
{
  put_str (w, key, pick_length (w));
}

/* Keys besides chunks: an empty key, keys that are not UTF-8 (one with a
 * NUL right after a key the script deletes: [key, key "\0") must spare
 * it), non-ASCII UTF-8, and a key that is also a '/' directory. */
static const struct
{
  const char *key;
  gsize       len;
} special_keys[] = {
  { "", 0 },
  { "\xff\xfe", 2 },
  { "\xffk", 2 },
  { "\xffk\x00", 3 },
  { "\xffk\x00\x01", 4 },
  { "seg", 3 },
  { "seg/info", 8 },
  { "seg/\xc3\xa9t\xc3\xa9", 8 },
  { "~last", 5 },
};

static void
bulk_load (Writer *w,
           guint   scale,
           guint   n,
           guint   every)
{
  guint i = 0;

  for (guint x = 0; x < n; x++)
    for (guint y = 0; y < n; y++)
      for (guint z = 0; z < n; z++)
        if (i++ % every == 0)
          {
            g_autofree char *key = chunk_key (scale, x, y, z);
            put_random (w, key);
          }
}

static void
delete_range_str (Writer     *w,
                  const char *lo,
                  const char *hi)
{
  w_delete_range (w, (const guint8 *) lo, strlen (lo), (const guint8 *) hi, hi ? strlen (hi) : 0);
}

/* Small random transactions, the steady state of proofreading. Ranges
 * stay narrow (a few chunks, or one x column) so the store keeps its
 * thousands of keys; wide ones come from the scripted generations. */
static void
random_ops (Writer *w,
            guint   n_ops)
{
  for (guint i = 0; i < n_ops; i++)
    {
      Chunk c = random_chunk (w);
      g_autofree char *key = chunk_key (c.scale, c.x, c.y, c.z);

      switch (g_rand_int_range (w->rand, 0, 12))
        {
        case 0: case 1: case 2: case 3:
          put_random (w, key);               /* new or overwrite */
          break;
        case 4: case 5:
          w_delete (w, (const guint8 *) key, strlen (key));   /* present or not */
          break;
        case 6:
          {
            /* Between two chunks of one (x, y) row, in key order; the same
             * chunk twice is an empty range, an operation that changes
             * nothing. */
            g_autofree char *other = chunk_key (c.scale, c.x, c.y, g_rand_int_range (w->rand, 0, w->c->grid));
            const char *lo = strcmp (key, other) < 0 ? key : other;

            delete_range_str (w, lo, lo == key ? other : key);
            break;
          }
        case 7:
          /* Put, then delete, in one transaction: the delete wins. */
          put_random (w, key);
          w_delete (w, (const guint8 *) key, strlen (key));
          break;
        case 8:
          /* Delete, then put: the put wins. */
          w_delete (w, (const guint8 *) key, strlen (key));
          put_random (w, key);
          break;
        case 9:
          {
            /* One row, [seg/S_S_S/X0-X1_Y0-, seg/S_S_S/X0-X1_Y0.): every
             * key with that prefix. Then a put inside it. */
            g_autofree char *lo = g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u-", c.scale, c.scale, c.scale,
                                                   c.x * c.scale, (c.x + 1) * c.scale, c.y * c.scale);
            g_autofree char *hi = g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u.", c.scale, c.scale, c.scale,
                                                   c.x * c.scale, (c.x + 1) * c.scale, c.y * c.scale);

            delete_range_str (w, lo, hi);
            put_random (w, key);
            break;
          }
        case 10:
          /* Overwrite with the same length: only the bytes change. */
          {
            g_autoptr(GBytes) k = g_bytes_new (key, strlen (key));
            GBytes *old = g_tree_lookup (w->model, k);

            put_str (w, key, old ? g_bytes_get_size (old) : w->config.max_inline_value_bytes);
            break;
          }
        default:
          {
            /* A range with puts at its lower bound, inside and past it. */
            g_autofree char *hi = chunk_key (c.scale, c.x, MIN (c.y + 1, w->c->grid), c.z);
            g_autofree char *inside = chunk_key (c.scale, c.x, c.y, (c.z + 1) % w->c->grid);
            const char *lo = strcmp (key, hi) < 0 ? key : hi;
            const char *up = lo == key ? hi : key;

            delete_range_str (w, lo, up);
            put_random (w, lo);
            put_random (w, inside);
            put_random (w, up);
            break;
          }
        }
    }
}

/* Every key the store holds: one in five rewritten, one in seven
 * deleted. On a tensorstore-written store this reaches into its subtrees,
 * whose keys are relative to their common prefix. */
static void
touch_existing (Writer *w)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
    g_ptr_array_add (keys, g_bytes_ref (g_tree_node_key (node)));
  for (guint i = 0; i < keys->len; i++)
    {
      gsize len;
      const guint8 *k = g_bytes_get_data (keys->pdata[i], &len);

      k = k ? k : (const guint8 *) "";
      if (i % 7 == 3)
        w_delete (w, k, len);
      else if (i % 5 == 0)
        {
          g_autoptr(GBytes) value = make_value (w, pick_length (w));

          w_put (w, k, len, value);
        }
    }
}

/* Ranges that the writer merges: overlapping, touching, nested, empty,
 * one from the start of the key space; puts between them, which a later
 * range removes and an earlier one does not. Bounds are keys the store
 * holds, picked by rank. */
static void
range_mix (Writer *w)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_free);
  guint m;

  for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
    {
      gsize len;
      const guint8 *k = g_bytes_get_data (g_tree_node_key (node), &len);

      /* Chunk keys only: they are text. */
      if (len > 4 && memcmp (k, "seg/", 4) == 0 && g_ascii_isdigit (k[4]))
        g_ptr_array_add (keys, g_strndup ((const char *) k, len));
    }
  m = keys->len;
  g_assert_cmpuint (m, >=, 20);
#define K(i) ((const char *) keys->pdata[MIN ((guint) (i), m - 1)])
  delete_range_str (w, "", K (1));                       /* from the start */
  delete_range_str (w, K (m / 10), K (m / 5));
  put_str (w, K (m / 10 + 1), 3);                        /* survives */
  delete_range_str (w, K (m / 7), K (m / 4));            /* overlaps */
  delete_range_str (w, K (m / 4), K (m / 3));            /* touches */
  put_str (w, K (m / 2 + 1), 4);                         /* the nested range removes it */
  delete_range_str (w, K (m / 2), K (m / 2 + 9));
  delete_range_str (w, K (m / 2 + 1), K (m / 2 + 3));    /* nested */
  put_str (w, K (m / 2 + 2), 5);                         /* survives */
  delete_range_str (w, K (2 * m / 3), K (2 * m / 3));    /* empty */
  delete_range_str (w, K (m - 2), K (m / 2 + 10));       /* reversed: empty */
#undef K
}

/* The script of commit @g of @n: the first commit is 2, as it makes
 * generation 2 of a new store. */
static void
write_generation (Writer *w,
                  guint   g,
                  guint   n)
{
  const StoreCase *c = w->c;
  guint wipe_each, wipe_all;

  if (c->golden != NULL)
    {
      if (g == 2)
        {
          /* Into tensorstore's "baz/" subtree, before its first key, and
           * over its keys. */
          put_str (w, "baz/y", w->config.max_inline_value_bytes + 1);
          put_str (w, "!", 1);
          touch_existing (w);
          return;
        }
      if (g == 3)
        {
          delete_range_str (w, "baz/", "baz/z");
          put_str (w, "baz/0", 0);
        }
      /* Then the script of a new store, one commit later. */
      g--;
      n--;
    }
  wipe_each = MAX (n / 3, 10);
  wipe_all = MAX (2 * n / 3, wipe_each + 5);
  g_assert_cmpuint (n, >, wipe_all + 4);

  if (g == 2)
    {
      /* Bulk load: every chunk at 64^3, every fourth at 128^3. */
      bulk_load (w, 64, c->grid, 1);
      bulk_load (w, 128, MAX (c->grid / 2, 1), 4);
      return;
    }
  if (g == 3)
    {
      g_autofree char *filler = g_strnfill (2000, 'k');
      g_autofree char *long_key = g_strconcat ("seg/long/", filler, NULL);

      for (guint i = 0; i < G_N_ELEMENTS (special_keys); i++)
        {
          g_autoptr(GBytes) value = make_value (w, pick_length (w));

          w_put (w, (const guint8 *) special_keys[i].key, special_keys[i].len, value);
        }
      /* Longer than many of the nodes it goes into. */
      put_random (w, long_key);
      return;
    }
  if (g == 4)
    {
      touch_existing (w);
      /* [\xffk, \xffk\0) holds \xffk alone. */
      w_delete (w, (const guint8 *) "\xffk", 2);
      random_ops (w, 3);
      return;
    }
  if (g == 5)
    {
      w_delete (w, (const guint8 *) "", 0);
      put_str (w, "seg/info", w->config.max_inline_value_bytes + 1);
      return;
    }
  if (c->big_value && (g == 6 || g == 7))
    {
      /* Past the writer's 4 MiB buffer, then overwritten by one just below. */
      put_str (w, "seg/big", g == 6 ? (5u << 20) + 3 : (4u << 20) - 1);
      return;
    }
  if (c->big_value && g == 9)
    {
      w_delete (w, (const guint8 *) "seg/big", 7);
      return;
    }
  if (g == wipe_each)
    {
      /* Every key deleted one by one, and two put back in the same
       * transaction after their delete. */
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

      for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
        g_ptr_array_add (keys, g_bytes_ref (g_tree_node_key (node)));
      for (guint i = 0; i < keys->len; i++)
        {
          gsize len;
          const guint8 *k = g_bytes_get_data (keys->pdata[i], &len);

          w_delete (w, k ? k : (const guint8 *) "", len);
        }
      put_str (w, "seg/info", 0);
      put_str (w, "seg/64_64_64/0-64_0-64_0-64", w->config.max_inline_value_bytes);
      return;
    }
  if (g == wipe_each + 1)
    {
      bulk_load (w, 64, c->grid, 1);
      return;
    }
  if (g == wipe_each + 2)
    {
      range_mix (w);
      return;
    }
  if (g == wipe_all)
    {
      /* One operation deleting everything: an empty tree. */
      w_delete_range (w, (const guint8 *) "", 0, NULL, 0);
      return;
    }
  if (g == wipe_all + 1)
    {
      /* A delete on an empty tree still commits a generation. */
      w_delete (w, (const guint8 *) "seg/info", 8);
      return;
    }
  if (g == wipe_all + 2)
    {
      bulk_load (w, 64, c->grid, 1);
      bulk_load (w, 128, MAX (c->grid / 2, 1), 2);
      return;
    }
  if (g == wipe_all + 3)
    {
      /* Everything from a key on, to the end of the key space: the
       * last x column (in key order) and the keys after "seg/64...". */
      g_autofree char *key = chunk_key (64, c->grid - 1, g_rand_int_range (w->rand, 0, c->grid), 0);

      delete_range_str (w, key, NULL);
      put_str (w, "~last", 1);
      return;
    }
  if (g % 10 == 0)
    {
      /* A large batch: a fifth of the key space rewritten. */
      random_ops (w, MAX (c->grid * c->grid * c->grid / 5, 8));
      return;
    }
  random_ops (w, g_rand_int_range (w->rand, 1, 12));
}

static void
copy_dir (const char *src,
          const char *dst)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (src, 0, &error);
  const char *name;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src, name, NULL);
      g_autofree char *to = g_build_filename (dst, name, NULL);
      g_autofree char *data = NULL;
      gsize len;

      if (g_file_test (from, G_FILE_TEST_IS_DIR))
        {
          copy_dir (from, to);
          continue;
        }
      g_assert_true (g_file_get_contents (from, &data, &len, &error));
      g_assert_true (g_file_set_contents (to, data, len, &error));
    }
}

typedef struct
{
  CleaveOcdbt *pin;
  GTree       *model;
  GError      *error;
} Seed;

static gboolean
seed_entry (const guint8 *key,
            gsize         key_len,
            guint64       value_len,
            gpointer      user_data)
{
  Seed *seed = user_data;
  GBytes *value = NULL;

  if (!cleave_ocdbt_get (seed->pin, key, key_len, &value, &seed->error))
    return FALSE;
  g_assert_nonnull (value);
  g_assert_cmpuint (g_bytes_get_size (value), ==, value_len);
  g_tree_replace (seed->model, g_bytes_new (key, key_len), value);
  return TRUE;
}

/* The generations tensorstore wrote, as libcleave reads them: tests/core
 * checks that reading against the golden *.expected.json. */
static void
seed_from_store (Writer *w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) versions = cleave_ocdbt_list_versions (w->store, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < versions->len; i++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      g_autoptr(CleaveOcdbt) pin = cleave_ocdbt_pin_generation (w->store, v->generation, &error);
      Seed seed = { pin, w->model, NULL };

      g_assert_no_error (error);
      g_tree_remove_all (w->model);
      g_assert_true (cleave_ocdbt_list (pin, NULL, 0, NULL, 0, seed_entry, &seed, &seed.error) || seed.error);
      g_assert_no_error (seed.error);
      record_generation (w, v);
    }
}

static Writer *
writer_new (const StoreCase *c)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = cleave_test_tmpdir ();
  Writer *w = g_new0 (Writer, 1);

  w->c = c;
  w->dir = g_build_filename (tmp, c->name, NULL);
  w->model = g_tree_new_full (interop_bytes_cmp, NULL, (GDestroyNotify) g_bytes_unref,
                              (GDestroyNotify) g_bytes_unref);
  w->generations = g_ptr_array_new_with_free_func ((GDestroyNotify) generation_free);
  w->rand = g_rand_new_with_seed (g_str_hash (c->name));
  if (c->golden != NULL)
    {
      g_autofree char *golden = cleave_test_shared_path ("testdata", "ocdbt", c->golden, NULL);

      copy_dir (golden, w->dir);
      w->store = cleave_ocdbt_open (w->dir, &error);
      g_assert_no_error (error);
      w->config = *cleave_ocdbt_get_config (w->store);
      seed_from_store (w);
    }
  else
    {
      CleaveOcdbtVersion first;

      cleave_ocdbt_config_init_default (&w->config);
      w->config.max_inline_value_bytes = c->max_inline_value_bytes;
      w->config.max_decoded_node_bytes = c->max_decoded_node_bytes;
      w->config.version_tree_arity_log2 = c->arity_log2;
      w->config.compression = c->compression;
      w->config.zstd_level = c->zstd_level;
      w->store = cleave_ocdbt_create (w->dir, &w->config, &error);
      g_assert_no_error (error);
      first = cleave_ocdbt_get_version (w->store);
      g_assert_cmpuint (first.generation, ==, 1);
      record_generation (w, &first);
    }
  /* The format is the same with or without fsync; skipping it keeps a
   * few hundred commits quick. */
  cleave_ocdbt_set_sync (w->store, FALSE);
  w->txn = cleave_ocdbt_txn_new (w->store);
  return w;
}

static void
writer_free (Writer *w)
{
  cleave_ocdbt_txn_free (w->txn);
  cleave_ocdbt_unref (w->store);
  g_tree_unref (w->model);
  g_ptr_array_unref (w->generations);
  g_rand_free (w->rand);
  g_free (w->dir);
  g_free (w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Writer, writer_free)

static void
test_interop_store (gconstpointer data)
{
  const StoreCase *c = data;
  g_autoptr(Writer) w = NULL;
  Problems p = { c->name, g_string_new (NULL), 0 };
  guint max_vtree_height = 0;
  guint64 n_entries = 0;
  guint max_keys = 0;
  gint64 start;

  if (!interop_require_ngocdbt ())
    return;

  start = g_get_monotonic_time ();
  w = writer_new (c);
  for (guint g = 2; g <= c->n_commits + 1; g++)
    {
      write_generation (w, g, c->n_commits + 1);
      w_commit (w, &max_vtree_height);
    }
  for (guint i = 0; i < w->generations->len; i++)
    {
      guint len = ((Generation *) w->generations->pdata[i])->entries->len;

      n_entries += len;
      max_keys = MAX (max_keys, len);
    }
  g_test_message ("interop: %s: %u generations of up to %u keys, %" G_GUINT64_FORMAT " entries in all, "
                  "B+tree height up to %u, version tree height %u; written in %.1f s", c->name,
                  w->generations->len, max_keys, n_entries, w->max_btree_height, max_vtree_height,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  /* What the case is for: deep trees, version-tree interior nodes. */
  g_assert_cmpuint (w->max_btree_height, >=, c->min_btree_height);
  g_assert_cmpuint (max_vtree_height, >=, c->min_vtree_height);

  interop_compare_with_ngocdbt (w, &p);
  if (p.n > 0)
    {
      if (p.n > MAX_PROBLEMS)
        g_string_append_printf (p.report, "... and %u more\n", p.n - MAX_PROBLEMS);
      g_string_truncate (p.report, p.report->len - 1);
      g_test_message ("%s", p.report->str);
      g_test_fail_printf ("store '%s' reads differently through ngocdbt (%u problems; "
                          "CLEAVE_TEST_KEEP=1 keeps %s); first: %.*s", c->name, p.n, w->dir,
                          (int) strcspn (p.report->str, "\n"), p.report->str);
    }
  g_string_free (p.report, TRUE);
}

/* Stores written from scratch (generation 1 empty, then n_commits), and
 * tensorstore's golden stores with Cleave's commits on top. */
static const StoreCase cases[] = {
  /* Thousands of chunk keys, zstd, tensorstore's default version tree
   * arity 16; values past the writer's 4 MiB buffer. */
  { .name = "chunks-zstd-4k", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 4096,
    .arity_log2 = 4, .compression = 1, .zstd_level = 0, .n_commits = 47, .grid = 13, .big_value = TRUE,
    .min_btree_height = 2, .min_vtree_height = 1 },
  /* Uncompressed small nodes, arity 4. */
  { .name = "chunks-raw-256", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 256,
    .arity_log2 = 2, .compression = 0, .n_commits = 44, .grid = 10,
    .min_btree_height = 5, .min_vtree_height = 2 },
  /* One entry per leaf and two children per interior node; arity 2. */
  { .name = "nodes-1-byte", .max_inline_value_bytes = 8, .max_decoded_node_bytes = 1,
    .arity_log2 = 1, .compression = 1, .zstd_level = 3, .n_commits = 39, .grid = 6,
    .min_btree_height = 6, .min_vtree_height = 4 },
  /* Every non-empty value out of line; zstd at a high level. */
  { .name = "inline-0", .max_inline_value_bytes = 0, .max_decoded_node_bytes = 512,
    .arity_log2 = 2, .compression = 1, .zstd_level = 19, .n_commits = 39, .grid = 8, .big_value = TRUE,
    .min_btree_height = 3, .min_vtree_height = 2 },
  /* §6.4's worked example: arity 2 over 200 generations, nodes of heights 6 to 1. */
  { .name = "vtree-arity-2", .max_inline_value_bytes = 16, .max_decoded_node_bytes = 1024,
    .arity_log2 = 1, .compression = 0, .n_commits = 199, .grid = 4,
    .min_btree_height = 1, .min_vtree_height = 6 },
  /* Arity 16 past 256 generations: a height-2 version node; a negative
   * (fast) zstd level. */
  { .name = "vtree-arity-16", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 8u << 20,
    .arity_log2 = 4, .compression = 1, .zstd_level = -5, .n_commits = 299, .grid = 5,
    .min_btree_height = 0, .min_vtree_height = 2 },
  /* tensorstore's height-3 tree of one-entry leaves, whose subtrees hold
   * keys relative to their common prefix (subtree_common_prefix_length up
   * to 5): Cleave's commits keep some of them as they are. */
  { .name = "on-files-min-arity", .golden = "files_min_arity.ocdbt", .n_commits = 30, .grid = 4,
    .min_btree_height = 3, .min_vtree_height = 1 },
  /* 200 generations and a version node of tensorstore's, continued to
   * 280: a height-2 node over tensorstore's and Cleave's. */
  { .name = "on-multi-version", .golden = "multi_version_high_arity.ocdbt", .n_commits = 80, .grid = 3,
    .min_btree_height = 0, .min_vtree_height = 2 },
};

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/interop/ngocdbt/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_interop_store);
    }
  return g_test_run ();
}
