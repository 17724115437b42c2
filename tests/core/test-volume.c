/* test-volume.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Precomputed volumes in an OCDBT store against a dense in-memory model:
 * info validation, region reads and writes at random boxes, offsets and
 * mips, what a write commits, pinned reads, lookups.
 */

#include "cleave-ocdbt-writer.h"
#include "cleave-test.h"
#include "cleave-volume.h"

#include <string.h>

static const char *valid_info =
  "{\"@type\":\"neuroglancer_multiscale_volume\",\"type\":\"segmentation\",\"data_type\":\"uint64\","
  "\"num_channels\":1,\"scales\":[{\"key\":\"8_8_40\",\"size\":[150,100,37],\"resolution\":[8,8,40],"
  "\"voxel_offset\":[17756,0,3],\"chunk_sizes\":[[32,32,16]],\"encoding\":\"compressed_segmentation\","
  "\"compressed_segmentation_block_size\":[8,8,8]},{\"key\":\"16_16_40\",\"size\":[75,50,37],"
  "\"resolution\":[16,16,40],\"voxel_offset\":[8878,0,3],\"chunk_sizes\":[[32,32,16]],"
  "\"encoding\":\"compressed_segmentation\",\"compressed_segmentation_block_size\":[8,8,8]}],\"mesh\":\"mesh\"}";

static void
expect_error (const char *json,
              int         code,
              const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_parse (json, -1, "test/info", &error);

  g_assert_null (info);
  g_assert_error (error, CLEAVE_VOLUME_ERROR, code);
  if (strstr (error->message, fragment) == NULL || !g_str_has_prefix (error->message, "test/info: "))
    g_error ("expected '%s' in: %s", fragment, error->message);
}

static void
test_info (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_parse (valid_info, -1, "test/info", &error);
  g_autoptr(CleaveVolumeInfo) again = NULL;
  g_autofree char *json = NULL;
  g_autofree char *key = NULL;
  const CleaveScale *s;
  gint64 grid[3], g[3] = { 4, 3, 2 };

  g_assert_no_error (error);
  g_assert_true (info->segmentation);
  g_assert_cmpint (info->data_type, ==, CLEAVE_DATA_TYPE_UINT64);
  g_assert_cmpuint (info->scales->len, ==, 2);
  s = &g_array_index (info->scales, CleaveScale, 0);
  g_assert_cmpint (s->voxel_offset[0], ==, 17756);
  g_assert_cmpuint (s->block[2], ==, 8);
  cleave_scale_grid_size (s, grid);
  g_assert_cmpint (grid[0], ==, 5);
  g_assert_cmpint (grid[1], ==, 4);
  g_assert_cmpint (grid[2], ==, 3);
  /* The last chunk along each axis is clipped; keys are absolute. */
  key = cleave_scale_chunk_key (s, "seg/", g);
  g_assert_cmpstr (key, ==, "seg/8_8_40/17884-17906_96-100_35-40");

  json = cleave_volume_info_to_json (info);
  again = cleave_volume_info_parse (json, -1, "again", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->mesh, ==, "mesh");
  g_assert_cmpint (g_array_index (again->scales, CleaveScale, 1).voxel_offset[0], ==, 8878);
  g_assert_cmpfloat (g_array_index (again->scales, CleaveScale, 1).resolution[0], ==, 16);

  expect_error ("not json", CLEAVE_VOLUME_ERROR_INVALID, "not JSON");
  expect_error ("{\"type\":\"segmentation\",\"data_type\":\"uint64\"}", CLEAVE_VOLUME_ERROR_INVALID, "\"scales\" is missing");
  expect_error ("{\"type\":\"segmentation\",\"data_type\":\"uint64\",\"scales\":[]}", CLEAVE_VOLUME_ERROR_INVALID, "no scales");
  expect_error ("{\"type\":\"image\",\"data_type\":\"float32\",\"scales\":[]}", CLEAVE_VOLUME_ERROR_UNSUPPORTED, "float32");
  expect_error ("{\"type\":\"segmentation\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"raw\"}]}",
                CLEAVE_VOLUME_ERROR_UNSUPPORTED, "uint32 or uint64");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"num_channels\":3,\"scales\":[]}",
                CLEAVE_VOLUME_ERROR_UNSUPPORTED, "num_channels");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"jpeg\"}]}",
                CLEAVE_VOLUME_ERROR_UNSUPPORTED, "encoding 'jpeg'");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"raw\",\"sharding\":"
                "{\"@type\":\"neuroglancer_uint64_sharded_v1\"}}]}",
                CLEAVE_VOLUME_ERROR_UNSUPPORTED, "scale 'a' is sharded");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,0,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"raw\"}]}",
                CLEAVE_VOLUME_ERROR_INVALID, "size 0 is out of range");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[0,1,1]],\"encoding\":\"raw\"}]}",
                CLEAVE_VOLUME_ERROR_INVALID, "chunk size 0");
  expect_error ("{\"type\":\"segmentation\",\"data_type\":\"uint32\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[1,1,1],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"compressed_segmentation\"}]}",
                CLEAVE_VOLUME_ERROR_INVALID, "compressed_segmentation_block_size");
  expect_error ("{\"type\":\"image\",\"data_type\":\"uint8\",\"scales\":[{\"key\":\"a\",\"size\":[1,1,1],"
                "\"resolution\":[2,2,2],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"raw\"},{\"key\":\"b\",\"size\":[1,1,1],"
                "\"resolution\":[1,2,2],\"chunk_sizes\":[[1,1,1]],\"encoding\":\"raw\"}]}",
                CLEAVE_VOLUME_ERROR_INVALID, "resolution decreases");
}

