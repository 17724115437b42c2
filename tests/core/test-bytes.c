/* test-bytes.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-bytes.h"
#include "cleave-bytes-private.h"
#include "cleave-test.h"

#include <string.h>

static void
test_bytes_varint_roundtrip (void)
{
  static const guint64 values[] = {
    0, 1, 127, 128, 255, 300, 16383, 16384, G_MAXUINT32, (guint64) G_MAXUINT32 + 1,
    G_GUINT64_CONSTANT (0x7fffffffffffffff), G_GUINT64_CONSTANT (0x8000000000000000), G_MAXUINT64,
  };
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  CleaveReader reader;

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      gsize before = buf->len;
      cleave_bytes_put_varint (buf, values[i]);
      g_assert_cmpuint (buf->len - before, ==, cleave_varint_size (values[i]));
    }

  cleave_reader_init (&reader, buf->data, buf->len, "roundtrip", 0);
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 v = 0;

      g_assert_true (cleave_reader_varint (&reader, &v, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (v, ==, values[i]);
    }
  g_assert_true (cleave_reader_expect_end (&reader, NULL));
}

static void
test_bytes_varint_known_encoding (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  static const guint8 expected[] = { 0xac, 0x02 };

  cleave_bytes_put_varint (buf, 300);
  g_assert_cmpmem (buf->data, buf->len, expected, sizeof expected);

  g_byte_array_set_size (buf, 0);
  cleave_bytes_put_varint (buf, G_MAXUINT64);
  g_assert_cmpuint (buf->len, ==, 10);
  g_assert_cmpuint (buf->data[9], ==, 0x01);
}

static void
test_bytes_varint_overflow (void)
{
  /* Ten bytes whose last carries more than the 64th bit. */
  static const guint8 too_big[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
  static const guint8 eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00 };
  g_autoptr(GError) error = NULL;
  CleaveReader reader;
  guint64 v;

  cleave_reader_init (&reader, too_big, sizeof too_big, "node.bin", 1000);
  g_assert_false (cleave_reader_varint (&reader, &v, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_OVERFLOW);
  g_assert_nonnull (strstr (error->message, "node.bin: offset 1000:"));
  g_clear_error (&error);

  cleave_reader_init (&reader, eleven, sizeof eleven, "x", 0);
  g_assert_false (cleave_reader_varint (&reader, &v, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_OVERFLOW);
}

static void
test_bytes_varint_max (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  CleaveReader reader;
  guint64 v;

  cleave_bytes_put_varint (buf, 70000);
  cleave_reader_init (&reader, buf->data, buf->len, "manifest", 0);
  g_assert_false (cleave_reader_varint_max (&reader, 65535, "key length", &v, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_OVERFLOW);
  g_assert_nonnull (strstr (error->message, "key length is 70000"));
  /* A failed read leaves the cursor where it was. */
  g_assert_cmpuint (reader.pos, ==, 0);
  g_clear_error (&error);
  g_assert_true (cleave_reader_varint_max (&reader, 70000, "key length", &v, &error));
  g_assert_cmpuint (v, ==, 70000);
}

static void
test_bytes_truncated (void)
{
  static const guint8 data[] = { 0x01, 0x02, 0x03, 0x80 };
  g_autoptr(GError) error = NULL;
  CleaveReader reader;
  const guint8 *p;
  guint64 v64;
  guint32 v32;
  guint8 v8;

  cleave_reader_init (&reader, data, sizeof data, "d/abc", 10);
  g_assert_false (cleave_reader_u64le (&reader, &v64, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "d/abc: offset 10: truncated"));
  g_clear_error (&error);

  g_assert_true (cleave_reader_u8 (&reader, &v8, NULL));
  g_assert_cmpuint (v8, ==, 1);
  g_assert_false (cleave_reader_u32le (&reader, &v32, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRUNCATED);
  g_clear_error (&error);
  g_assert_false (cleave_reader_bytes (&reader, 4, &p, &error));
  g_clear_error (&error);
  g_assert_true (cleave_reader_bytes (&reader, 2, &p, &error));
  g_assert_cmpuint (p[0], ==, 2);
  /* 0x80 announces a continuation byte that is not there. */
  g_assert_false (cleave_reader_varint (&reader, &v64, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "offset 13: truncated varint"));
  g_clear_error (&error);

  g_assert_false (cleave_reader_expect_end (&reader, &error));
  g_assert_error (error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRAILING);
  g_assert_nonnull (strstr (error->message, "1 trailing bytes"));
}

static void
test_bytes_fixed_width (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  static const guint8 expected[] = {
    0x0c, 0xdb, 0x3a, 0x2a,                           /* OCDBT manifest magic, big-endian */
    0x2a, 0x3a, 0xdb, 0x0c,
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
    0x7f,
  };
  CleaveReader reader;
  guint32 a, b;
  guint64 c;
  guint8 d;

  cleave_bytes_put_u32be (buf, 0x0cdb3a2a);
  cleave_bytes_put_u32le (buf, 0x0cdb3a2a);
  cleave_bytes_put_u64le (buf, G_GUINT64_CONSTANT (0x0102030405060708));
  cleave_bytes_put_u8 (buf, 0x7f);
  g_assert_cmpmem (buf->data, buf->len, expected, sizeof expected);

  cleave_reader_init (&reader, buf->data, buf->len, NULL, 0);
  g_assert_true (cleave_reader_u32be (&reader, &a, NULL));
  g_assert_true (cleave_reader_u32le (&reader, &b, NULL));
  g_assert_true (cleave_reader_u64le (&reader, &c, NULL));
  g_assert_true (cleave_reader_u8 (&reader, &d, NULL));
  g_assert_cmphex (a, ==, 0x0cdb3a2a);
  g_assert_cmphex (b, ==, 0x0cdb3a2a);
  g_assert_cmphex (c, ==, G_GUINT64_CONSTANT (0x0102030405060708));
  g_assert_cmphex (d, ==, 0x7f);
  g_assert_cmpuint (cleave_reader_remaining (&reader), ==, 0);
}

static void
test_bytes_crc32c_vectors (void)
{
  guint8 buf[32];
  const char *digits = "123456789";

  /* RFC 3720, appendix B.4, and the usual check value. */
  memset (buf, 0, sizeof buf);
  g_assert_cmphex (cleave_crc32c (buf, sizeof buf), ==, 0x8a9136aa);
  memset (buf, 0xff, sizeof buf);
  g_assert_cmphex (cleave_crc32c (buf, sizeof buf), ==, 0x62a8ab43);
  for (guint i = 0; i < 32; i++)
    buf[i] = i;
  g_assert_cmphex (cleave_crc32c (buf, sizeof buf), ==, 0x46dd794e);
  g_assert_cmphex (cleave_crc32c ((const guint8 *) digits, 9), ==, 0xe3069283);
  g_assert_cmphex (cleave_crc32c (NULL, 0), ==, 0);
}

static void
test_bytes_crc32c_paths_agree (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint8 *data = g_malloc (4099);

  for (guint i = 0; i < 4099; i++)
    data[i] = g_rand_int (rand);

  /* Every length and misalignment up to a few words, then long runs. */
  for (guint off = 0; off < 9; off++)
    for (guint len = 0; len + off <= 4099; len += (len < 64 ? 1 : 97))
      {
        guint32 whole = cleave_crc32c (data + off, len);
        guint32 split;

        g_assert_cmphex (whole, ==, _cleave_crc32c_portable (data + off, len));
        split = cleave_crc32c (data + off, len / 3);
        split = cleave_crc32c_extend (split, data + off + len / 3, len - len / 3);
        g_assert_cmphex (whole, ==, split);
      }
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/bytes/varint/roundtrip", test_bytes_varint_roundtrip);
  g_test_add_func ("/bytes/varint/known-encoding", test_bytes_varint_known_encoding);
  g_test_add_func ("/bytes/varint/overflow", test_bytes_varint_overflow);
  g_test_add_func ("/bytes/varint/max", test_bytes_varint_max);
  g_test_add_func ("/bytes/truncated", test_bytes_truncated);
  g_test_add_func ("/bytes/fixed-width", test_bytes_fixed_width);
  g_test_add_func ("/bytes/crc32c/vectors", test_bytes_crc32c_vectors);
  g_test_add_func ("/bytes/crc32c/paths-agree", test_bytes_crc32c_paths_agree);

  return g_test_run ();
}
