/* test-codec.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-codec.h"
#include "cleave-test.h"

#include <string.h>

/* The enum names are long; the tests name them often. */
#define CSEG CLEAVE_ENCODING_COMPRESSED_SEGMENTATION
#define RAW  CLEAVE_ENCODING_RAW
#define U8   CLEAVE_DATA_TYPE_UINT8
#define U16  CLEAVE_DATA_TYPE_UINT16
#define U32  CLEAVE_DATA_TYPE_UINT32
#define U64  CLEAVE_DATA_TYPE_UINT64

static const guint block8[3] = { 8, 8, 8 };

/* Little-endian bytes of 32-bit words, to write expected encodings as the
 * words the spec talks about. */
static GBytes *
le_words (const guint32 *words,
          gsize          n)
{
  guint8 *b = g_malloc (n * 4);

  for (gsize i = 0; i < n; i++)
    {
      b[4 * i] = words[i];
      b[4 * i + 1] = words[i] >> 8;
      b[4 * i + 2] = words[i] >> 16;
      b[4 * i + 3] = words[i] >> 24;
    }
  return g_bytes_new_take (b, n * 4);
}

static guint32
word_at (GBytes *bytes,
         gsize   i)
{
  const guint8 *p = g_bytes_get_data (bytes, NULL);

  return p[4 * i] | p[4 * i + 1] << 8 | p[4 * i + 2] << 16 | (guint32) p[4 * i + 3] << 24;
}

static gsize
n_voxels (const guint shape[3])
{
  return (gsize) shape[0] * shape[1] * shape[2];
}

static guint64
voxel (CleaveDataType type,
       const void    *voxels,
       gsize          i)
{
  switch (type)
    {
    case U8: return ((const guint8 *) voxels)[i];
    case U16: return ((const guint16 *) voxels)[i];
    case U32: return ((const guint32 *) voxels)[i];
    case U64: return ((const guint64 *) voxels)[i];
    default: g_assert_not_reached ();
    }
  return 0;
}

static gboolean
decode (CleaveEncoding  encoding,
        CleaveDataType  type,
        GBytes         *bytes,
        const guint     shape[3],
        const guint     block[3],
        void           *out,
        GError        **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return cleave_codec_decode (encoding, type, data, len, shape, block, out, "seg/8_8_8/test", error);
}

static int
cmp_u64 (gconstpointer a,
         gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return (x > y) - (x < y);
}

/* Checks a compressed_segmentation encoding against the spec, independently
 * of the decoder: per block the table is exactly the sorted distinct
 * in-bounds values, encodedBits is the smallest that holds them, every
 * index (padding included) lies in the table, and the chunk is no longer
 * than headers + values + one copy of each distinct table. */
static void
check_canonical (CleaveDataType type,
                 GBytes        *bytes,
                 const void    *voxels,
                 const guint    shape[3],
                 const guint    block[3])
{
  gsize label_words = type == U64 ? 2 : 1;
  guint grid[3];
  gsize n_blocks = 1, expected_words = 1, block_voxels = (gsize) block[0] * block[1] * block[2];
  g_autoptr(GHashTable) tables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) distinct = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_assert_cmpuint (word_at (bytes, 0), ==, 1);
  for (guint i = 0; i < 3; i++)
    {
      grid[i] = (shape[i] + block[i] - 1) / block[i];
      n_blocks *= grid[i];
    }
  expected_words += 2 * n_blocks;

  for (guint gz = 0; gz < grid[2]; gz++)
    for (guint gy = 0; gy < grid[1]; gy++)
      for (guint gx = 0; gx < grid[0]; gx++)
        {
          gsize h = 1 + 2 * (gx + grid[0] * (gy + grid[1] * gz));
          guint32 w0 = word_at (bytes, h);
          gsize table = 1 + (w0 & 0xffffff), values = 1 + word_at (bytes, h + 1);
          guint bits = w0 >> 24, want_bits = 0;
          g_autoptr(GString) key = g_string_new (NULL);

          g_array_set_size (distinct, 0);
          for (guint z = gz * block[2]; z < MIN (shape[2], (gz + 1) * block[2]); z++)
            for (guint y = gy * block[1]; y < MIN (shape[1], (gy + 1) * block[1]); y++)
              for (guint x = gx * block[0]; x < MIN (shape[0], (gx + 1) * block[0]); x++)
                {
                  guint64 v = voxel (type, voxels, x + (gsize) shape[0] * (y + (gsize) shape[1] * z));
                  g_array_append_val (distinct, v);
                }
          g_array_sort (distinct, cmp_u64);
          for (guint i = 1, k = 1; i <= distinct->len; i++)
            if (i == distinct->len)
              g_array_set_size (distinct, k);
            else if (g_array_index (distinct, guint64, i) != g_array_index (distinct, guint64, k - 1))
              g_array_index (distinct, guint64, k++) = g_array_index (distinct, guint64, i);
          while (distinct->len > 1 && (G_GUINT64_CONSTANT (1) << want_bits) < distinct->len)
            want_bits = want_bits ? want_bits * 2 : 1;
          g_assert_cmpuint (bits, ==, want_bits);

          for (guint k = 0; k < distinct->len; k++)
            {
              guint64 t = word_at (bytes, table + k * label_words);

              if (label_words == 2)
                t |= (guint64) word_at (bytes, table + 2 * k + 1) << 32;
              g_assert_cmphex (t, ==, g_array_index (distinct, guint64, k));
              g_string_append_printf (key, "%" G_GINT64_MODIFIER "x,", t);
            }
          for (gsize i = 0; bits > 0 && i < block_voxels; i++)
            {
              guint32 idx = (word_at (bytes, values + i * bits / 32) >> (i * bits % 32)) &
                            (guint32) ((G_GUINT64_CONSTANT (1) << bits) - 1);
              g_assert_cmpuint (idx, <, distinct->len);
            }
          expected_words += (bits * block_voxels + 31) / 32;
          if (g_hash_table_add (tables, g_string_free (g_steal_pointer (&key), FALSE)))
            expected_words += distinct->len * label_words;
        }
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 4 * expected_words);
}