/* A dense model of one mip, in absolute coordinates. */
typedef struct
{
  gint64   lo[3], hi[3];
  gsize    elem;
  guint8  *data;
} Model;

static void
model_init (Model             *m,
            const CleaveScale *s,
            gsize              elem)
{
  for (guint d = 0; d < 3; d++)
    {
      m->lo[d] = s->voxel_offset[d];
      m->hi[d] = s->voxel_offset[d] + s->size[d];
    }
  m->elem = elem;
  m->data = g_malloc0 ((gsize) (m->hi[0] - m->lo[0]) * (m->hi[1] - m->lo[1]) * (m->hi[2] - m->lo[2]) * elem);
}

/* Copies between the model and a box buffer. */
static void
model_box (Model        *m,
           const gint64  lo[3],
           const gint64  hi[3],
           guint8       *buf,
           gboolean      to_model)
{
  gsize mx = m->hi[0] - m->lo[0], my = m->hi[1] - m->lo[1];
  gsize bx = hi[0] - lo[0], by = hi[1] - lo[1];

  for (gint64 z = lo[2]; z < hi[2]; z++)
    for (gint64 y = lo[1]; y < hi[1]; y++)
      {
        guint8 *a = m->data + (((gsize) (z - m->lo[2]) * my + (gsize) (y - m->lo[1])) * mx + (gsize) (lo[0] - m->lo[0])) * m->elem;
        guint8 *b = buf + (((gsize) (z - lo[2]) * by + (gsize) (y - lo[1])) * bx) * m->elem;

        if (to_model)
          memcpy (a, b, bx * m->elem);
        else
          memcpy (b, a, bx * m->elem);
      }
}

static void
random_box (GRand        *rand,
            const Model  *m,
            gint64        lo[3],
            gint64        hi[3])
{
  for (guint d = 0; d < 3; d++)
    {
      gint64 a = g_rand_int_range (rand, (gint32) m->lo[d], (gint32) m->hi[d]);
      gint64 b = g_rand_int_range (rand, (gint32) m->lo[d], (gint32) m->hi[d]);

      lo[d] = MIN (a, b);
      hi[d] = MAX (a, b) + 1;
    }
}

static gsize
box_len (const gint64 lo[3],
         const gint64 hi[3],
         gsize        elem)
{
  return (gsize) (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]) * elem;
}

static void
fill_labels (GRand   *rand,
             guint8  *buf,
             gsize    n,
             gsize    elem)
{
  /* Few labels, some beyond 2^32, in runs, as segmentations are. */
  guint64 labels[4] = { 0, g_rand_int (rand), G_GUINT64_CONSTANT (0x100000000) + g_rand_int (rand), 7 };
  guint64 v = labels[0];

  for (gsize i = 0; i < n; i++)
    {
      if (g_rand_int_range (rand, 0, 50) == 0)
        v = labels[g_rand_int_range (rand, 0, 4)];
      if (elem == 8)
        ((guint64 *) buf)[i] = v;
      else
        buf[i] = (guint8) (v * 37);
    }
}

