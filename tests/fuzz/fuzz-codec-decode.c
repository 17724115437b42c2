/* fuzz-codec-decode.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every chunk fed to the decoder either decodes or fails with a GError:
 * never a crash, a leak, or a read or write outside the buffers (both are
 * allocated to the exact size, so ASan sees one byte too far). What decodes
 * re-encodes, and the re-encoding decodes to the same voxels.
 *
 * Input: 7 header bytes, then the chunk.
 *   byte 0: bit 0 uint64 (else uint32); bit 1 raw, with the type in bits 2-3
 *   bytes 1-3: shape, each 1 + byte % 16
 *   bytes 4-6: block, each byte % 9 (0 reaches the unsupported-block path)
 */

#include "cleave-codec.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  CleaveEncoding encoding = CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  CleaveDataType type;
  guint shape[3], block[3];
  gsize n, bytes;
  guint8 *chunk, *out;
  GError *error = NULL;
  gboolean ok;

  if (size < 7)
    return 0;
  if (data[0] & 2)
    {
      encoding = CLEAVE_ENCODING_RAW;
      type = (data[0] >> 2) & 3;
    }
  else
    type = data[0] & 1 ? CLEAVE_DATA_TYPE_UINT64 : CLEAVE_DATA_TYPE_UINT32;
  for (guint i = 0; i < 3; i++)
    {
      shape[i] = 1 + data[1 + i] % 16;
      block[i] = data[4 + i] % 9;
    }
  n = (gsize) shape[0] * shape[1] * shape[2];
  bytes = n * cleave_data_type_size (type);

  /* Copies of exactly the right sizes, so that any overrun is caught. */
  chunk = g_memdup2 (data + 7, size - 7);
  out = g_malloc (bytes);
  ok = cleave_codec_decode (encoding, type, chunk, size - 7, shape, block, out, "fuzz", &error);
  g_assert (ok == (error == NULL));
  if (!ok)
    {
      g_assert (error->domain == CLEAVE_CODEC_ERROR);
      g_assert (g_str_has_prefix (error->message, "fuzz: byte offset "));
      /* Unsupported only for a zero block side: the types here all decode. */
      g_assert (error->code == CLEAVE_CODEC_ERROR_CORRUPT ||
                (error->code == CLEAVE_CODEC_ERROR_UNSUPPORTED &&
                 encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION &&
                 block[0] * block[1] * block[2] == 0));
      g_clear_error (&error);
    }
  else
    {
      GBytes *again = cleave_codec_encode (encoding, type, out, shape, block);
      guint8 *out2 = g_malloc (bytes);
      gsize len;
      const guint8 *p = g_bytes_get_data (again, &len);

      g_assert (cleave_codec_decode (encoding, type, p, len, shape, block, out2, "fuzz", NULL));
      g_assert (memcmp (out, out2, bytes) == 0);
      g_free (out2);
      g_bytes_unref (again);
    }
  g_free (out);
  g_free (chunk);
  return 0;
}