/* The indexed decoding agrees with the plain one: every voxel is its
 * label through the table, label 0 sits at index 0, the others are
 * distinct and each used; and it fails exactly when the plain one does,
 * with the same message. */
static void
check_indexed (CleaveEncoding  encoding,
               CleaveDataType  type,
               const guint8   *data,
               gsize           len,
               const guint     shape[3],
               const guint     block[3])
{
  gsize n = n_voxels (shape);
  g_autofree guint8 *plain = g_malloc (MAX (n * cleave_data_type_size (type), 1));
  g_autoptr(GError) plain_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree guint8 *used = NULL;
  CleaveIndexedLabels ix;
  gboolean ok = cleave_codec_decode (encoding, type, data, len, shape, block, plain, "seg/8_8_8/test", &plain_error);

  g_assert_cmpint (ok, ==, cleave_codec_decode_indexed (encoding, type, data, len, shape, block, &ix,
                                                         "seg/8_8_8/test", &error));
  if (!ok)
    {
      g_assert_nonnull (error);
      g_assert_cmpstr (error->message, ==, plain_error->message);
      g_assert_null (ix.labels);
      g_assert_null (ix.indices);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (ix.n_labels, >=, 1);
  g_assert_cmpuint (ix.labels[0], ==, 0);
  g_assert_true (ix.wide == (ix.n_labels > 65536));
  for (guint i = 1; i < ix.n_labels; i++)
    {
      g_assert_cmpuint (ix.labels[i], !=, 0);
      g_assert_false (g_hash_table_contains (seen, &ix.labels[i]));
      g_hash_table_add (seen, &ix.labels[i]);
    }
  used = g_malloc0 (ix.n_labels);
  for (gsize i = 0; i < n; i++)
    {
      guint32 k = ix.wide ? ((guint32 *) ix.indices)[i] : ((guint16 *) ix.indices)[i];

      g_assert_cmpuint (k, <, ix.n_labels);
      g_assert_cmpuint (ix.labels[k], ==, voxel (type, plain, i));
      used[k] = 1;
    }
  for (guint i = 1; i < ix.n_labels; i++)
    g_assert_true (used[i]);
  cleave_indexed_labels_clear (&ix);
  g_assert_null (ix.labels);
}

/* Encodes, checks against the spec, decodes and compares. */
static GBytes *
roundtrip (CleaveEncoding  encoding,
           CleaveDataType  type,
           const void     *voxels,
           const guint     shape[3],
           const guint     block[3])
{
  g_autoptr(GBytes) bytes = cleave_codec_encode (encoding, type, voxels, shape, block);
  gsize size = n_voxels (shape) * cleave_data_type_size (type);
  g_autofree guint8 *out = g_malloc (MAX (size, 1));
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (bytes);
  if (encoding == CSEG)
    check_canonical (type, bytes, voxels, shape, block);
  else
    g_assert_cmpuint (g_bytes_get_size (bytes), ==, size);
  memset (out, 0xa5, size);
  g_assert_true (decode (encoding, type, bytes, shape, block, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, size, voxels, size);
  check_indexed (encoding, type, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), shape, block);
  return g_steal_pointer (&bytes);
}

static void
assert_corrupt (GError *error)
{
  g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "seg/8_8_8/test: byte offset "));
}

/* Labels from a coarse Voronoi diagram: smooth regions, a few per block at
 * most, like a real segmentation. Labels are spread above 2^32 for uint64. */
static void *
voronoi_labels (CleaveDataType type,
                const guint    shape[3],
                guint          n_seeds,
                guint32        seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  gsize n = n_voxels (shape), size = cleave_data_type_size (type);
  guint8 *voxels = g_malloc (MAX (n * size, 1));
  g_autofree double *sx = g_new (double, n_seeds);
  g_autofree double *sy = g_new (double, n_seeds);
  g_autofree double *sz = g_new (double, n_seeds);
  g_autofree guint64 *label = g_new (guint64, n_seeds);

  for (guint s = 0; s < n_seeds; s++)
    {
      sx[s] = g_rand_double_range (rand, 0, shape[0]);
      sy[s] = g_rand_double_range (rand, 0, shape[1]);
      sz[s] = g_rand_double_range (rand, 0, shape[2]);
      label[s] = ((guint64) g_rand_int (rand) << 32 | g_rand_int (rand));
      if (type == U32)
        label[s] &= G_MAXUINT32;
    }
  for (guint z = 0; z < shape[2]; z++)
    for (guint y = 0; y < shape[1]; y++)
      for (guint x = 0; x < shape[0]; x++)
        {
          gsize i = x + (gsize) shape[0] * (y + (gsize) shape[1] * z);
          double best = G_MAXDOUBLE;
          guint64 v = 0;

          for (guint s = 0; s < n_seeds; s++)
            {
              double d = (x - sx[s]) * (x - sx[s]) + (y - sy[s]) * (y - sy[s]) + (z - sz[s]) * (z - sz[s]);
              if (d < best)
                {
                  best = d;
                  v = label[s];
                }
            }
          if (type == U64)
            ((guint64 *) voxels)[i] = v;
          else
            ((guint32 *) voxels)[i] = v;
        }
  return voxels;
}

