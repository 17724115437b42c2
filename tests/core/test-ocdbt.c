/* test-ocdbt.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reading tensorstore-written stores: every generation of every golden case
 * must decode to exactly its *.expected.json; damaged stores must fail with
 * an error that names the file.
 */

#include "cleave-bytes.h"
#include "cleave-ocdbt-encode.h"
#include "cleave-ocdbt.h"
#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  CleaveOcdbt *store;
  GPtrArray   *lines;   /* "key size sha256" per key, in list order */
  GError      *error;
} Listing;

static gboolean
collect_entry (const guint8 *key,
               gsize         key_len,
               guint64       value_len,
               gpointer      user_data)
{
  Listing *l = user_data;
  g_autoptr(GBytes) value = NULL;
  g_autofree char *sha = NULL;

  if (!cleave_ocdbt_get (l->store, key, key_len, &value, &l->error))
    return FALSE;
  g_assert_nonnull (value);
  g_assert_cmpuint (g_bytes_get_size (value), ==, value_len);
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, value);
  g_ptr_array_add (l->lines, g_strdup_printf ("%.*s %" G_GUINT64_FORMAT " %s", (int) key_len, key, value_len, sha));
  return TRUE;
}

static GPtrArray *
list_all (CleaveOcdbt *store)
{
  Listing l = { store, g_ptr_array_new_with_free_func (g_free), NULL };

  g_assert_true (cleave_ocdbt_list (store, NULL, 0, NULL, 0, collect_entry, &l, &l.error) || l.error);
  g_assert_no_error (l.error);
  return l.lines;
}

static int
cmp_lines (gconstpointer a,
           gconstpointer b)
{
  /* "key size sha": a space sorts below every key byte used here, so the
   * lines sort as their keys do. */
  const char *x = *(const char **) a, *y = *(const char **) b;
  return strcmp (x, y);
}

/* The multi-version case states its contents as a rule rather than a list. */
static GPtrArray *
rule_entries (guint64 gen)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint64 j = 1; j <= gen; j++)
    {
      g_autofree char *value = g_strdup_printf ("version %" G_GUINT64_FORMAT, j);
      g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, value, -1);
      g_ptr_array_add (lines, g_strdup_printf ("key%" G_GUINT64_FORMAT " %zu %s", j, strlen (value), sha));
    }
  g_ptr_array_sort (lines, cmp_lines);   /* bytewise, as keys are */
  return lines;
}


