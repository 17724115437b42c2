/* cleave-codec.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The chunk encodings of neuroglancer precomputed volumes (shared
 * spec/precomputed.md §4): raw, and compressed_segmentation for one
 * channel. Pure: voxels in, bytes out and back; no I/O.
 *
 * Voxel arrays are dense, x fastest, shape[0] * shape[1] * shape[2]
 * elements of the data type in host byte order and suitably aligned for it.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_CODEC_ERROR (cleave_codec_error_quark ())

typedef enum
{
  CLEAVE_CODEC_ERROR_CORRUPT,       /* bytes that are not a valid chunk of this shape */
  CLEAVE_CODEC_ERROR_UNSUPPORTED,   /* an encoding, type or block size Cleave does not decode */
} CleaveCodecError;

GQuark cleave_codec_error_quark (void);

typedef enum
{
  CLEAVE_DATA_TYPE_UINT8,
  CLEAVE_DATA_TYPE_UINT16,
  CLEAVE_DATA_TYPE_UINT32,
  CLEAVE_DATA_TYPE_UINT64,
} CleaveDataType;

typedef enum
{
  CLEAVE_ENCODING_RAW,
  CLEAVE_ENCODING_COMPRESSED_SEGMENTATION,
} CleaveEncoding;

gsize        cleave_data_type_size        (CleaveDataType  type);
/* The names the info JSON uses ("uint8" ..., "raw", "compressed_segmentation"). */
gboolean     cleave_data_type_from_name   (const char     *name,
                                           CleaveDataType *out);
const char  *cleave_data_type_to_name     (CleaveDataType  type);
gboolean     cleave_encoding_from_name    (const char     *name,
                                           CleaveEncoding *out);
const char  *cleave_encoding_to_name      (CleaveEncoding  encoding);

/* @voxels: a dense x-fastest array of shape[0]*shape[1]*shape[2] elements
 * of @type (one channel). @block: the compressed_segmentation block size
 * (ignored for raw). Returns the encoded chunk.
 *
 * compressed_segmentation output matches neuroglancer's and tensorstore's
 * encoders byte for byte: sorted lookup tables, identical tables shared,
 * each block's values followed by its table, padding voxels at index 0.
 * It needs uint32 or uint64 and a block of at most 2^32 voxels; a chunk
 * whose tables would lie past the format's 24-bit offsets (only possible
 * beyond ~5 million voxels of nearly all-distinct labels) gives NULL and a
 * critical warning. */
GBytes      *cleave_codec_encode          (CleaveEncoding  encoding,
                                           CleaveDataType  type,
                                           const void     *voxels,
                                           const guint     shape[3],
                                           const guint     block[3]);

/* Decodes into @out (shape[0]*shape[1]*shape[2] elements of @type, x
 * fastest). @what names the chunk in error messages (e.g.
 * "seg/8_8_40/0-64_0-64_0-32"). Malformed input of any kind returns FALSE
 * with a CLEAVE_CODEC_ERROR_CORRUPT error "WHAT: byte offset N: ...", N
 * counting from the start of @data. uint8/uint16 with
 * compressed_segmentation, and blocks of zero or more than 2^32 voxels, are
 * CLEAVE_CODEC_ERROR_UNSUPPORTED. On failure @out holds unspecified
 * values. Never reads outside @data or writes outside @out. */
gboolean     cleave_codec_decode          (CleaveEncoding  encoding,
                                           CleaveDataType  type,
                                           const guint8   *data,
                                           gsize           len,
                                           const guint     shape[3],
                                           const guint     block[3],
                                           void           *out,
                                           const char     *what,
                                           GError        **error);

/* A segmentation chunk as indices into its distinct labels: what a viewer
 * uploads (a palette per chunk) without a 64-bit copy of every voxel. */
typedef struct
{
  guint64  *labels;       /* labels[0] is 0, the rest distinct, in no set order */
  guint     n_labels;
  gboolean  wide;         /* indices are guint32 (more than 65536 labels), else guint16 */
  gpointer  indices;      /* one per voxel, x fastest */
} CleaveIndexedLabels;

void         cleave_indexed_labels_clear  (CleaveIndexedLabels *labels);

gboolean     cleave_codec_decode_indexed  (CleaveEncoding       encoding,
                                           CleaveDataType       type,
                                           const guint8        *data,
                                           gsize                len,
                                           const guint          shape[3],
                                           const guint          block[3],
                                           CleaveIndexedLabels *out,
                                           const char          *what,
                                           GError             **error);

G_END_DECLS