/* Uniform labels drawn from @n_labels values (all of 64 bits for uint64). */
static void *
random_labels (CleaveDataType type,
               const guint    shape[3],
               guint          n_labels,
               guint32        seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  gsize n = n_voxels (shape), size = cleave_data_type_size (type);
  guint8 *voxels = g_malloc (MAX (n * size, 1));
  g_autofree guint64 *label = g_new (guint64, n_labels);

  for (guint s = 0; s < n_labels; s++)
    label[s] = ((guint64) g_rand_int (rand) << 32 | g_rand_int (rand));
  for (gsize i = 0; i < n; i++)
    {
      guint64 v = label[g_rand_int_range (rand, 0, n_labels)];

      switch (type)
        {
        case U8: voxels[i] = v; break;
        case U16: ((guint16 *) voxels)[i] = v; break;
        case U32: ((guint32 *) voxels)[i] = v; break;
        case U64: ((guint64 *) voxels)[i] = v; break;
        }
    }
  return voxels;
}

static void
test_codec_data_types (void)
{
  static const char * const names[] = { "uint8", "uint16", "uint32", "uint64" };
  static const gsize sizes[] = { 1, 2, 4, 8 };
  CleaveDataType type;
  CleaveEncoding encoding;

  for (guint i = 0; i < 4; i++)
    {
      g_assert_cmpuint (cleave_data_type_size (i), ==, sizes[i]);
      g_assert_cmpstr (cleave_data_type_to_name (i), ==, names[i]);
      g_assert_true (cleave_data_type_from_name (names[i], &type));
      g_assert_cmpint (type, ==, i);
    }
  g_assert_false (cleave_data_type_from_name ("float32", &type));
  g_assert_true (cleave_encoding_from_name ("compressed_segmentation", &encoding));
  g_assert_cmpint (encoding, ==, CLEAVE_ENCODING_COMPRESSED_SEGMENTATION);
  g_assert_true (cleave_encoding_from_name ("raw", &encoding));
  g_assert_cmpint (encoding, ==, RAW);
  g_assert_false (cleave_encoding_from_name ("jpeg", &encoding));
  g_assert_cmpstr (cleave_encoding_to_name (CSEG), ==,
                   "compressed_segmentation");
}

/* A 2x2x1 chunk, one 2x2x1 block, labels 5 and 7. */
static void
test_codec_cseg_two_labels (void)
{
  static const guint32 voxels[] = { 5, 7, 7, 5 };
  static const guint shape[3] = { 2, 2, 1 };
  static const guint8 expected[] = {
    0x01, 0x00, 0x00, 0x00,   /* one channel, its data at word 1 */
    0x03, 0x00, 0x00, 0x01,   /* table at word 3, encodedBits 1 */
    0x02, 0x00, 0x00, 0x00,   /* values at word 2 */
    0x06, 0x00, 0x00, 0x00,   /* indices 0,1,1,0, LSB first */
    0x05, 0x00, 0x00, 0x00,   /* table: 5 */
    0x07, 0x00, 0x00, 0x00,   /*        7 */
  };
  g_autoptr(GBytes) bytes = roundtrip (CSEG, U32,
                                       voxels, shape, shape);

  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected, sizeof expected);
}

/* One label: encodedBits 0, no encoded values, a one-entry table. */
static void
test_codec_cseg_zero_bits (void)
{
  static const guint32 voxels[] = { 9, 9, 9, 9 };
  static const guint shape[3] = { 2, 2, 1 };
  static const guint8 expected[] = {
    0x01, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00,   /* table at word 2, encodedBits 0 */
    0x02, 0x00, 0x00, 0x00,   /* values at word 2 (none) */
    0x09, 0x00, 0x00, 0x00,
  };
  g_autoptr(GBytes) bytes = roundtrip (CSEG, U32,
                                       voxels, shape, shape);

  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected, sizeof expected);
}

/* A uint64 table entry takes two words, low word first. */
static void
test_codec_cseg_uint64_entry (void)
{
  static const guint64 voxels[] = { G_GUINT64_CONSTANT (0x0000000100000002), 3 };
  static const guint shape[3] = { 2, 1, 1 };
  static const guint8 expected[] = {
    0x01, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x01,   /* table at word 3, encodedBits 1 */
    0x02, 0x00, 0x00, 0x00,   /* values at word 2 */
    0x01, 0x00, 0x00, 0x00,   /* indices 1,0 */
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* 3 */
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,   /* 0x100000002 */
  };
  g_autoptr(GBytes) bytes = roundtrip (CSEG, U64,
                                       voxels, shape, shape);

  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected, sizeof expected);
}

/* 3x3x3 in 2x2x2 blocks: seven of the eight blocks are partial. Label
 * 10 + x: the x=0 blocks hold {10, 11} and share one table, the x=1 blocks
 * hold {12} (padding adds nothing: encodedBits 0) and share another. */