static void
check_case (gconstpointer data)
{
  const char *name = data;
  g_autofree char *expected_name = g_strconcat (name, ".expected.json", NULL);
  g_autofree char *store_name = g_strconcat (name, ".ocdbt", NULL);
  g_autofree char *expected_path = cleave_test_shared_path ("testdata", "ocdbt", expected_name, NULL);
  g_autofree char *dir = cleave_test_shared_path ("testdata", "ocdbt", store_name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = NULL;
  g_autoptr(GArray) versions = NULL;
  JsonObject *root;
  JsonArray *gens, *inl, *vnodes;
  const CleaveOcdbtManifest *m;

  g_assert_true (json_parser_load_from_file (parser, expected_path, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  gens = json_object_get_array_member (root, "generations");

  store = cleave_ocdbt_open (dir, &error);
  g_assert_no_error (error);
  g_assert_false (cleave_ocdbt_is_pinned (store));

  /* The manifest's own layout: inline versions and version-tree nodes. */
  m = cleave_ocdbt_get_manifest (store);
  inl = json_object_get_array_member (root, "inline_versions");
  g_assert_cmpuint (m->versions->len, ==, json_array_get_length (inl));
  for (guint i = 0; i < m->versions->len; i++)
    g_assert_cmpuint (g_array_index (m->versions, CleaveOcdbtVersion, i).generation, ==,
                      json_array_get_int_element (inl, i));
  vnodes = json_object_get_array_member (root, "manifest_version_tree_nodes");
  g_assert_cmpuint (m->version_nodes->len, ==, json_array_get_length (vnodes));
  for (guint i = 0; i < m->version_nodes->len; i++)
    {
      JsonObject *o = json_array_get_object_element (vnodes, i);
      const CleaveOcdbtVersionNodeRef *ref = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);

      g_assert_cmpuint (ref->height, ==, json_object_get_int_member (o, "height"));
      g_assert_cmpuint (ref->generation, ==, json_object_get_int_member (o, "generation_number"));
      g_assert_cmpuint (ref->num_generations, ==, json_object_get_int_member (o, "num_generations"));
      g_assert_cmpuint (ref->commit_time, ==, json_object_get_int_member (o, "commit_time_ns"));
      g_assert_cmpstr (ref->location.file, ==, json_object_get_string_member (o, "file"));
      g_assert_cmpuint (ref->location.offset, ==, json_object_get_int_member (o, "offset"));
    }
  {
    JsonObject *cfg = json_object_get_object_member (root, "config");
    const CleaveOcdbtConfig *c = cleave_ocdbt_get_config (store);
    g_autofree char *uuid = g_strdup_printf ("%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
                                             c->uuid[0], c->uuid[1], c->uuid[2], c->uuid[3], c->uuid[4], c->uuid[5],
                                             c->uuid[6], c->uuid[7], c->uuid[8], c->uuid[9], c->uuid[10],
                                             c->uuid[11], c->uuid[12], c->uuid[13], c->uuid[14], c->uuid[15]);
    g_assert_cmpstr (uuid, ==, json_object_get_string_member (cfg, "uuid_hex"));
    g_assert_cmpuint (c->max_inline_value_bytes, ==, json_object_get_int_member (cfg, "max_inline_value_bytes"));
    g_assert_cmpuint (c->max_decoded_node_bytes, ==, json_object_get_int_member (cfg, "max_decoded_node_bytes"));
    g_assert_cmpuint (c->version_tree_arity_log2, ==, json_object_get_int_member (cfg, "version_tree_arity_log2"));
  }

  versions = cleave_ocdbt_list_versions (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (versions->len, ==, json_array_get_length (gens));

  for (guint i = 0; i < versions->len; i++)
    {
      JsonObject *g = json_array_get_object_element (gens, i);
      JsonObject *stats = json_object_get_object_member (g, "stats");
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      guint64 gen = json_object_get_int_member (g, "generation_number");
      guint64 t = json_object_get_int_member (g, "commit_time_ns");
      g_autoptr(CleaveOcdbt) pin = NULL;
      g_autoptr(CleaveOcdbt) at = NULL;
      g_autoptr(CleaveOcdbt) after = NULL;
      g_autoptr(GPtrArray) got = NULL;
      g_autoptr(GPtrArray) want = NULL;

      g_assert_cmpuint (v->generation, ==, gen);
      g_assert_cmpuint (v->commit_time, ==, t);
      g_assert_cmpuint (v->root_height, ==, json_object_get_int_member (g, "root_height"));
      g_assert_cmpuint (v->stats.num_keys, ==, json_object_get_int_member (stats, "num_keys"));
      g_assert_cmpuint (v->stats.num_tree_bytes, ==, json_object_get_int_member (stats, "num_tree_bytes"));
      g_assert_cmpuint (v->stats.num_indirect_value_bytes, ==,
                        json_object_get_int_member (stats, "num_indirect_value_bytes"));

      pin = cleave_ocdbt_pin_generation (store, gen, &error);
      g_assert_no_error (error);
      g_assert_true (cleave_ocdbt_is_pinned (pin));
      g_assert_cmpuint (cleave_ocdbt_get_version (pin).generation, ==, gen);

      got = list_all (pin);
      if (json_object_has_member (g, "entries"))
        {
          JsonArray *entries = json_object_get_array_member (g, "entries");

          want = g_ptr_array_new_with_free_func (g_free);
          for (guint k = 0; k < json_array_get_length (entries); k++)
            {
              JsonObject *e = json_array_get_object_element (entries, k);
              g_ptr_array_add (want, g_strdup_printf ("%s %" G_GINT64_FORMAT " %s",
                                                      json_object_get_string_member (e, "key"),
                                                      json_object_get_int_member (e, "size"),
                                                      json_object_get_string_member (e, "sha256")));
            }
        }
      else
        want = rule_entries (gen);
      g_assert_cmpuint (got->len, ==, want->len);
      for (guint k = 0; k < got->len; k++)
        g_assert_cmpstr (got->pdata[k], ==, want->pdata[k]);

      /* As of its commit time, and 1 ns after: this generation; 1 ns before:
       * the previous one (or none). */
      at = cleave_ocdbt_pin_time (store, t, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (cleave_ocdbt_get_version (at).generation, ==, gen);
      after = cleave_ocdbt_pin_time (store, t + 1, &error);
      g_assert_no_error (error);
      if (i + 1 == versions->len || g_array_index (versions, CleaveOcdbtVersion, i + 1).commit_time > t + 1)
        g_assert_cmpuint (cleave_ocdbt_get_version (after).generation, ==, gen);
      {
        g_autoptr(CleaveOcdbt) before = cleave_ocdbt_pin_time (store, t - 1, &error);
        if (i == 0)
          {
            g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND);
            g_clear_error (&error);
          }
        else
          {
            g_assert_no_error (error);
            g_assert_cmpuint (cleave_ocdbt_get_version (before).generation, ==,
                              g_array_index (versions, CleaveOcdbtVersion, i - 1).generation);
          }
      }
    }

  /* A generation that does not exist, and absent keys. */
  {
    g_autoptr(CleaveOcdbt) none = cleave_ocdbt_pin_generation (store, versions->len + 1, &error);
    g_autoptr(GBytes) value = NULL;

    g_assert_null (none);
    g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_true (cleave_ocdbt_get (store, (const guint8 *) "no such key", 11, &value, &error));
    g_assert_no_error (error);
    g_assert_null (value);
    g_assert_true (cleave_ocdbt_get (store, (const guint8 *) "", 0, &value, &error));
    g_assert_null (value);
  }
}

static void
test_ocdbt_range_listing (void)
{
  g_autofree char *dir = cleave_test_shared_path ("testdata", "ocdbt", "files_min_arity.ocdbt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  Listing l = { store, g_ptr_array_new_with_free_func (g_free), NULL };

  g_assert_no_error (error);
  /* [b, baz0): "b", "baz/first", "baz/x", "baz/z" — through a height-3 tree. */
  g_assert_true (cleave_ocdbt_list (store, (const guint8 *) "b", 1, (const guint8 *) "baz0", 4,
                                    collect_entry, &l, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (l.lines->len, ==, 4);
  g_assert_true (g_str_has_prefix (l.lines->pdata[0], "b 3 "));
  g_assert_true (g_str_has_prefix (l.lines->pdata[1], "baz/first 0 "));
  g_assert_true (g_str_has_prefix (l.lines->pdata[3], "baz/z 0 "));
  g_ptr_array_unref (l.lines);
}

/* Copies a golden store into a scratch directory, to damage it. */
static char *
copy_store (const char *name)
{
  g_autofree char *src = cleave_test_shared_path ("testdata", "ocdbt", name, NULL);
  g_autofree char *tmp = cleave_test_tmpdir ();
  char *dst = g_build_filename (tmp, name, NULL);
  g_autofree char *cmd = g_strdup_printf ("cp -r '%s' '%s' && chmod -R u+w '%s'", src, dst, dst);

  g_assert_cmpint (system (cmd), ==, 0);
  return dst;
}

static char *
only_data_file (const char *dir)
{
  g_autofree char *d = g_build_filename (dir, "d", NULL);
  g_autoptr(GDir) gd = g_dir_open (d, 0, NULL);
  return g_build_filename (d, g_dir_read_name (gd), NULL);
}

static void
expect_failure (const char *dir,
                int         code,
                const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  gboolean ok;

  if (store != NULL)
    {
      Listing l = { store, g_ptr_array_new_with_free_func (g_free), NULL };

      ok = cleave_ocdbt_list (store, NULL, 0, NULL, 0, collect_entry, &l, &error);
      if (l.error)
        g_propagate_error (&error, l.error);
      g_ptr_array_unref (l.lines);
      g_assert_false (ok && error == NULL);
    }
  g_test_message ("%s", error->message);
  g_assert_error (error, CLEAVE_OCDBT_ERROR, code);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
patch_file (const char *path,
            gssize      offset,
            int         xor_mask,
            gssize      new_size)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  if (offset >= 0)
    data[offset] ^= xor_mask;
  if (new_size >= 0)
    {
      data = g_realloc (data, MAX ((gsize) new_size, len));
      if ((gsize) new_size > len)
        memset (data + len, 0, new_size - len);
      len = new_size;
    }
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

static void
test_ocdbt_malformed (void)
{
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *manifest = g_build_filename (dir, "manifest.ocdbt", NULL);
    patch_file (manifest, 40, 0x01, -1);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "manifest.ocdbt: offset");
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "crc32c mismatch");
  }
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *manifest = g_build_filename (dir, "manifest.ocdbt", NULL);
    patch_file (manifest, 0, 0xff, -1);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "wrong magic");
  }
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *manifest = g_build_filename (dir, "manifest.ocdbt", NULL);
    patch_file (manifest, -1, 0, 200);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "length field says 109 bytes, the object has 200");
  }
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *manifest = g_build_filename (dir, "manifest.ocdbt", NULL);
    patch_file (manifest, -1, 0, 10);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "too short");
  }
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *data = only_data_file (dir);
    patch_file (data, -1, 0, 500);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "runs past the end of the file");
  }
  {
    g_autofree char *dir = copy_store ("files_min_arity.ocdbt");
    g_autofree char *data = only_data_file (dir);
    g_assert_cmpint (g_unlink (data), ==, 0);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "missing data file");
  }
  {
    g_autofree char *dir = copy_store ("files_high_arity.ocdbt");
    g_autofree char *data = only_data_file (dir);
    /* A flipped byte inside a node: its crc catches it, naming the file. */
    patch_file (data, 30, 0x10, -1);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_CORRUPT, "/d/");
  }
  {
    g_autofree char *tmp = cleave_test_tmpdir ();
    g_autofree char *dir = g_build_filename (tmp, "nothing", NULL);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_NOT_FOUND, "no such directory");
    g_mkdir (dir, 0755);
    expect_failure (dir, CLEAVE_OCDBT_ERROR_NOT_FOUND, "not an OCDBT store");
  }
}

