/* test-import.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl import on plain-file precomputed volumes as other tools write
 * them: a uint32 segmentation far from the origin (voxel_offset
 * [17756, 0, 3]), raw and compressed_segmentation scales, gzip'd and
 * missing chunk files, an image; then reads at absolute coordinates.
 */

#include "algo/cleave-downsample.h"
#include "cleave-codec.h"
#include "cleave-node-id.h"
#include "cleave-precomputed.h"
#include "cleave-test.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

typedef struct
{
  gint64  lo[3], hi[3];
  guint32 *labels;
} Dense;

static void
write_file (const char *path,
            GBytes     *bytes,
            gboolean    gzip)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  if (gzip)
    {
      g_autoptr(GConverter) z = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6));
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
      g_autoptr(GInputStream) zin = g_converter_input_stream_new (in, z);
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr(GBytes) packed = NULL;
      g_autofree char *gz = g_strconcat (path, ".gz", NULL);

      g_assert_cmpint (g_output_stream_splice (out, zin, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL), >=, 0);
      packed = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
      g_assert_true (g_file_set_contents (gz, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed), NULL));
      return;
    }
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
}

/* Writes every chunk of scale @mip of @info from @d (voxels of the given
 * element size), gzip'ing every third and leaving out chunk 1. */
static void
write_scale (const char             *src,
             const CleaveVolumeInfo *info,
             guint                   mip,
             const guint8           *voxels,
             gsize                   elem)
{
  const CleaveScale *s = &g_array_index (info->scales, CleaveScale, mip);
  gint64 grid[3];
  guint c = 0;

  cleave_scale_grid_size (s, grid);
  for (gint64 z = 0; z < grid[2]; z++)
    for (gint64 y = 0; y < grid[1]; y++)
      for (gint64 x = 0; x < grid[0]; x++, c++)
        {
          gint64 g[3] = { x, y, z }, lo[3], hi[3];
          guint shape[3];
          g_autofree guint8 *chunk = NULL;
          g_autofree char *key = cleave_scale_chunk_key (s, "", g);
          g_autofree char *path = g_build_filename (src, key, NULL);
          g_autoptr(GBytes) bytes = NULL;
          gsize k = 0;

          if (c == 1)
            continue;
          cleave_scale_chunk_box (s, g, lo, hi);
          for (guint d = 0; d < 3; d++)
            shape[d] = (guint) (hi[d] - lo[d]);
          chunk = g_malloc ((gsize) shape[0] * shape[1] * shape[2] * elem);
          for (gint64 zz = lo[2]; zz < hi[2]; zz++)
            for (gint64 yy = lo[1]; yy < hi[1]; yy++)
              for (gint64 xx = lo[0]; xx < hi[0]; xx++, k++)
                {
                  gsize i = (((gsize) (zz - s->voxel_offset[2]) * s->size[1] + (gsize) (yy - s->voxel_offset[1])) * s->size[0]
                             + (gsize) (xx - s->voxel_offset[0]));
                  memcpy (chunk + k * elem, voxels + i * elem, elem);
                }
          bytes = cleave_codec_encode (s->encoding, info->data_type, chunk, shape, s->block);
          write_file (path, bytes, c % 3 == 0);
        }
}

static void
write_info (const char             *src,
            const CleaveVolumeInfo *info)
{
  g_autofree char *json = cleave_volume_info_to_json (info);
  g_autofree char *path = g_build_filename (src, "info", NULL);

  g_assert_cmpint (g_mkdir_with_parents (src, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
}

/* sv -> label, from the dataset's agglomeration.tsv. */
static GHashTable *
read_agglomeration (const char *ds)
{
  g_autofree char *path = g_build_filename (ds, "agglomeration.tsv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *agg = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv, label;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_assert_cmpint (sscanf (lines[i], "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT, &sv, &label), ==, 2);
      g_assert_true (g_hash_table_insert (agg, g_memdup2 (&sv, 8), g_memdup2 (&label, 8)));
    }
  return agg;
}

static guint
pair_hash (gconstpointer p)
{
  const guint64 *k = p;

  return g_int64_hash (&k[0]) * 31 + g_int64_hash (&k[1]);
}