static void
test_codec_cseg_padding (void)
{
  static const guint shape[3] = { 3, 3, 3 };
  static const guint block[3] = { 2, 2, 2 };
  static const guint32 expected[] = {
    1,
    /* headers: word0 = table | bits << 24, word1 = values */
    0x01000011, 16,   /* (0,0,0): full block */
    19, 19,           /* (1,0,0): fill 12 */
    0x01000011, 20,   /* (0,1,0): y=2 only, shares table 17 */
    19, 21,           /* (1,1,0) */
    0x01000011, 21,   /* (0,0,1): z=2 only */
    19, 22,           /* (1,0,1) */
    0x01000011, 22,   /* (0,1,1): y=2, z=2 only */
    19, 23,           /* (1,1,1) */
    0xaa, 10, 11,     /* 16: index = x at bits x + 2y + 4z; 17: table {10, 11} */
    12,               /* 19: table {12} */
    0x22,             /* 20: bits 1 and 5 (x=1, y=0, z=0/1), padding 0 */
    0x0a,             /* 21: bits 1 and 3 */
    0x02,             /* 22: bit 1 */
  };
  guint32 voxels[27];
  g_autoptr(GBytes) want = le_words (expected, G_N_ELEMENTS (expected));
  g_autoptr(GBytes) bytes = NULL;

  for (guint i = 0; i < 27; i++)
    voxels[i] = 10 + i % 3;
  bytes = roundtrip (CSEG, U32, voxels, shape, block);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   g_bytes_get_data (want, NULL), g_bytes_get_size (want));
}