/* Every generation's listing and values, as one string. */
static char *
read_everything (CleaveOcdbt *store)
{
  g_autoptr(GArray) versions = cleave_ocdbt_list_versions (store, NULL);
  GString *all = g_string_new (NULL);

  for (guint i = 0; i < versions->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CleaveOcdbt) pin =
        cleave_ocdbt_pin_generation (store, g_array_index (versions, CleaveOcdbtVersion, i).generation, &error);
      g_autoptr(GPtrArray) lines = NULL;

      g_assert_no_error (error);
      lines = list_all (pin);
      for (guint k = 0; k < lines->len; k++)
        g_string_append_printf (all, "%u %s\n", i, (char *) lines->pdata[k]);
    }
  return g_string_free (all, FALSE);
}

static gpointer
reader_thread (gpointer data)
{
  return read_everything (data);
}

static void
test_ocdbt_cache_and_threads (void)
{
  g_autofree char *dir = cleave_test_shared_path ("testdata", "ocdbt", "multi_version_high_arity.ocdbt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  g_autofree char *reference = NULL;
  guint64 hits, misses;
  gsize bytes;
  const gsize budgets[] = { 0, 600, CLEAVE_OCDBT_DEFAULT_CACHE_BYTES };

  g_assert_no_error (error);
  reference = read_everything (store);
  cleave_ocdbt_get_cache_stats (store, &bytes, &hits, &misses);
  g_test_message ("one reader: %" G_GUINT64_FORMAT " hits, %" G_GUINT64_FORMAT " misses, %zu bytes", hits, misses, bytes);
  /* 200 roots, each read once to list and once per key: mostly hits. */
  g_assert_cmpuint (misses, ==, 200);
  g_assert_cmpuint (hits, >, 10 * misses);

  /* Four readers at once, with no cache, a cache smaller than two nodes,
   * and the default: the same bytes every time, and the bound holds. */
  for (guint b = 0; b < G_N_ELEMENTS (budgets); b++)
    {
      GThread *threads[4];

      cleave_ocdbt_set_cache_budget (store, budgets[b]);
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        threads[t] = g_thread_new ("reader", reader_thread, store);
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        {
          g_autofree char *got = g_thread_join (threads[t]);
          g_assert_cmpstr (got, ==, reference);
        }
      cleave_ocdbt_get_cache_stats (store, &bytes, NULL, NULL);
      g_assert_cmpuint (bytes, <=, budgets[b]);
    }
}

/* Golden manifests and leaf nodes re-encoded (uncompressed) give exactly
 * tensorstore's decompressed bodies: same data-file tables, same columns. */
static void
test_ocdbt_encode_matches_tensorstore (void)
{
  const char *cases[] = { "files_high_arity", "files_min_arity", "multi_version_high_arity", "ome_zarr_simple_0.5" };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *name = g_strconcat (cases[c], ".ocdbt", NULL);
      g_autofree char *path = cleave_test_shared_path ("testdata", "ocdbt", name, "manifest.ocdbt", NULL);
      g_autofree guint8 *data = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(CleaveOcdbtManifest) m = NULL;
      g_autoptr(CleaveOcdbtManifest) again = NULL;
      g_autoptr(GBytes) theirs = NULL;
      g_autoptr(GBytes) ours = NULL;
      g_autoptr(GBytes) ours_body = NULL;
      g_autoptr(GBytes) zstd = NULL;
      CleaveOcdbtConfig raw;
      gsize len;

      g_assert_true (g_file_get_contents (path, (char **) &data, &len, NULL));
      m = cleave_ocdbt_manifest_decode (data, len, path, &error);
      g_assert_no_error (error);
      theirs = cleave_ocdbt_decode_envelope (data, len, CLEAVE_OCDBT_MAGIC_MANIFEST, path, 0, &error);
      g_assert_no_error (error);

      /* Encoded with the manifest's own config (zstd): decodes to the same. */
      zstd = cleave_ocdbt_manifest_encode (m);
      again = cleave_ocdbt_manifest_decode (g_bytes_get_data (zstd, NULL), g_bytes_get_size (zstd), "ours", &error);
      g_assert_no_error (error);
      g_assert_cmpuint (again->versions->len, ==, m->versions->len);
      g_assert_cmpmem (again->versions->data, again->versions->len * sizeof (CleaveOcdbtVersion),
                       m->versions->data, m->versions->len * sizeof (CleaveOcdbtVersion));
      g_assert_cmpmem (again->version_nodes->data, again->version_nodes->len * sizeof (CleaveOcdbtVersionNodeRef),
                       m->version_nodes->data, m->version_nodes->len * sizeof (CleaveOcdbtVersionNodeRef));

      /* Uncompressed, the body is tensorstore's byte for byte, but for the
       * compression field in the config. */
      raw = m->config;
      raw.compression = 0;
      ((CleaveOcdbtManifest *) m)->config = raw;
      ours = cleave_ocdbt_manifest_encode (m);
      ours_body = cleave_ocdbt_decode_envelope (g_bytes_get_data (ours, NULL), g_bytes_get_size (ours),
                                                CLEAVE_OCDBT_MAGIC_MANIFEST, "ours", 0, &error);
      g_assert_no_error (error);
      /* Their config says compression 1 and carries a 4-byte zstd level;
       * ours says 0 and has none. Everything else must match. */
      {
        const guint8 *t = g_bytes_get_data (theirs, NULL);
        const guint8 *o = g_bytes_get_data (ours_body, NULL);
        gsize tl = g_bytes_get_size (theirs), ol = g_bytes_get_size (ours_body);
        gsize at = 16 + 1 + cleave_varint_size (raw.max_inline_value_bytes) +
                   cleave_varint_size (raw.max_decoded_node_bytes) + 1;

        g_assert_cmpuint (tl, ==, ol + 4);
        g_assert_cmpuint (t[at], ==, 1);
        g_assert_cmpuint (o[at], ==, 0);
        g_assert_cmpmem (t, at, o, at);
        g_assert_cmpmem (t + at + 1 + 4, tl - at - 5, o + at + 1, ol - at - 1);
      }
    }
}

