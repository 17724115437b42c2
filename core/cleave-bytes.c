/* cleave-bytes.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-bytes"

#include "cleave-bytes.h"
#include "cleave-bytes-private.h"

#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (cleave-bytes-error-quark, cleave_bytes_error)

void
cleave_reader_init (CleaveReader *reader,
                    const guint8 *data,
                    gsize         len,
                    const char   *what,
                    gsize         base_offset)
{
  reader->data = data;
  reader->len = len;
  reader->pos = 0;
  reader->what = what ? what : "buffer";
  reader->base_offset = base_offset;
}

gsize
cleave_reader_remaining (const CleaveReader *reader)
{
  return reader->len - reader->pos;
}

void
cleave_reader_set_error (CleaveReader *reader,
                         GError      **error,
                         GQuark        domain,
                         int           code,
                         const char   *format,
                         ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, domain, code, "%s: offset %" G_GSIZE_FORMAT ": %s",
               reader->what, reader->base_offset + reader->pos, msg);
}

static gboolean
need (CleaveReader *reader,
      gsize         n,
      const char   *what,
      GError      **error)
{
  if (G_LIKELY (reader->len - reader->pos >= n))
    return TRUE;
  cleave_reader_set_error (reader, error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRUNCATED,
                           "truncated: %s needs %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " left",
                           what, n, reader->len - reader->pos);
  return FALSE;
}

gboolean
cleave_reader_u8 (CleaveReader *reader,
                  guint8       *out,
                  GError      **error)
{
  if (!need (reader, 1, "u8", error))
    return FALSE;
  *out = reader->data[reader->pos++];
  return TRUE;
}

gboolean
cleave_reader_u32le (CleaveReader *reader,
                     guint32      *out,
                     GError      **error)
{
  guint32 v;

  if (!need (reader, 4, "u32", error))
    return FALSE;
  memcpy (&v, reader->data + reader->pos, 4);
  *out = GUINT32_FROM_LE (v);
  reader->pos += 4;
  return TRUE;
}

gboolean
cleave_reader_u32be (CleaveReader *reader,
                     guint32      *out,
                     GError      **error)
{
  guint32 v;

  if (!need (reader, 4, "u32", error))
    return FALSE;
  memcpy (&v, reader->data + reader->pos, 4);
  *out = GUINT32_FROM_BE (v);
  reader->pos += 4;
  return TRUE;
}

gboolean
cleave_reader_u64le (CleaveReader *reader,
                     guint64      *out,
                     GError      **error)
{
  guint64 v;

  if (!need (reader, 8, "u64", error))
    return FALSE;
  memcpy (&v, reader->data + reader->pos, 8);
  *out = GUINT64_FROM_LE (v);
  reader->pos += 8;
  return TRUE;
}

gboolean
cleave_reader_varint (CleaveReader *reader,
                      guint64      *out,
                      GError      **error)
{
  guint64 value = 0;
  gsize start = reader->pos;

  for (guint shift = 0; ; shift += 7)
    {
      guint8 b;

      if (reader->pos >= reader->len)
        {
          reader->pos = start;
          cleave_reader_set_error (reader, error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRUNCATED,
                                   "truncated varint");
          return FALSE;
        }
      b = reader->data[reader->pos++];
      /* The tenth byte may only carry the top bit of a 64-bit value. */
      if (shift == 63 && b > 1)
        {
          reader->pos = start;
          cleave_reader_set_error (reader, error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_OVERFLOW,
                                   "varint does not fit in 64 bits");
          return FALSE;
        }
      value |= (guint64) (b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        break;
    }

  *out = value;
  return TRUE;
}