/* encodedBits is the smallest of 0,1,2,4,8,16,32 with 2^bits >= #distinct. */
static void
test_codec_cseg_bits (void)
{
  static const struct { guint n; guint bits; } cases[] = {
    { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 4 },
    { 16, 4 }, { 17, 8 }, { 256, 8 }, { 257, 16 }, { 512, 16 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      guint64 voxels[512];
      g_autoptr(GBytes) bytes = NULL;

      /* Values above 2^32, in an order that is not the sorted one. */
      for (guint i = 0; i < 512; i++)
        voxels[i] = (G_GUINT64_CONSTANT (1) << 40) +
                    ((i * 7919u) % cases[c].n) * G_GUINT64_CONSTANT (0x100000001);
      bytes = roundtrip (CSEG, U64, voxels, block8, block8);
      g_assert_cmpuint (word_at (bytes, 1) >> 24, ==, cases[c].bits);
    }
}

/* More than 2^16 distinct values in one block: 32 bits per index. */
static void
test_codec_cseg_32_bits (void)
{
  static const guint shape[3] = { 64, 64, 32 };
  gsize n = n_voxels (shape);
  g_autofree guint64 *voxels = g_new (guint64, n);
  g_autofree guint32 *voxels32 = g_new (guint32, n);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes32 = NULL;

  for (gsize i = 0; i < n; i++)
    {
      voxels[i] = G_GUINT64_CONSTANT (0xfedcba9800000000) ^ (i * G_GUINT64_CONSTANT (2654435761));
      voxels32[i] = (guint32) (i * 2654435761u);
    }
  bytes = roundtrip (CSEG, U64, voxels, shape, shape);
  g_assert_cmpuint (word_at (bytes, 1) >> 24, ==, 32);
  bytes32 = roundtrip (CSEG, U32, voxels32, shape, shape);
  g_assert_cmpuint (word_at (bytes32, 1) >> 24, ==, 32);
}

/* Identical tables are written once: a uniform chunk is its headers and one
 * table entry. */
static void
test_codec_cseg_dedup (void)
{
  static const guint shape[3] = { 64, 64, 64 };
  gsize n = n_voxels (shape);
  g_autofree guint64 *voxels = g_new (guint64, n);
  g_autoptr(GBytes) uniform = NULL;
  g_autoptr(GBytes) checker = NULL;

  for (gsize i = 0; i < n; i++)
    voxels[i] = G_GUINT64_CONSTANT (123456789012345);
  uniform = roundtrip (CSEG, U64, voxels, shape, block8);
  g_assert_cmpuint (g_bytes_get_size (uniform), ==, 4 + 8 * 512 + 8);

  /* Two labels in every block: one 2-entry table, 16 words of 1-bit
   * indices per block. */
  for (guint z = 0; z < 64; z++)
    for (guint y = 0; y < 64; y++)
      for (guint x = 0; x < 64; x++)
        voxels[x + 64 * (y + 64 * z)] = (x + y + z) % 2 ? 7 : G_GUINT64_CONSTANT (1) << 50;
  checker = roundtrip (CSEG, U64, voxels, shape, block8);
  g_assert_cmpuint (g_bytes_get_size (checker), ==, 4 + 8 * 512 + 512 * 16 * 4 + 16);
}

static void
test_codec_cseg_roundtrip_random (void)
{
  static const guint shapes[][3] = {
    { 64, 64, 32 }, { 17, 5, 3 }, { 1, 1, 1 }, { 8, 8, 8 }, { 9, 9, 9 }, { 3, 70, 2 }, { 16, 1, 40 },
  };
  static const guint blocks[][3] = {
    { 8, 8, 8 }, { 4, 4, 4 }, { 2, 3, 5 }, { 1, 1, 1 }, { 16, 16, 16 }, { 8, 1, 2 },
  };
  static const guint n_labels[] = { 1, 2, 3, 5, 20, 300, 100000 };
  guint32 seed = 1;

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (guint b = 0; b < G_N_ELEMENTS (blocks); b++)
      for (guint l = 0; l < G_N_ELEMENTS (n_labels); l++)
        for (CleaveDataType type = U32; type <= U64; type++)
          {
            g_autofree void *voxels = random_labels (type, shapes[s], n_labels[l], seed++);
            g_autoptr(GBytes) bytes = roundtrip (CSEG, type, voxels,
                                                 shapes[s], blocks[b]);
          }
}

static void
test_codec_cseg_roundtrip_structured (void)
{
  static const guint shapes[][3] = { { 64, 64, 64 }, { 64, 64, 32 }, { 17, 5, 3 }, { 100, 3, 7 } };
  static const guint n_seeds[] = { 2, 20, 60, 400 };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (guint k = 0; k < G_N_ELEMENTS (n_seeds); k++)
      for (CleaveDataType type = U32; type <= U64; type++)
        {
          g_autofree void *voxels = voronoi_labels (type, shapes[s], n_seeds[k], 100 * s + k);
          g_autoptr(GBytes) bytes = roundtrip (CSEG, type, voxels,
                                               shapes[s], block8);
          gsize raw = n_voxels (shapes[s]) * cleave_data_type_size (type);

          /* Smooth labels compress: at most 4 bits a voxel plus headers. */
          if (shapes[s][0] == 64 && n_seeds[k] <= 20)
            g_assert_cmpuint (g_bytes_get_size (bytes), <, raw / 8);
        }
}

/* A chunk with no voxels has no blocks: just the channel offset. */
static void
test_codec_empty (void)
{
  static const guint shape[3] = { 0, 4, 4 };
  g_autoptr(GBytes) cs = cleave_codec_encode (CSEG, U64,
                                              NULL, shape, block8);
  g_autoptr(GBytes) raw = cleave_codec_encode (RAW, U8, NULL, shape, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (g_bytes_get_size (cs), ==, 4);
  g_assert_cmpuint (g_bytes_get_size (raw), ==, 0);
  g_assert_true (decode (CSEG, U64, cs, shape, block8,
                         NULL, &error));
  g_assert_no_error (error);
  g_assert_true (decode (RAW, U8, raw, shape, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_codec_raw (void)
{
  static const guint shapes[][3] = { { 64, 64, 32 }, { 17, 5, 3 }, { 1, 1, 1 } };
  static const guint32 one[] = { 0x01020304, 0xa0b0c0d0 };
  static const guint8 one_le[] = { 0x04, 0x03, 0x02, 0x01, 0xd0, 0xc0, 0xb0, 0xa0 };
  static const guint one_shape[3] = { 2, 1, 1 };
  g_autoptr(GBytes) le = cleave_codec_encode (RAW, U32, one, one_shape, NULL);

  g_assert_cmpmem (g_bytes_get_data (le, NULL), g_bytes_get_size (le), one_le, sizeof one_le);

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (CleaveDataType type = U8; type <= U64; type++)
      {
        g_autofree void *voxels = random_labels (type, shapes[s], 1000, s * 4 + type);
        g_autoptr(GBytes) bytes = roundtrip (RAW, type, voxels, shapes[s], NULL);
      }
}

static void
test_codec_raw_wrong_length (void)
{
  static const guint shape[3] = { 4, 2, 1 };
  guint8 data[17] = { 0 };
  guint16 out[8];
  GError *error = NULL;

  g_assert_false (cleave_codec_decode (RAW, U16, data, 15, shape, NULL, out,
                                       "img/0", &error));
  g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "img/0: byte offset 15: truncated"));
  g_clear_error (&error);

  g_assert_false (cleave_codec_decode (RAW, U16, data, 17, shape, NULL, out,
                                       "img/0", &error));
  g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "img/0: byte offset 16: 1 trailing bytes"));
  g_clear_error (&error);

  g_assert_true (cleave_codec_decode (RAW, U16, data, 16, shape, NULL, out,
                                      "img/0", &error));
  g_assert_no_error (error);
  for (gsize len = 15; len <= 17; len++)
    check_indexed (RAW, U16, data, len, shape, NULL);
}

static void
test_codec_unsupported (void)
{
  static const guint shape[3] = { 2, 2, 1 };
  static const guint zero_block[3] = { 2, 0, 1 };
  static const guint huge_block[3] = { 1u << 16, 1u << 16, 2 };
  static const guint8 data[16] = { 1 };
  guint64 out[4];
  GError *error = NULL;

  for (CleaveDataType type = U8; type <= U16; type++)
    {
      g_assert_false (cleave_codec_decode (CSEG, type, data, sizeof data,
                                           shape, shape, out, "img/0", &error));
      g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_UNSUPPORTED);
      g_assert_true (g_str_has_prefix (error->message, "img/0: byte offset 0: "));
      g_clear_error (&error);
    }
  g_assert_false (cleave_codec_decode (CSEG, U64, data,
                                       sizeof data, shape, zero_block, out, "img/0", &error));
  g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "img/0: byte offset 0: chunk 2x2x1, block 2x0x1: the block size has a zero side");
  g_clear_error (&error);
  g_assert_false (cleave_codec_decode (CSEG, U64, data,
                                       sizeof data, shape, huge_block, out, "img/0", &error));
  g_assert_error (error, CLEAVE_CODEC_ERROR, CLEAVE_CODEC_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "more than 2^32 voxels"));
  g_clear_error (&error);
}