static GBytes *
object_body (const char                *dir,
             const CleaveOcdbtLocation *loc,
             guint32                    magic,
             GBytes                   **whole)
{
  g_autofree char *path = g_build_filename (dir, loc->file, NULL);
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *body;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (loc->offset + loc->length, <=, len);
  *whole = g_bytes_new (data + loc->offset, loc->length);
  body = cleave_ocdbt_decode_envelope (g_bytes_get_data (*whole, NULL), loc->length, magic, path, loc->offset, &error);
  g_assert_no_error (error);
  return body;
}

/* Every root leaf of every generation, and the version-tree node, of the
 * multi-version store re-encoded: tensorstore's bodies, byte for byte. */
static void
test_ocdbt_encode_nodes_match_tensorstore (void)
{
  g_autofree char *dir = cleave_test_shared_path ("testdata", "ocdbt", "multi_version_high_arity.ocdbt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  g_autoptr(GArray) versions = cleave_ocdbt_list_versions (store, &error);
  CleaveOcdbtConfig raw = *cleave_ocdbt_get_config (store);
  const CleaveOcdbtManifest *m = cleave_ocdbt_get_manifest (store);

  g_assert_no_error (error);
  raw.compression = 0;
  for (guint i = 0; i < versions->len; i++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      g_autoptr(GBytes) whole = NULL;
      g_autoptr(GBytes) theirs = object_body (dir, &v->root, CLEAVE_OCDBT_MAGIC_BTREE_NODE, &whole);
      g_autoptr(CleaveOcdbtBtreeNode) node = NULL;
      g_autofree CleaveOcdbtEncodeEntry *entries = NULL;
      g_autoptr(GBytes) ours = NULL;
      g_autoptr(GBytes) ours_body = NULL;

      g_assert_cmpuint (v->root_height, ==, 0);
      node = cleave_ocdbt_btree_node_decode (g_bytes_get_data (whole, NULL), v->root.length, &v->root, &error);
      g_assert_no_error (error);
      entries = g_new0 (CleaveOcdbtEncodeEntry, node->n_entries);
      for (guint k = 0; k < node->n_entries; k++)
        {
          const CleaveOcdbtEntry *e = &node->entries[k];
          entries[k] = (CleaveOcdbtEncodeEntry) {
            .key = cleave_ocdbt_entry_key (node, k), .key_len = e->key_length,
            .value_kind = e->value_kind, .value_length = e->value_length,
            .value = (const guint8 *) g_bytes_get_data (node->body, NULL) + e->value_offset,
          };
        }
      ours = cleave_ocdbt_btree_node_encode (0, entries, node->n_entries, &raw);
      ours_body = cleave_ocdbt_decode_envelope (g_bytes_get_data (ours, NULL), g_bytes_get_size (ours),
                                                CLEAVE_OCDBT_MAGIC_BTREE_NODE, "ours", 0, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (ours_body, theirs));
    }

  {
    const CleaveOcdbtVersionNodeRef *ref = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, 0);
    g_autoptr(GBytes) whole = NULL;
    g_autoptr(GBytes) theirs = object_body (dir, &ref->location, CLEAVE_OCDBT_MAGIC_VERSION_NODE, &whole);
    g_autoptr(CleaveOcdbtVersionNode) vnode =
      cleave_ocdbt_version_node_decode (g_bytes_get_data (whole, NULL), ref->location.length, &ref->location,
                                        raw.version_tree_arity_log2, &error);
    g_autoptr(GBytes) ours = NULL;
    g_autoptr(GBytes) ours_body = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (vnode->height, ==, 1);
    ours = cleave_ocdbt_version_node_encode (vnode, &raw);
    ours_body = cleave_ocdbt_decode_envelope (g_bytes_get_data (ours, NULL), g_bytes_get_size (ours),
                                              CLEAVE_OCDBT_MAGIC_VERSION_NODE, "ours", 0, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (ours_body, theirs));
  }
}