static void
assert_read_matches (CleaveVolume *v,
                     guint         mip,
                     Model        *m,
                     const gint64  lo[3],
                     const gint64  hi[3])
{
  gsize len = box_len (lo, hi, m->elem);
  g_autofree guint8 *got = g_malloc (len);
  g_autofree guint8 *want = g_malloc (len);
  g_autoptr(GError) error = NULL;

  g_assert_true (cleave_volume_read (v, mip, lo, hi, got, &error));
  g_assert_no_error (error);
  model_box (m, lo, hi, want, FALSE);
  g_assert_cmpmem (got, len, want, len);
}

static void
run_random (CleaveVolumeInfo *info,
            guint             seed)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveVolume) v = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  gsize elem = cleave_data_type_size (info->data_type);
  Model models[2];

  g_assert_no_error (error);
  cleave_ocdbt_set_sync (store, FALSE);
  v = cleave_volume_create (store, "seg/", info, "test", &error);
  g_assert_no_error (error);
  for (guint mip = 0; mip < 2; mip++)
    model_init (&models[mip], &g_array_index (info->scales, CleaveScale, mip), elem);

  for (guint round = 0; round < 40; round++)
    {
      guint mip = g_rand_int_range (rand, 0, 2);
      Model *m = &models[mip];
      gint64 lo[3], hi[3];
      g_autofree guint8 *buf = NULL;
      guint changed = 0;
      guint64 gen = 0;

      random_box (rand, m, lo, hi);
      buf = g_malloc (box_len (lo, hi, elem));
      fill_labels (rand, buf, box_len (lo, hi, 1), elem);
      g_assert_true (cleave_volume_write (v, mip, lo, hi, buf, &gen, &changed, &error));
      g_assert_no_error (error);
      model_box (m, lo, hi, buf, TRUE);

      for (guint k = 0; k < 3; k++)
        {
          guint rm = g_rand_int_range (rand, 0, 2);
          random_box (rand, &models[rm], lo, hi);
          assert_read_matches (v, rm, &models[rm], lo, hi);
        }
    }

  /* Everything, from a fresh handle (no cached chunks). */
  {
    g_autoptr(CleaveOcdbt) fresh = cleave_ocdbt_open (dir, &error);
    g_autoptr(CleaveVolume) again = cleave_volume_open (fresh, "seg/", "again", &error);

    g_assert_no_error (error);
    for (guint mip = 0; mip < 2; mip++)
      assert_read_matches (again, mip, &models[mip], models[mip].lo, models[mip].hi);
  }
  for (guint mip = 0; mip < 2; mip++)
    g_free (models[mip].data);
  cleave_test_rm_rf (tmp);
}

static void
test_random_segmentation (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_parse (valid_info, -1, "test", &error);

  g_assert_no_error (error);
  run_random (info, 1);
}

static void
test_random_image (void)
{
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_new (FALSE, CLEAVE_DATA_TYPE_UINT8);
  CleaveScale *s = cleave_volume_info_add_scale (info, "4_4_4");

  s->size[0] = 70, s->size[1] = 45, s->size[2] = 20;
  s->voxel_offset[0] = 3, s->voxel_offset[1] = 3000, s->voxel_offset[2] = -5;
  s->chunk[0] = 16, s->chunk[1] = 16, s->chunk[2] = 8;
  s->encoding = CLEAVE_ENCODING_RAW;
  s = cleave_volume_info_add_scale (info, "8_8_8");
  s->size[0] = 35, s->size[1] = 23, s->size[2] = 10;
  s->voxel_offset[0] = 1, s->voxel_offset[1] = 1500, s->voxel_offset[2] = -3;
  s->chunk[0] = 16, s->chunk[1] = 16, s->chunk[2] = 8;
  s->resolution[0] = s->resolution[1] = s->resolution[2] = 2;
  s->encoding = CLEAVE_ENCODING_RAW;
  run_random (info, 2);
}

/* What a write commits: nothing when nothing changes, only the changed
 * chunk when one of three changes; older generations keep older voxels. */