/* Every proper prefix of a valid encoding is rejected cleanly. */
static void
test_codec_malformed_truncated (void)
{
  static const guint shape[3] = { 17, 5, 3 };
  static const guint block[3] = { 4, 4, 2 };

  for (CleaveDataType type = U32; type <= U64; type++)
    {
      g_autofree void *voxels = voronoi_labels (type, shape, 12, 7 + type);
      g_autoptr(GBytes) bytes = roundtrip (CSEG, type, voxels, shape, block);
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);
      g_autofree void *out = g_malloc (n_voxels (shape) * 8);

      for (gsize cut = 0; cut < len; cut++)
        {
          /* A copy of exactly @cut bytes, so ASan sees any read past it. */
          g_autofree guint8 *copy = g_memdup2 (data, cut);
          GError *error = NULL;

          g_assert_false (cleave_codec_decode (CSEG, type, copy, cut, shape,
                                               block, out, "seg/8_8_8/test", &error));
          assert_corrupt (error);
          g_clear_error (&error);
        }
    }
}

/* Flipped bytes anywhere either still decode (a different label, a
 * different table offset that stays in range) or fail cleanly. */
static void
test_codec_malformed_flips (void)
{
  static const guint shape[3] = { 9, 7, 5 };
  static const guint block[3] = { 4, 4, 4 };
  static const guint8 patterns[] = { 0xff, 0x80, 0x01, 0x10, 0x7f };

  for (CleaveDataType type = U32; type <= U64; type++)
    {
      g_autofree void *voxels = voronoi_labels (type, shape, 30, 3 + type);
      g_autoptr(GBytes) bytes = roundtrip (CSEG, type, voxels, shape, block);
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);
      g_autofree guint8 *copy = g_malloc (len);
      g_autofree void *out = g_malloc (n_voxels (shape) * 8);
      guint failures = 0;

      for (gsize pos = 0; pos < len; pos++)
        for (guint p = 0; p < G_N_ELEMENTS (patterns); p++)
          {
            GError *error = NULL;

            memcpy (copy, data, len);
            copy[pos] ^= patterns[p];
            if (!cleave_codec_decode (CSEG, type, copy, len, shape, block, out,
                                      "seg/8_8_8/test", &error))
              {
                assert_corrupt (error);
                failures++;
              }
            else
              g_assert_no_error (error);
            g_clear_error (&error);
            check_indexed (CSEG, type, copy, len, shape, block);
          }
      /* Header flips at least must be caught. */
      g_assert_cmpuint (failures, >, 0);
    }
}

static GBytes *
patched (GBytes  *bytes,
         gsize    word,
         guint32  value)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  guint8 *copy = g_memdup2 (data, len);

  copy[4 * word] = value;
  copy[4 * word + 1] = value >> 8;
  copy[4 * word + 2] = value >> 16;
  copy[4 * word + 3] = value >> 24;
  return g_bytes_new_take (copy, len);
}

static void
expect_corrupt (GBytes     *bytes,
                const guint shape[3],
                const guint block[3],
                const char *message)
{
  g_autofree guint32 *out = g_new (guint32, n_voxels (shape));
  g_autoptr(GError) error = NULL;

  g_assert_false (decode (CSEG, U32, bytes, shape, block,
                          out, &error));
  assert_corrupt (error);
  if (g_test_verbose ())
    g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, message));
}

/* Fields set to out-of-range values one at a time, on the 3x3x3 chunk of
 * test_codec_cseg_padding (words: 0 channel, 1..16 headers, 17.. data). */