/* Random leaves and interior nodes (shared key prefixes, inline and
 * indirect values, empty keys and values, zstd and raw) decode to exactly
 * what was encoded. */
static void
test_ocdbt_encode_roundtrip_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  const char *files[] = { g_intern_static_string ("d/aaaa"), g_intern_static_string ("d/aabb"),
                          g_intern_static_string ("d/b") };

  for (guint round = 0; round < 300; round++)
    {
      CleaveOcdbtConfig config = { .version_tree_arity_log2 = 4, .compression = round % 2, .zstd_level = round % 5 };
      guint8 height = g_rand_int_range (rand, 0, 3);
      guint n = g_rand_int_range (rand, 1, 200);
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) uniq = g_ptr_array_new ();
      g_autofree CleaveOcdbtEncodeEntry *entries = g_new0 (CleaveOcdbtEncodeEntry, n);
      g_autofree guint8 *values = g_malloc (300);
      g_autoptr(GBytes) encoded = NULL;
      g_autoptr(CleaveOcdbtBtreeNode) node = NULL;
      g_autoptr(GError) error = NULL;
      CleaveOcdbtLocation loc = { "d/x", "", 0, 0 };

      for (guint i = 0; i < 300; i++)
        values[i] = g_rand_int (rand);
      /* Sorted distinct keys drawn from a small alphabet share prefixes. */
      for (guint i = 0; i < n * 2; i++)
        {
          guint len = g_rand_int_range (rand, 0, 12);
          char *k = g_malloc0 (len + 1);
          for (guint j = 0; j < len; j++)
            k[j] = "ab/\xff"[g_rand_int_range (rand, 0, 4)];
          g_ptr_array_add (keys, k);
        }
      g_ptr_array_sort (keys, cmp_lines);
      for (guint i = 0; i < keys->len; i++)
        if (uniq->len == 0 || strcmp (keys->pdata[i], uniq->pdata[uniq->len - 1]) != 0)
          g_ptr_array_add (uniq, keys->pdata[i]);
      n = MIN (n, uniq->len);

      for (guint i = 0; i < n; i++)
        {
          CleaveOcdbtEncodeEntry *e = &entries[i];

          e->key = uniq->pdata[i];
          e->key_len = strlen (uniq->pdata[i]);
          if (height == 0)
            {
              e->value_kind = g_rand_boolean (rand);
              e->value_length = g_rand_int_range (rand, 0, 300);
              e->value = values;
              e->value_location = (CleaveOcdbtLocation) { files[g_rand_int_range (rand, 0, 3)], "",
                                                          g_rand_int (rand), 0 };
            }
          else
            {
              e->child = (CleaveOcdbtLocation) { files[g_rand_int_range (rand, 0, 3)], "",
                                                 g_rand_int (rand), g_rand_int_range (rand, 16, 1 << 20) };
              e->child_stats = (CleaveOcdbtStats) { g_rand_int (rand), g_rand_int (rand), g_rand_int (rand) };
            }
        }

      encoded = cleave_ocdbt_btree_node_encode (height, entries, n, &config);
      loc.length = g_bytes_get_size (encoded);
      node = cleave_ocdbt_btree_node_decode (g_bytes_get_data (encoded, NULL), loc.length, &loc, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (node->height, ==, height);
      g_assert_cmpuint (node->n_entries, ==, n);
      for (guint i = 0; i < n; i++)
        {
          const CleaveOcdbtEntry *d = &node->entries[i];
          const CleaveOcdbtEncodeEntry *e = &entries[i];

          g_assert_cmpmem (cleave_ocdbt_entry_key (node, i), d->key_length, e->key, e->key_len);
          if (height == 0)
            {
              g_assert_cmpuint (d->value_kind, ==, e->value_kind);
              g_assert_cmpuint (d->value_length, ==, e->value_length);
              if (e->value_kind == CLEAVE_OCDBT_VALUE_INLINE)
                g_assert_cmpmem ((const guint8 *) g_bytes_get_data (node->body, NULL) + d->value_offset,
                                 d->value_length, e->value, e->value_length);
              else
                {
                  g_assert_true (d->value_file == e->value_location.file);
                  g_assert_cmpuint (d->value_offset, ==, e->value_location.offset);
                }
            }
          else
            {
              g_assert_true (d->child.file == e->child.file);
              g_assert_cmpuint (d->child.offset, ==, e->child.offset);
              g_assert_cmpuint (d->child.length, ==, e->child.length);
              g_assert_cmpmem (&d->child_stats, sizeof d->child_stats, &e->child_stats, sizeof e->child_stats);
              g_assert_cmpuint (d->subtree_common_prefix_length, ==, 0);
            }
        }
    }
}