gboolean
cleave_reader_varint_max (CleaveReader *reader,
                          guint64       max,
                          const char   *field,
                          guint64      *out,
                          GError      **error)
{
  gsize start = reader->pos;
  guint64 v;

  if (!cleave_reader_varint (reader, &v, error))
    return FALSE;
  if (v > max)
    {
      reader->pos = start;
      cleave_reader_set_error (reader, error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_OVERFLOW,
                               "%s is %" G_GUINT64_FORMAT ", more than %" G_GUINT64_FORMAT,
                               field, v, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
cleave_reader_bytes (CleaveReader  *reader,
                     gsize          n,
                     const guint8 **out,
                     GError       **error)
{
  if (!need (reader, n, "byte string", error))
    return FALSE;
  *out = reader->data + reader->pos;
  reader->pos += n;
  return TRUE;
}

gboolean
cleave_reader_expect_end (CleaveReader *reader,
                          GError      **error)
{
  if (reader->pos == reader->len)
    return TRUE;
  cleave_reader_set_error (reader, error, CLEAVE_BYTES_ERROR, CLEAVE_BYTES_ERROR_TRAILING,
                           "%" G_GSIZE_FORMAT " trailing bytes", reader->len - reader->pos);
  return FALSE;
}

void
cleave_bytes_put_u8 (GByteArray *out,
                     guint8      value)
{
  g_byte_array_append (out, &value, 1);
}

void
cleave_bytes_put_u32le (GByteArray *out,
                        guint32     value)
{
  guint32 v = GUINT32_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &v, 4);
}

void
cleave_bytes_put_u32be (GByteArray *out,
                        guint32     value)
{
  guint32 v = GUINT32_TO_BE (value);
  g_byte_array_append (out, (const guint8 *) &v, 4);
}

void
cleave_bytes_put_u64le (GByteArray *out,
                        guint64     value)
{
  guint64 v = GUINT64_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &v, 8);
}

void
cleave_bytes_put_varint (GByteArray *out,
                         guint64     value)
{
  guint8 buf[10];
  guint n = 0;

  do
    {
      guint8 b = value & 0x7f;
      value >>= 7;
      buf[n++] = b | (value ? 0x80 : 0);
    }
  while (value);
  g_byte_array_append (out, buf, n);
}

gsize
cleave_varint_size (guint64 value)
{
  gsize n = 1;

  while (value >= 0x80)
    {
      value >>= 7;
      n++;
    }
  return n;
}

/* CRC-32C: slicing-by-8 tables, or the SSE4.2 instruction where the CPU has
 * it. Every node and manifest read is checksummed, so this sits on the read
 * path of every chunk. */

static guint32 crc_table[8][256];

static gpointer
init_crc_table (gpointer data)
{
  for (guint i = 0; i < 256; i++)
    {
      guint32 c = i;
      for (guint k = 0; k < 8; k++)
        c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      crc_table[0][i] = c;
    }
  for (guint i = 0; i < 256; i++)
    for (guint t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
  return NULL;
}

static guint32
crc32c_sw (guint32       crc,
           const guint8 *p,
           gsize         len)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_crc_table, NULL);

  while (len >= 8)
    {
      guint32 lo, hi;

      memcpy (&lo, p, 4);
      memcpy (&hi, p + 4, 4);
      lo = GUINT32_FROM_LE (lo) ^ crc;
      hi = GUINT32_FROM_LE (hi);
      crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
      p += 8;
      len -= 8;
    }
  while (len--)
    crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_CRC32C_HW 1

__attribute__ ((target ("sse4.2")))
static guint32
crc32c_hw (guint32       crc,
           const guint8 *p,
           gsize         len)
{
  guint64 c = crc;

  while (len >= 8)
    {
      guint64 v;
      memcpy (&v, p, 8);
      c = __builtin_ia32_crc32di (c, v);
      p += 8;
      len -= 8;
    }
  while (len--)
    c = __builtin_ia32_crc32qi ((guint32) c, *p++);
  return (guint32) c;
}
#endif

guint32
cleave_crc32c_extend (guint32       crc,
                      const guint8 *data,
                      gsize         len)
{
  crc = ~crc;
#ifdef HAVE_CRC32C_HW
  if (__builtin_cpu_supports ("sse4.2"))
    return ~crc32c_hw (crc, data, len);
#endif
  return ~crc32c_sw (crc, data, len);
}

guint32
_cleave_crc32c_portable (const guint8 *data,
                         gsize         len)
{
  return ~crc32c_sw (~0u, data, len);
}

guint32
cleave_crc32c (const guint8 *data,
               gsize         len)
{
  return cleave_crc32c_extend (0, data, len);
}