static void
test_codec_malformed_fields (void)
{
  static const guint shape[3] = { 3, 3, 3 };
  static const guint block[3] = { 2, 2, 2 };
  guint32 voxels[27];
  g_autoptr(GBytes) good = NULL;
  gsize n_words;

  for (guint i = 0; i < 27; i++)
    voxels[i] = 10 + i % 3;
  good = roundtrip (CSEG, U32, voxels, shape, block);
  n_words = g_bytes_get_size (good) / 4 - 1;

  {
    g_autoptr(GBytes) b = patched (good, 0, 0);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 0: first channel offset is 0");
  }
  {
    g_autoptr(GBytes) b = patched (good, 0, 2);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 0: first channel offset is 2");
  }
  {
    /* Block (1,0,0), header word 3: encodedBits 3. */
    g_autoptr(GBytes) b = patched (good, 3, 19 | 3u << 24);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 15: block (1,0,0): encodedBits 3 is not");
  }
  {
    g_autoptr(GBytes) b = patched (good, 3, 19 | 64u << 24);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 15: block (1,0,0): encodedBits 64");
  }
  {
    /* Table at the very end: no entry left. */
    g_autoptr(GBytes) b = patched (good, 3, n_words);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 12: block (1,0,0): lookup table at word");
  }
  {
    g_autoptr(GBytes) b = patched (good, 3, 0xffffff);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 12: block (1,0,0): lookup table at word");
  }
  {
    /* Values of block (0,0,0) past the end, and far past it. */
    g_autoptr(GBytes) b = patched (good, 2, n_words);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 8: block (0,0,0): 1-bit values at word");
  }
  {
    g_autoptr(GBytes) b = patched (good, 2, G_MAXUINT32);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 8: block (0,0,0): 1-bit values at word");
  }
  {
    /* Block (0,0,0) reads its 2-entry table from the last word: index 1 is
     * past it (the word of indices 0xaa is at channel word 16, byte 68). */
    g_autoptr(GBytes) b = patched (good, 1, (n_words - 1) | 1u << 24);
    expect_corrupt (b, shape, block,
                    "seg/8_8_8/test: byte offset 68: block (0,0,0): lookup index past the end of the "
                    "1-entry table");
  }
  {
    /* 16-bit indices for 8 voxels need 4 words from word 16: they are there. */
    g_autoptr(GBytes) b = patched (good, 1, 17 | 16u << 24);
    g_autofree guint32 *out = g_new (guint32, 27);
    g_autoptr(GError) error = NULL;

    /* ...and index 0xaa = 170 is far past any table: it fails, cleanly. */
    g_assert_false (decode (CSEG, U32, b, shape, block,
                            out, &error));
    assert_corrupt (error);
  }
  {
    /* Not a whole number of words. */
    gsize len;
    const guint8 *data = g_bytes_get_data (good, &len);
    g_autoptr(GBytes) b = g_bytes_new (data, len - 2);
    g_autoptr(GByteArray) plus = g_byte_array_new ();

    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 92: length 94 is not a whole number");
    g_byte_array_append (plus, data, len);
    g_byte_array_append (plus, (const guint8 *) "\0", 1);
    {
      g_autoptr(GBytes) odd = g_byte_array_free_to_bytes (g_steal_pointer (&plus));
      expect_corrupt (odd, shape, block, "seg/8_8_8/test: byte offset 96: length 97");
    }
  }
  {
    /* Too short for the block headers. */
    g_autoptr(GBytes) b = g_bytes_new (g_bytes_get_data (good, NULL), 40);
    expect_corrupt (b, shape, block,
                    "seg/8_8_8/test: byte offset 40: truncated: 8 block headers need 16 words");
  }
  {
    g_autoptr(GBytes) b = g_bytes_new (NULL, 0);
    expect_corrupt (b, shape, block, "seg/8_8_8/test: byte offset 0: truncated");
  }
}

/* Every block's table offset, then its values offset, set at or past the
 * end of the data: a clean error each time, except that a 0-bit block
 * never reads its values offset. */
static void
test_codec_malformed_offsets (void)
{
  static const guint shape[3] = { 17, 5, 3 };
  static const guint block[3] = { 4, 4, 2 };
  g_autofree void *voxels = voronoi_labels (U64, shape, 12, 5);
  g_autoptr(GBytes) good = roundtrip (CSEG, U64, voxels, shape, block);
  g_autofree guint64 *out = g_new (guint64, n_voxels (shape));
  guint32 n_words = g_bytes_get_size (good) / 4 - 1;
  guint n_blocks = 5 * 2 * 2;

  for (guint b = 0; b < n_blocks; b++)
    {
      guint32 w0 = word_at (good, 1 + 2 * b);
      guint bits = w0 >> 24;
      const guint32 tables[] = { n_words - 1, n_words, n_words + 1, 0xffffff };
      const guint32 values[] = { n_words, n_words + 1, 0x7fffffff, G_MAXUINT32 };

      for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
        {
          g_autoptr(GBytes) bad = patched (good, 1 + 2 * b, tables[i] | bits << 24);
          g_autoptr(GError) error = NULL;

          /* One word left is half a uint64 entry: no entry at all. */
          g_assert_false (decode (CSEG, U64, bad, shape, block, out, &error));
          assert_corrupt (error);
        }
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        {
          g_autoptr(GBytes) bad = patched (good, 2 + 2 * b, values[i]);
          g_autoptr(GError) error = NULL;
          gboolean ok = decode (CSEG, U64, bad, shape, block, out, &error);

          if (bits == 0)
            {
              g_assert_no_error (error);
              g_assert_true (ok);
              g_assert_cmpmem (out, n_voxels (shape) * 8, voxels, n_voxels (shape) * 8);
            }
          else
            {
              g_assert_false (ok);
              assert_corrupt (error);
            }
        }
    }
}