/* A leaf holding only the empty key, built by hand (the fuzzer found that
 * an all-empty key buffer was never allocated). */
static void
test_ocdbt_empty_key_node (void)
{
  g_autoptr(GByteArray) obj = g_byte_array_new ();
  g_autoptr(CleaveOcdbtBtreeNode) node = NULL;
  g_autoptr(GError) error = NULL;
  CleaveOcdbtLocation loc = { g_intern_static_string ("d/x"), g_intern_static_string (""), 0, 0 };
  static const guint8 body[] = {
    0,        /* height: leaf */
    0,        /* data file table: no files */
    1,        /* one entry */
    0,        /* key suffix length 0: the empty key */
    2,        /* value length */
    0,        /* inline */
    'h', 'i',
  };

  cleave_bytes_put_u32be (obj, CLEAVE_OCDBT_MAGIC_BTREE_NODE);
  cleave_bytes_put_u64le (obj, 4 + 8 + 2 + sizeof body + 4);
  cleave_bytes_put_varint (obj, 0);
  cleave_bytes_put_varint (obj, 0);
  g_byte_array_append (obj, body, sizeof body);
  cleave_bytes_put_u32le (obj, cleave_crc32c (obj->data, obj->len));
  loc.length = obj->len;

  node = cleave_ocdbt_btree_node_decode (obj->data, obj->len, &loc, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (node->n_entries, ==, 1);
  g_assert_cmpuint (node->entries[0].key_length, ==, 0);
  g_assert_cmpuint (node->entries[0].value_length, ==, 2);
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (node->body, NULL) + node->entries[0].value_offset, 2, "hi", 2);
}

