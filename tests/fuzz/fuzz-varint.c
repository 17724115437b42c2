/* fuzz-varint.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Any byte string decodes as a sequence of varints or fails cleanly without
 * moving the cursor, and a value read from as many bytes as its canonical
 * form takes re-encodes to exactly those bytes.
 */

#include "cleave-bytes.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  CleaveReader reader;

  cleave_reader_init (&reader, data, size, "fuzz", 0);
  while (cleave_reader_remaining (&reader) > 0)
    {
      gsize start = reader.pos;
      guint64 v;
      GError *error = NULL;

      if (!cleave_reader_varint (&reader, &v, &error))
        {
          g_assert (error != NULL && reader.pos == start);
          g_error_free (error);
          break;
        }
      if (cleave_varint_size (v) == reader.pos - start)
        {
          GByteArray *out = g_byte_array_new ();
          cleave_bytes_put_varint (out, v);
          g_assert (memcmp (out->data, data + start, out->len) == 0);
          g_byte_array_unref (out);
        }
    }
  return 0;
}