static gboolean
pair_equal (gconstpointer a,
            gconstpointer b)
{
  return memcmp (a, b, 16) == 0;
}

static void
test_import (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *src = g_build_filename (tmp, "seg", NULL);
  g_autofree char *img = g_build_filename (tmp, "img", NULL);
  g_autofree char *ds = g_build_filename (tmp, "imported.cleave", NULL);
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_new (TRUE, CLEAVE_DATA_TYPE_UINT32);
  g_autoptr(CleaveVolumeInfo) image_info = cleave_volume_info_new (FALSE, CLEAVE_DATA_TYPE_UINT8);
  const gint64 size0[3] = { 70, 45, 9 }, off0[3] = { 17756, 0, 3 };
  gsize n0 = 70 * 45 * 9, n1 = 35 * 23 * 9;
  g_autofree guint32 *mip0 = g_new (guint32, n0);
  g_autofree guint32 *mip1 = g_new (guint32, n1);
  g_autofree guint8 *pixels = g_new (guint8, n0);
  g_auto(CleaveTestRun) run = { 0 };
  g_auto(CleaveTestRun) read0 = { 0 };
  g_auto(CleaveTestRun) read1 = { 0 };
  g_auto(CleaveTestRun) lookup = { 0 };
  g_auto(CleaveTestRun) outside = { 0 };
  g_auto(CleaveTestRun) verify = { 0 };
  g_autoptr(GHashTable) agg = NULL;
  g_autoptr(GHashTable) ids = g_hash_table_new_full (pair_hash, pair_equal, g_free, g_free);
  CleaveScale *s;

  /* Labels in blocks, some above 2^31; chunk 1 of each scale is absent,
   * so those voxels must read as 0. */
  for (gsize i = 0; i < n0; i++)
    {
      gsize x = i % 70, y = i / 70 % 45, z = i / 70 / 45;
      mip0[i] = (guint32) (1 + x / 11 + 7 * (y / 9) + 100 * z) | (x > 50 ? 0x80000000u : 0);
      pixels[i] = (guint8) (x * 3 + y * 5 + z * 7);
    }
  for (gsize i = 0; i < n1; i++)
    mip1[i] = (guint32) (5 + i % 13);

  s = cleave_volume_info_add_scale (info, "4_4_40");
  memcpy (s->size, size0, sizeof size0);
  memcpy (s->voxel_offset, off0, sizeof off0);
  s->resolution[0] = s->resolution[1] = 4, s->resolution[2] = 40;
  s->chunk[0] = 32, s->chunk[1] = 32, s->chunk[2] = 4;
  s->encoding = CLEAVE_ENCODING_RAW;
  s = cleave_volume_info_add_scale (info, "8_8_40");
  s->size[0] = 35, s->size[1] = 23, s->size[2] = 9;
  s->voxel_offset[0] = 8878, s->voxel_offset[1] = 0, s->voxel_offset[2] = 3;
  s->resolution[0] = s->resolution[1] = 8, s->resolution[2] = 40;
  s->chunk[0] = 16, s->chunk[1] = 16, s->chunk[2] = 4;
  s->encoding = CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  s->block[0] = s->block[1] = 8, s->block[2] = 2;
  write_info (src, info);
  write_scale (src, info, 0, (guint8 *) mip0, 4);
  write_scale (src, info, 1, (guint8 *) mip1, 4);

  s = cleave_volume_info_add_scale (image_info, "4_4_40");
  memcpy (s->size, size0, sizeof size0);
  memcpy (s->voxel_offset, off0, sizeof off0);
  s->resolution[0] = s->resolution[1] = 4, s->resolution[2] = 40;
  s->chunk[0] = 32, s->chunk[1] = 32, s->chunk[2] = 4;
  s->encoding = CLEAVE_ENCODING_RAW;
  write_info (img, image_info);
  write_scale (img, image_info, 0, pixels, 1);

  RUN (&run, "import", src, ds, "--image", img);
  if (run.status != 0)
    g_error ("import failed: %s", run.err);

  /* Every voxel of mip 0, at absolute coordinates: each label's piece in
   * each chunk is a supervoxel of that chunk, and agglomeration.tsv maps
   * it back to the label. */
  agg = read_agglomeration (ds);
  RUN (&read0, "seg", "read", ds, "--box", "17756,0,3:17826,45,12");
  g_assert_cmpint (read0.status, ==, 0);
  g_assert_cmpuint (read0.out_len, ==, n0 * 8);
  for (gsize i = 0; i < n0; i++)
    {
      gsize x = i % 70, y = i / 70 % 45, z = i / 70 / 45;
      guint64 v, c[3];
      gboolean absent = x >= 32 && x < 64 && y < 32 && z < 4;   /* chunk 1 */
      guint64 *label;

      memcpy (&v, read0.out + 8 * i, 8);
      v = GUINT64_FROM_LE (v);
      if (absent)
        {
          g_assert_cmpuint (v, ==, 0);
          continue;
        }
      g_assert_cmpuint (cleave_node_id_layer (v), ==, 1);
      cleave_node_id_chunk (v, cleave_node_bits_per_axis (1, 0, CLEAVE_NODE_DEFAULT_SPATIAL_BITS), c);
      g_assert_cmpuint (c[0], ==, x / 32);
      g_assert_cmpuint (c[1], ==, y / 32);
      g_assert_cmpuint (c[2], ==, z / 4);
      label = g_hash_table_lookup (agg, &v);
      g_assert_nonnull (label);
      g_assert_cmpuint (*label, ==, mip0[i]);
      /* One id per label per chunk: the first voxel of the label in this
       * chunk decides it. */
      {
        guint64 key[2] = { mip0[i], (c[2] * 64 + c[1]) * 64 + c[0] };
        guint64 *seen = g_hash_table_lookup (ids, key);

        if (seen == NULL)
          g_hash_table_insert (ids, g_memdup2 (key, sizeof key), g_memdup2 (&v, 8));
        else
          g_assert_cmpuint (*seen, ==, v);
      }
    }
  g_assert_cmpuint (g_hash_table_size (ids), ==, g_hash_table_size (agg));
  /* Mip 1 is rebuilt from the relabelled mip 0 (so it holds supervoxel
   * ids too), not copied from the source's mip 1. */
  RUN (&read1, "seg", "read", ds, "--box", "8878,0,3:8913,23,12", "--mip", "1");
  g_assert_cmpint (read1.status, ==, 0);
  g_assert_cmpuint (read1.out_len, ==, n1 * 8);
  {
    g_autofree guint64 *want = g_new (guint64, n1);
    g_autofree guint64 *sv0 = g_new (guint64, n0);

    for (gsize i = 0; i < n0; i++)
      {
        memcpy (&sv0[i], read0.out + 8 * i, 8);
        sv0[i] = GUINT64_FROM_LE (sv0[i]);
      }
    cleave_downsample_mode_2x2x1 (sv0, 70, 45, 9, want);
    for (gsize i = 0; i < n1; i++)
      {
        guint64 v;

        memcpy (&v, read1.out + 8 * i, 8);
        g_assert_cmpuint (GUINT64_FROM_LE (v), ==, want[i]);
      }
  }

  /* The info records the variant the rebuilt mips used: the source said
   * nothing, so the dense one, as the reference's worker. */
  {
    g_auto(CleaveTestRun) info_run = { 0 };
    g_autoptr(JsonNode) node = NULL;
    JsonObject *seg_info;

    RUN (&info_run, "info", "--json", ds);
    g_assert_cmpint (info_run.status, ==, 0);
    node = json_from_string (info_run.out, NULL);
    seg_info = json_object_get_object_member (json_node_get_object (node), "segmentation");
    g_assert_cmpstr (json_object_get_string_member (seg_info, "downsampling"), ==, "mode");
  }

  /* The labels are the objects: x 0 and 66 (labels 1 and 7 | 2^31) in
   * different objects; label 1 + 2 + 7 * 4 at x 31 and 32 (chunks x 0 and
   * 1) in one. */
  RUN (&lookup, "seg", "lookup", ds, "--json", "17756,0,3", "17822,0,3", "17787,36,3", "17788,36,3");
  g_assert_cmpint (lookup.status, ==, 0);
  {
    g_autoptr(JsonNode) node = json_from_string (lookup.out, NULL);
    JsonArray *a = json_node_get_array (node);
    gint64 r[4];

    for (guint i = 0; i < 4; i++)
      {
        JsonObject *o = json_array_get_object_element (a, i);
        gint64 sv = json_object_get_int_member (o, "sv");
        guint64 key = (guint64) sv;

        r[i] = json_object_get_int_member (o, "root");
        g_assert_cmpint (r[i], !=, 0);
        g_assert_nonnull (g_hash_table_lookup (agg, &key));
      }
    g_assert_cmpint (r[0], !=, r[1]);
    g_assert_cmpint (r[2], ==, r[3]);
  }
  RUN (&verify, "verify", ds);
  if (verify.status != 0)
    g_error ("verify failed: %s%s", verify.out, verify.err);
  RUN (&outside, "seg", "lookup", ds, "0,0,0");
  g_assert_cmpint (outside.status, ==, 1);
  g_assert_nonnull (strstr (outside.err, "outside the volume (17756,0,3:17826,45,12)"));
  cleave_test_rm_rf (tmp);
}