static void
test_ocdbt_time_format (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = cleave_ocdbt_format_time (G_GUINT64_CONSTANT (1738272778378504069));

  g_assert_cmpstr (text, ==, "2025-01-30T21:32:58.378504069Z");
  g_assert_cmpuint (cleave_ocdbt_parse_time (text, &error), ==, G_GUINT64_CONSTANT (1738272778378504069));
  g_assert_cmpuint (cleave_ocdbt_parse_time ("2025-01-30T21:32:58.5Z", &error), ==,
                    G_GUINT64_CONSTANT (1738272778500000000));
  g_assert_cmpuint (cleave_ocdbt_parse_time ("2025-01-30T22:32:58+01:00", &error), ==,
                    G_GUINT64_CONSTANT (1738272778000000000));
  g_assert_no_error (error);
  g_assert_cmpuint (cleave_ocdbt_parse_time ("yesterday", &error), ==, 0);
  g_assert_nonnull (error);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_data_func ("/ocdbt/golden/files_high_arity", "files_high_arity", check_case);
  g_test_add_data_func ("/ocdbt/golden/files_min_arity", "files_min_arity", check_case);
  g_test_add_data_func ("/ocdbt/golden/multi_version_high_arity", "multi_version_high_arity", check_case);
  g_test_add_data_func ("/ocdbt/golden/ome_zarr_simple_0.5", "ome_zarr_simple_0.5", check_case);
  g_test_add_func ("/ocdbt/range-listing", test_ocdbt_range_listing);
  g_test_add_func ("/ocdbt/malformed", test_ocdbt_malformed);
  g_test_add_func ("/ocdbt/time-format", test_ocdbt_time_format);
  g_test_add_func ("/ocdbt/empty-key-node", test_ocdbt_empty_key_node);
  g_test_add_func ("/ocdbt/encode-matches-tensorstore", test_ocdbt_encode_matches_tensorstore);
  g_test_add_func ("/ocdbt/encode-nodes-match-tensorstore", test_ocdbt_encode_nodes_match_tensorstore);
  g_test_add_func ("/ocdbt/encode-roundtrip-random", test_ocdbt_encode_roundtrip_random);
  g_test_add_func ("/ocdbt/cache-and-threads", test_ocdbt_cache_and_threads);

  return g_test_run ();
}
