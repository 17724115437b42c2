/* cleave-bytes.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Bounds-checked decoding and appending of the little-endian integers,
 * LEB128 varints and CRC-32C checksums that the on-disk formats use.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_BYTES_ERROR (cleave_bytes_error_quark ())

typedef enum
{
  CLEAVE_BYTES_ERROR_TRUNCATED,
  CLEAVE_BYTES_ERROR_OVERFLOW,
  CLEAVE_BYTES_ERROR_TRAILING,
} CleaveBytesError;

GQuark cleave_bytes_error_quark (void);

/* A cursor over a borrowed buffer. @what and @base_offset only feed error
 * messages: "WHAT: offset N: ..." where N is @base_offset plus the position,
 * so that a message names the place in the file, not in a decompressed copy.
 */
typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         pos;
  const char   *what;
  gsize         base_offset;
} CleaveReader;

void      cleave_reader_init        (CleaveReader  *reader,
                                     const guint8  *data,
                                     gsize          len,
                                     const char    *what,
                                     gsize          base_offset);
gsize     cleave_reader_remaining   (const CleaveReader *reader);
gboolean  cleave_reader_u8          (CleaveReader  *reader,
                                     guint8        *out,
                                     GError       **error);
gboolean  cleave_reader_u32le       (CleaveReader  *reader,
                                     guint32       *out,
                                     GError       **error);
gboolean  cleave_reader_u32be       (CleaveReader  *reader,
                                     guint32       *out,
                                     GError       **error);
gboolean  cleave_reader_u64le       (CleaveReader  *reader,
                                     guint64       *out,
                                     GError       **error);
gboolean  cleave_reader_varint      (CleaveReader  *reader,
                                     guint64       *out,
                                     GError       **error);
gboolean  cleave_reader_varint_max  (CleaveReader  *reader,
                                     guint64        max,
                                     const char    *field,
                                     guint64       *out,
                                     GError       **error);
gboolean  cleave_reader_bytes       (CleaveReader  *reader,
                                     gsize          n,
                                     const guint8 **out,
                                     GError       **error);
gboolean  cleave_reader_expect_end  (CleaveReader  *reader,
                                     GError       **error);
void      cleave_reader_set_error   (CleaveReader  *reader,
                                     GError       **error,
                                     GQuark         domain,
                                     int            code,
                                     const char    *format,
                                     ...) G_GNUC_PRINTF (5, 6);

void      cleave_bytes_put_u8       (GByteArray    *out,
                                     guint8         value);
void      cleave_bytes_put_u32le    (GByteArray    *out,
                                     guint32        value);
void      cleave_bytes_put_u32be    (GByteArray    *out,
                                     guint32        value);
void      cleave_bytes_put_u64le    (GByteArray    *out,
                                     guint64        value);
void      cleave_bytes_put_varint   (GByteArray    *out,
                                     guint64        value);
gsize     cleave_varint_size        (guint64        value);

guint32   cleave_crc32c             (const guint8  *data,
                                     gsize          len);
guint32   cleave_crc32c_extend      (guint32        crc,
                                     const guint8  *data,
                                     gsize          len);

G_END_DECLS