/* Random bytes behind a valid channel header, in many lengths. */
static void
test_codec_malformed_garbage (void)
{
  static const guint shape[3] = { 5, 6, 7 };
  static const guint block[3] = { 2, 4, 3 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  g_autofree guint64 *out = g_new (guint64, n_voxels (shape));

  for (guint iter = 0; iter < 4000; iter++)
    {
      gsize len = 4 * g_rand_int_range (rand, 0, 200);
      g_autofree guint8 *data = g_malloc (len);
      CleaveDataType type = iter % 2 ? U64 : U32;
      GError *error = NULL;

      for (gsize i = 0; i < len; i++)
        data[i] = g_rand_int (rand);
      if (len >= 4)
        data[0] = 1, data[1] = data[2] = data[3] = 0;
      /* Small offsets and valid bit widths, so some blocks get deep. */
      for (gsize w = 1; w + 1 < len / 4 && w < 33; w += 2)
        {
          data[4 * w] %= len / 4;
          data[4 * w + 1] = data[4 * w + 2] = 0;
          data[4 * w + 3] = (guint8[]) { 0, 1, 2, 4, 8, 16, 32, 3 }[data[4 * w + 3] % 8];
          data[4 * w + 4] %= len / 4;
          data[4 * w + 5] = data[4 * w + 6] = data[4 * w + 7] = 0;
        }
      if (!cleave_codec_decode (CSEG, type, data, len, shape, block, out,
                                "seg/8_8_8/test", &error))
        assert_corrupt (error);
      g_clear_error (&error);
    }
}

/* A layout no usual encoder writes: one shared table before all values,
 * blocks' values in reverse order, and a 0-bit block whose one-entry table
 * is the second entry of the shared one. The decoder follows the offsets. */
static void
test_codec_cseg_other_layout (void)
{
  static const guint shape[3] = { 6, 2, 1 };
  static const guint block[3] = { 2, 2, 1 };
  static const guint32 words[] = {
    1,
    /* channel data (offsets count from here): three block headers */
    6 | 1u << 24, 11,     /* (0,0,0): table at 6, values at 11 */
    6 | 1u << 24, 10,     /* (1,0,0): same table, values at 10 */
    8, 0,                 /* (2,0,0): fill with the entry at word 8 */
    100, 0,               /* 6: table {100, 2^40 + 7} */
    7, 256,
    0x3,                  /* 10: block (1,0,0) indices 1,1,0,0 */
    0x6,                  /* 11: block (0,0,0) indices 0,1,1,0 */
  };
  const guint64 big = (G_GUINT64_CONSTANT (1) << 40) + 7;
  const guint64 expected[12] = {
    100, big, big, big, big, big,
    big, 100, 100, 100, big, big,
  };
  g_autoptr(GBytes) bytes = le_words (words, G_N_ELEMENTS (words));
  guint64 out[12] = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (decode (CSEG, U64, bytes, shape, block,
                         out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, sizeof out, expected, sizeof expected);
  check_indexed (CSEG, U64, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), shape, block);
  check_indexed (CSEG, U32, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), shape, block);

  /* The same bytes as uint32: the table is {100, 0, 7, 256}, and block 2's
   * fill value is word 8 = 7. Block 0's indices 0,1,1,0 -> 100,0,0,100. */
  {
    const guint32 expected32[12] = {
      100, 0, 0, 0, 7, 7,
      0, 100, 100, 100, 7, 7,
    };
    guint32 out32[12] = { 0 };

    g_assert_true (decode (CSEG, U32, bytes, shape, block,
                           out32, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (out32, sizeof out32, expected32, sizeof expected32);
  }
}

/* Too many distinct labels for 24-bit table offsets: the encoder refuses
 * rather than write offsets that wrap. */
static void
test_codec_cseg_too_large (void)
{
  static const guint shape[3] = { 256, 256, 112 };
  static const guint block[3] = { 2, 1, 1 };
  gsize n = n_voxels (shape);
  g_autofree guint64 *voxels = g_new (guint64, n);
  GBytes *bytes;

  if (!g_test_slow ())
    {
      g_test_skip ("allocates 130 MB; run with -m slow");
      return;
    }
  for (gsize i = 0; i < n; i++)
    voxels[i] = i;
  g_test_expect_message ("cleave-codec", G_LOG_LEVEL_CRITICAL, "*24 bits*");
  bytes = cleave_codec_encode (CSEG, U64, voxels, shape,
                               block);
  g_test_assert_expected_messages ();
  g_assert_null (bytes);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/codec/data-types", test_codec_data_types);
  g_test_add_func ("/codec/cseg/two-labels", test_codec_cseg_two_labels);
  g_test_add_func ("/codec/cseg/zero-bits", test_codec_cseg_zero_bits);
  g_test_add_func ("/codec/cseg/uint64-entry", test_codec_cseg_uint64_entry);
  g_test_add_func ("/codec/cseg/padding", test_codec_cseg_padding);
  g_test_add_func ("/codec/cseg/bits", test_codec_cseg_bits);
  g_test_add_func ("/codec/cseg/32-bits", test_codec_cseg_32_bits);
  g_test_add_func ("/codec/cseg/dedup", test_codec_cseg_dedup);
  g_test_add_func ("/codec/cseg/roundtrip-random", test_codec_cseg_roundtrip_random);
  g_test_add_func ("/codec/cseg/roundtrip-structured", test_codec_cseg_roundtrip_structured);
  g_test_add_func ("/codec/cseg/other-layout", test_codec_cseg_other_layout);
  g_test_add_func ("/codec/cseg/too-large", test_codec_cseg_too_large);
  g_test_add_func ("/codec/empty", test_codec_empty);
  g_test_add_func ("/codec/raw/roundtrip", test_codec_raw);
  g_test_add_func ("/codec/raw/wrong-length", test_codec_raw_wrong_length);
  g_test_add_func ("/codec/unsupported", test_codec_unsupported);
  g_test_add_func ("/codec/malformed/truncated", test_codec_malformed_truncated);
  g_test_add_func ("/codec/malformed/flips", test_codec_malformed_flips);
  g_test_add_func ("/codec/malformed/fields", test_codec_malformed_fields);
  g_test_add_func ("/codec/malformed/offsets", test_codec_malformed_offsets);
  g_test_add_func ("/codec/malformed/garbage", test_codec_malformed_garbage);

  return g_test_run ();
}