static void
test_write_commits (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveVolumeInfo) info = cleave_volume_info_parse (valid_info, -1, "test", &error);
  g_autoptr(CleaveVolume) v = NULL;
  g_autoptr(CleaveVolume) old = NULL;
  /* x from 17756 to 17852 covers three chunks of 32. */
  const gint64 lo[3] = { 17756, 0, 3 }, hi[3] = { 17852, 8, 5 };
  gsize n = box_len (lo, hi, 1);
  g_autofree guint64 *buf = g_new0 (guint64, n);
  g_autofree guint64 *got = g_new0 (guint64, n);
  guint changed = 99;
  guint64 gen = 0, first;

  g_assert_no_error (error);
  v = cleave_volume_create (store, "", info, "test", &error);
  g_assert_no_error (error);
  first = cleave_ocdbt_get_version (store).generation;

  /* Zeros onto absent chunks: no change, no commit. */
  g_assert_true (cleave_volume_write (v, 0, lo, hi, buf, &gen, &changed, &error));
  g_assert_cmpuint (changed, ==, 0);
  g_assert_cmpuint (gen, ==, first);

  for (gsize i = 0; i < n; i++)
    buf[i] = 1000 + i % 96;
  g_assert_true (cleave_volume_write (v, 0, lo, hi, buf, &gen, &changed, &error));
  g_assert_cmpuint (changed, ==, 3);
  g_assert_cmpuint (gen, ==, first + 1);

  /* The same again: nothing. One voxel in the middle chunk: one chunk. */
  g_assert_true (cleave_volume_write (v, 0, lo, hi, buf, &gen, &changed, &error));
  g_assert_cmpuint (changed, ==, 0);
  g_assert_cmpuint (gen, ==, first + 1);
  buf[40] = G_GUINT64_CONSTANT (0xffffffffffff);
  g_assert_true (cleave_volume_write (v, 0, lo, hi, buf, &gen, &changed, &error));
  g_assert_cmpuint (changed, ==, 1);
  g_assert_cmpuint (gen, ==, first + 2);
  g_assert_true (cleave_volume_read (v, 0, lo, hi, got, &error));
  g_assert_cmpmem (got, n * 8, buf, n * 8);

  /* As of the generation before: the voxel as it was. */
  old = cleave_volume_pin_generation (v, first + 1, &error);
  g_assert_no_error (error);
  g_assert_true (cleave_volume_read (old, 0, lo, hi, got, &error));
  g_assert_cmpuint (got[40], ==, 1000 + 40);
  g_assert_cmpuint (got[41], ==, buf[41]);
  g_assert_false (cleave_volume_write (old, 0, lo, hi, buf, &gen, &changed, &error));
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_READ_ONLY);
  g_clear_error (&error);

  /* Lookups, at absolute coordinates. */
  {
    const gint64 xyz[] = { 17756 + 40, 0, 3,  17756, 0, 3,  17900, 99, 39,  17800, 3, 4 };
    guint64 out[4];

    g_assert_true (cleave_volume_lookup (v, 0, xyz, 4, out, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (out[0], ==, G_GUINT64_CONSTANT (0xffffffffffff));
    g_assert_cmpuint (out[1], ==, 1000);
    g_assert_cmpuint (out[2], ==, 0);
    g_assert_cmpuint (out[3], ==, buf[(1 * 8 + 3) * 96 + 44]);
  }

  /* Bad requests: a clear error each. */
  {
    const gint64 outside[3] = { 0, 0, 0 }, bad_lo[3] = { 17760, 0, 3 }, bad_hi[3] = { 17760, 5, 5 };
    guint64 out;

    g_assert_false (cleave_volume_lookup (v, 0, outside, 1, &out, &error));
    g_assert_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_OUT_OF_BOUNDS);
    g_assert_nonnull (strstr (error->message, "0,0,0 is outside the volume (17756,0,3:17906,100,40)"));
    g_clear_error (&error);
    g_assert_false (cleave_volume_read (v, 0, bad_lo, bad_hi, got, &error));
    g_assert_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (cleave_volume_read (v, 5, lo, hi, got, &error));
    g_assert_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "no mip 5"));
    g_clear_error (&error);
  }
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/volume/info", test_info);
  g_test_add_func ("/volume/random-segmentation", test_random_segmentation);
  g_test_add_func ("/volume/random-image", test_random_image);
  g_test_add_func ("/volume/write-commits", test_write_commits);
  return g_test_run ();
}