static void
test_import_errors (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *src = g_build_filename (tmp, "seg", NULL);
  g_autofree char *info_path = g_build_filename (src, "info", NULL);
  g_autofree char *chunk = g_build_filename (src, "a", "0-4_0-4_0-4", NULL);
  g_autofree char *chunk_dir = g_path_get_dirname (chunk);
  g_autofree char *missing = g_build_filename (tmp, "nothing", NULL);
  g_autofree char *ds1 = g_build_filename (tmp, "d1", NULL);
  g_autofree char *ds2 = g_build_filename (tmp, "d2", NULL);
  g_autofree char *ds3 = g_build_filename (tmp, "d3", NULL);
  g_auto(CleaveTestRun) none = { 0 };
  g_auto(CleaveTestRun) sharded = { 0 };
  g_auto(CleaveTestRun) corrupt = { 0 };

  RUN (&none, "import", missing, ds1);
  g_assert_cmpint (none.status, ==, 1);
  g_assert_nonnull (strstr (none.err, "no such directory"));

  g_assert_cmpint (g_mkdir_with_parents (chunk_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (info_path,
                                      "{\"type\":\"segmentation\",\"data_type\":\"uint64\",\"scales\":[{\"key\":\"a\","
                                      "\"size\":[4,4,4],\"resolution\":[1,1,1],\"chunk_sizes\":[[4,4,4]],"
                                      "\"encoding\":\"raw\",\"sharding\":{\"@type\":\"neuroglancer_uint64_sharded_v1\"}}]}",
                                      -1, NULL));
  RUN (&sharded, "import", src, ds2);
  g_assert_cmpint (sharded.status, ==, 1);
  g_assert_nonnull (strstr (sharded.err, "sharded"));
  g_assert_false (g_file_test (ds2, G_FILE_TEST_EXISTS));

  /* A chunk of the wrong length: the error names the file. */
  g_assert_true (g_file_set_contents (info_path,
                                      "{\"type\":\"segmentation\",\"data_type\":\"uint64\",\"scales\":[{\"key\":\"a\","
                                      "\"size\":[4,4,4],\"resolution\":[1,1,1],\"chunk_sizes\":[[4,4,4]],"
                                      "\"encoding\":\"raw\"}]}", -1, NULL));
  g_assert_true (g_file_set_contents (chunk, "short", -1, NULL));
  RUN (&corrupt, "import", src, ds3);
  g_assert_cmpint (corrupt.status, ==, 1);
  g_assert_nonnull (strstr (corrupt.err, "0-4_0-4_0-4"));
  g_assert_true (g_str_has_suffix (corrupt.err, "\n") && strchr (corrupt.err, '\n') == strrchr (corrupt.err, '\n'));
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/import/round-trip", test_import);
  g_test_add_func ("/import/errors", test_import_errors);
  return g_test_run ();
}
