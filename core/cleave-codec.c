/* cleave-codec.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-codec"

#include "cleave-codec.h"

#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (cleave-codec-error-quark, cleave_codec_error)

/* Block header word 0 keeps the lookup table offset in its low 24 bits. */
#define MAX_TABLE_OFFSET 0xffffffu
/* Bit positions inside a block are computed in 64 bits: with at most 32
 * bits per voxel, 2^32 voxels keep them far from overflow. */
#define MAX_BLOCK_VOXELS (G_GUINT64_CONSTANT (1) << 32)

static const struct
{
  const char *name;
  gsize       size;
} data_types[] = {
  [CLEAVE_DATA_TYPE_UINT8] = { "uint8", 1 },
  [CLEAVE_DATA_TYPE_UINT16] = { "uint16", 2 },
  [CLEAVE_DATA_TYPE_UINT32] = { "uint32", 4 },
  [CLEAVE_DATA_TYPE_UINT64] = { "uint64", 8 },
};

static const char * const encodings[] = {
  [CLEAVE_ENCODING_RAW] = "raw",
  [CLEAVE_ENCODING_COMPRESSED_SEGMENTATION] = "compressed_segmentation",
};

gsize
cleave_data_type_size (CleaveDataType type)
{
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (data_types), 0);
  return data_types[type].size;
}

gboolean
cleave_data_type_from_name (const char     *name,
                            CleaveDataType *out)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (data_types); i++)
    if (strcmp (name, data_types[i].name) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

const char *
cleave_data_type_to_name (CleaveDataType type)
{
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (data_types), NULL);
  return data_types[type].name;
}

gboolean
cleave_encoding_from_name (const char     *name,
                           CleaveEncoding *out)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (encodings); i++)
    if (strcmp (name, encodings[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

const char *
cleave_encoding_to_name (CleaveEncoding encoding)
{
  g_return_val_if_fail ((guint) encoding < G_N_ELEMENTS (encodings), NULL);
  return encodings[encoding];
}

static gboolean G_GNUC_PRINTF (5, 6)
set_error (GError    **error,
           int         code,
           const char *what,
           gsize       offset,
           const char *format,
           ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  if (error == NULL)
    return FALSE;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, CLEAVE_CODEC_ERROR, code, "%s: byte offset %" G_GSIZE_FORMAT ": %s",
               what ? what : "chunk", offset, msg);
  return FALSE;
}

#define CORRUPT(offset, ...) set_error (error, CLEAVE_CODEC_ERROR_CORRUPT, what, (offset), __VA_ARGS__)

static inline guint32
load_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
load_u64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

/* The chunk and its block grid, all in 64 bits so that no product of
 * untrusted sizes wraps. */
typedef struct
{
  guint64 shape[3];
  guint64 block[3];
  guint64 grid[3];
  guint64 n_voxels;
  guint64 n_blocks;
  guint64 block_voxels;
} Geometry;

/* Returns NULL, or what makes the sizes unusable. */
static const char *
geometry_init (Geometry    *g,
               const guint  shape[3],
               const guint  block[3],
               gsize        elem_size,
               gboolean     blocked)
{
  guint64 bytes;

  /* Three 32-bit factors can wrap 64 bits; the buffers must fit in memory anyway. */
  if (!g_uint64_checked_mul (&bytes, (guint64) shape[0] * shape[1], shape[2]) ||
      !g_uint64_checked_mul (&bytes, bytes, elem_size) || bytes > G_MAXSIZE)
    return "the chunk is larger than the address space";

  g->n_voxels = (guint64) shape[0] * shape[1] * shape[2];
  g->n_blocks = 1;
  g->block_voxels = 1;
  for (guint i = 0; i < 3; i++)
    {
      g->shape[i] = shape[i];
      if (!blocked)
        continue;
      if (block[i] == 0)
        return "the block size has a zero side";
      g->block[i] = block[i];
      g->grid[i] = (g->shape[i] + block[i] - 1) / block[i];
      g->n_blocks *= g->grid[i];
      g->block_voxels *= block[i];
    }
  if (blocked && g->block_voxels > MAX_BLOCK_VOXELS)
    return "blocks of more than 2^32 voxels are not supported";
  return NULL;
}

static inline gboolean
valid_bits (guint bits)
{
  return bits == 0 || bits == 1 || bits == 2 || bits == 4 || bits == 8 || bits == 16 || bits == 32;
}

static inline guint
bits_for (gsize n_distinct)
{
  guint bits = 0;

  if (n_distinct > 1)
    for (bits = 1; bits < 32 && (G_GUINT64_CONSTANT (1) << bits) < n_distinct; bits *= 2)
      ;
  return bits;
}

/* ------------------------------------------------------------------------ */
/* Raw                                                                      */

static void
copy_le (void       *dst,
         const void *src,
         gsize       n,
         gsize       elem_size)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, n * elem_size);
#else
  const guint8 *s = src;
  guint8 *d = dst;

  for (gsize i = 0; i < n; i++)
    for (gsize k = 0; k < elem_size; k++)
      d[i * elem_size + k] = s[i * elem_size + elem_size - 1 - k];
#endif
}

static gboolean
decode_raw (CleaveDataType  type,
            const guint8   *data,
            gsize           len,
            const Geometry *g,
            void           *out,
            const char     *what,
            GError        **error)
{
  gsize elem = data_types[type].size;
  gsize expected = (gsize) g->n_voxels * elem;

  if (len < expected)
    return CORRUPT (len, "truncated: a raw %s chunk of %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT "x%"
                    G_GUINT64_FORMAT " needs %" G_GSIZE_FORMAT " bytes, got %" G_GSIZE_FORMAT,
                    data_types[type].name, g->shape[0], g->shape[1], g->shape[2], expected, len);
  if (len > expected)
    return CORRUPT (expected, "%" G_GSIZE_FORMAT " trailing bytes after a raw %s chunk of %"
                    G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT,
                    len - expected, data_types[type].name, g->shape[0], g->shape[1], g->shape[2]);
  if (expected > 0)
    copy_le (out, data, g->n_voxels, elem);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* compressed_segmentation: decoding                                        */

/* One block's place in the chunk: its origin, its in-bounds extent (smaller
 * than the block at the chunk's upper edges) and the chunk's row strides. */
typedef struct
{
  gsize   out_base;       /* element index of the block origin in @out */
  gsize   stride_y;       /* shape[0] */
  gsize   stride_z;       /* shape[0] * shape[1] */
  guint64 ax, ay, az;     /* in-bounds extent */
  guint64 bx, by;         /* block size, the strides of the encoded indices */
  guint64 block_voxels;   /* bx * by * bz: the encoded indices cover padding too */
} BlockPos;

/* Specialized by constant propagation: every call passes literal @bits,
 * @wide and @checked, so the per-voxel loop has no branch on them. @checked
 * is only needed when the table is shorter than 2^bits entries, which with
 * the usual layout is just the last table in the chunk. */
G_ALWAYS_INLINE static inline gboolean
decode_rows (const guint8   *values,
             const guint8   *table,
             gsize           table_len,
             const BlockPos *bp,
             void           *out,
             guint           bits,
             gboolean        wide,
             gboolean        checked,
             gsize          *bad_word)
{
  const guint32 mask = (guint32) ((G_GUINT64_CONSTANT (1) << bits) - 1);

  for (guint64 z = 0; z < bp->az; z++)
    for (guint64 y = 0; y < bp->ay; y++)
      {
        gsize row = bp->out_base + z * bp->stride_z + y * bp->stride_y;
        guint64 bit = bits * (bp->bx * (y + bp->by * z));

        for (guint64 x = 0; x < bp->ax; x++, bit += bits)
          {
            guint32 idx = (load_u32 (values + 4 * (bit >> 5)) >> (bit & 31)) & mask;

            if (checked && G_UNLIKELY (idx >= table_len))
              {
                *bad_word = bit >> 5;
                return FALSE;
              }
            if (wide)
              ((guint64 *) out)[row + x] = load_u64 (table + 8 * (gsize) idx);
            else
              ((guint32 *) out)[row + x] = load_u32 (table + 4 * (gsize) idx);
          }
      }
  return TRUE;
}

/* The common case, an 8-voxel row of an interior block of the usual 8x8x8
 * blocks: row r's indices start at bit 8 * bits * r, so with bits < 8 they
 * lie in one word and with bits >= 8 they are whole bytes. Unrolled, with
 * no index test: only for blocks whose table has all 2^bits entries. */
G_ALWAYS_INLINE static inline void
decode_rows8 (const guint8   *values,
              const guint8   *table,
              const BlockPos *bp,
              void           *out,
              guint           bits,
              gboolean        wide)
{
  const guint32 mask = (guint32) ((G_GUINT64_CONSTANT (1) << bits) - 1);

  for (guint64 z = 0; z < bp->az; z++)
    for (guint64 y = 0; y < bp->ay; y++)
      {
        gsize r = y + bp->by * z;
        const guint8 *row_values = values + r * bits;
        guint32 w = 0;

        if (bits < 8)
          w = load_u32 (values + 4 * (r * bits / 4)) >> ((r * bits * 8) & 31);

#pragma GCC unroll 8
        for (guint k = 0; k < 8; k++)
          {
            guint32 idx;

            if (bits < 8)
              idx = (w >> (k * bits)) & mask;
            else if (bits == 8)
              idx = row_values[k];
            else if (bits == 16)
              idx = row_values[2 * k] | row_values[2 * k + 1] << 8;
            else
              idx = load_u32 (row_values + 4 * k);

            if (wide)
              ((guint64 *) out)[bp->out_base + z * bp->stride_z + y * bp->stride_y + k] =
                load_u64 (table + 8 * (gsize) idx);
            else
              ((guint32 *) out)[bp->out_base + z * bp->stride_z + y * bp->stride_y + k] =
                load_u32 (table + 4 * (gsize) idx);
          }
      }
}

G_ALWAYS_INLINE static inline void
fill_rows (const BlockPos *bp,
           void           *out,
           guint64         value,
           gboolean        wide)
{
  for (guint64 z = 0; z < bp->az; z++)
    for (guint64 y = 0; y < bp->ay; y++)
      {
        gsize row = bp->out_base + z * bp->stride_z + y * bp->stride_y;

        if (wide && bp->ax == 8)
          {
            guint64 *p = (guint64 *) out + row;
#pragma GCC unroll 8
            for (guint x = 0; x < 8; x++)
              p[x] = value;
          }
        else if (wide)
          {
            guint64 *p = (guint64 *) out + row;
            for (guint64 x = 0; x < bp->ax; x++)
              p[x] = value;
          }
        else
          {
            guint32 *p = (guint32 *) out + row;
            for (guint64 x = 0; x < bp->ax; x++)
              p[x] = (guint32) value;
          }
      }
}

#define DECODE_ROWS(bits, wide) \
  (checked ? decode_rows (values, table, table_len, bp, out, bits, wide, TRUE, bad_word) \
   : bp->ax == 8 && bp->bx == 8 ? (decode_rows8 (values, table, bp, out, bits, wide), TRUE) \
   : decode_rows (values, table, table_len, bp, out, bits, wide, FALSE, bad_word))

static gboolean
decode_block_u32 (const guint8   *values,
                  const guint8   *table,
                  gsize           table_len,
                  const BlockPos *bp,
                  void           *out,
                  guint           bits,
                  gboolean        checked,
                  gsize          *bad_word)
{
  switch (bits)
    {
    case 1: return DECODE_ROWS (1, FALSE);
    case 2: return DECODE_ROWS (2, FALSE);
    case 4: return DECODE_ROWS (4, FALSE);
    case 8: return DECODE_ROWS (8, FALSE);
    case 16: return DECODE_ROWS (16, FALSE);
    case 32: return DECODE_ROWS (32, FALSE);
    default: g_assert_not_reached ();
    }
  return FALSE;
}

static gboolean
decode_block_u64 (const guint8   *values,
                  const guint8   *table,
                  gsize           table_len,
                  const BlockPos *bp,
                  void           *out,
                  guint           bits,
                  gboolean        checked,
                  gsize          *bad_word)
{
  switch (bits)
    {
    case 1: return DECODE_ROWS (1, TRUE);
    case 2: return DECODE_ROWS (2, TRUE);
    case 4: return DECODE_ROWS (4, TRUE);
    case 8: return DECODE_ROWS (8, TRUE);
    case 16: return DECODE_ROWS (16, TRUE);
    case 32: return DECODE_ROWS (32, TRUE);
    default: g_assert_not_reached ();
    }
  return FALSE;
}

#undef DECODE_ROWS

/* What is done with each block once its header is checked: @values is
 * NULL for a block of one label (@bits 0); @checked says the table is
 * shorter than 2^bits entries. FALSE with *bad_word set: an index past
 * the table; FALSE with *bad_word G_MAXSIZE: the sink gave up. */
typedef gboolean (*BlockSink) (const guint8   *chan,
                               const guint8   *values,
                               gsize           table_offset,
                               gsize           table_len,
                               const BlockPos *bp,
                               guint           bits,
                               gboolean        checked,
                               gsize          *bad_word,
                               gpointer        data);

typedef struct
{
  void     *out;
  gboolean  wide;         /* uint64 labels */
} ValueSink;

static gboolean
decode_value_block (const guint8   *chan,
                    const guint8   *values,
                    gsize           table_offset,
                    gsize           table_len,
                    const BlockPos *bp,
                    guint           bits,
                    gboolean        checked,
                    gsize          *bad_word,
                    gpointer        data)
{
  gboolean wide = ((ValueSink *) data)->wide;
  void *out = ((ValueSink *) data)->out;
  const guint8 *table = chan + 4 * table_offset;

  if (bits == 0)
    {
      if (wide)
        fill_rows (bp, out, load_u64 (table), TRUE);
      else
        fill_rows (bp, out, load_u32 (table), FALSE);
      return TRUE;
    }
  if (wide)
    return decode_block_u64 (values, table, table_len, bp, out, bits, checked, bad_word);
  return decode_block_u32 (values, table, table_len, bp, out, bits, checked, bad_word);
}

static gboolean
walk_compressed_segmentation (CleaveDataType  type,
                              const guint8   *data,
                              gsize           len,
                              const Geometry *g,
                              BlockSink       sink,
                              gpointer        sink_data,
                              const char     *what,
                              GError        **error)
{
  gboolean wide = type == CLEAVE_DATA_TYPE_UINT64;
  gsize label_words = wide ? 2 : 1;
  const guint8 *chan;
  gsize n_words;
  guint32 n_channels;
  BlockPos bp;

  if (len < 4)
    return CORRUPT (len, "truncated: %" G_GSIZE_FORMAT " bytes, the channel offset needs 4", len);
  if (len % 4 != 0)
    return CORRUPT (len - len % 4, "length %" G_GSIZE_FORMAT " is not a whole number of 32-bit words", len);
  /* The first channel offset is the channel count; Cleave's volumes have one. */
  n_channels = load_u32 (data);
  if (n_channels != 1)
    return CORRUPT (0, "first channel offset is %u (the channel count), expected 1", n_channels);

  /* Offsets count 32-bit words from the start of the channel data. */
  chan = data + 4;
  n_words = len / 4 - 1;
  if (n_words / 2 < g->n_blocks)
    return CORRUPT (len, "truncated: %" G_GUINT64_FORMAT " block headers need %" G_GUINT64_FORMAT
                    " words, the channel has %" G_GSIZE_FORMAT,
                    g->n_blocks, 2 * g->n_blocks, n_words);

  bp.stride_y = g->shape[0];
  bp.stride_z = g->shape[0] * g->shape[1];
  bp.bx = g->block[0];
  bp.by = g->block[1];
  bp.block_voxels = g->block_voxels;

  for (guint64 gz = 0; gz < g->grid[2]; gz++)
    for (guint64 gy = 0; gy < g->grid[1]; gy++)
      for (guint64 gx = 0; gx < g->grid[0]; gx++)
        {
          gsize header = 8 * (gx + g->grid[0] * (gy + g->grid[1] * gz));
          guint32 w0 = load_u32 (chan + header);
          guint32 values_offset = load_u32 (chan + header + 4);
          guint32 table_offset = w0 & MAX_TABLE_OFFSET;
          guint bits = w0 >> 24;
          guint64 x0 = gx * g->block[0], y0 = gy * g->block[1], z0 = gz * g->block[2];
          gsize table_len;
          gsize bad_word = 0;
          gboolean ok;

          if (!valid_bits (bits))
            return CORRUPT (4 + header + 3, "block (%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                            G_GUINT64_FORMAT "): encodedBits %u is not 0, 1, 2, 4, 8, 16 or 32",
                            gx, gy, gz, bits);
          if (table_offset > n_words || (n_words - table_offset) < label_words)
            return CORRUPT (4 + header, "block (%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                            G_GUINT64_FORMAT "): lookup table at word %u is past the end of the "
                            "%" G_GSIZE_FORMAT "-word channel data",
                            gx, gy, gz, table_offset, n_words);
          table_len = (n_words - table_offset) / label_words;

          bp.out_base = x0 + y0 * bp.stride_y + z0 * bp.stride_z;
          bp.ax = MIN (g->block[0], g->shape[0] - x0);
          bp.ay = MIN (g->block[1], g->shape[1] - y0);
          bp.az = MIN (g->block[2], g->shape[2] - z0);

          if (bits == 0)
            {
              if (!sink (chan, NULL, table_offset, table_len, &bp, 0, FALSE, &bad_word, sink_data))
                return FALSE;
              continue;
            }

          /* The encoded indices cover the whole block, padding included. */
          if (values_offset > n_words ||
              (bits * g->block_voxels + 31) / 32 > n_words - values_offset)
            return CORRUPT (4 + header + 4, "block (%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                            G_GUINT64_FORMAT "): %u-bit values at word %u need %" G_GUINT64_FORMAT
                            " words, the channel has %" G_GSIZE_FORMAT,
                            gx, gy, gz, bits, values_offset, (bits * g->block_voxels + 31) / 32, n_words);

          ok = sink (chan, chan + 4 * (gsize) values_offset, table_offset, table_len, &bp, bits,
                     table_len < (G_GUINT64_CONSTANT (1) << bits), &bad_word, sink_data);
          if (!ok && bad_word == G_MAXSIZE)
            return FALSE;
          if (!ok)
            return CORRUPT (4 + 4 * ((gsize) values_offset + bad_word),
                            "block (%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                            "): lookup index past the end of the %" G_GSIZE_FORMAT "-entry table at word %u",
                            gx, gy, gz, table_len, table_offset);
        }
  return TRUE;
}

/* The chunk's geometry, or why Cleave cannot decode it. Shape and block
 * size come from the info file, not the chunk: bad ones make a volume
 * Cleave cannot read rather than a corrupt chunk. */
static gboolean
decode_geometry (CleaveEncoding  encoding,
                 CleaveDataType  type,
                 const guint     shape[3],
                 const guint     block[3],
                 Geometry       *g,
                 const char     *what,
                 GError        **error)
{
  gboolean blocked = encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  const char *bad_geometry;

  if (blocked && type != CLEAVE_DATA_TYPE_UINT32 && type != CLEAVE_DATA_TYPE_UINT64)
    return set_error (error, CLEAVE_CODEC_ERROR_UNSUPPORTED, what, 0,
                      "compressed_segmentation holds uint32 or uint64, not %s", data_types[type].name);
  bad_geometry = geometry_init (g, shape, block, data_types[type].size, blocked);
  if (bad_geometry != NULL)
    return set_error (error, CLEAVE_CODEC_ERROR_UNSUPPORTED, what, 0, "chunk %ux%ux%u, block %ux%ux%u: %s",
                      shape[0], shape[1], shape[2],
                      blocked ? block[0] : 0, blocked ? block[1] : 0, blocked ? block[2] : 0, bad_geometry);
  return TRUE;
}

gboolean
cleave_codec_decode (CleaveEncoding  encoding,
                     CleaveDataType  type,
                     const guint8   *data,
                     gsize           len,
                     const guint     shape[3],
                     const guint     block[3],
                     void           *out,
                     const char     *what,
                     GError        **error)
{
  gboolean blocked = encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  Geometry g;

  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (data_types), FALSE);
  g_return_val_if_fail ((guint) encoding < G_N_ELEMENTS (encodings), FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (shape != NULL, FALSE);
  g_return_val_if_fail (!blocked || block != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!decode_geometry (encoding, type, shape, block, &g, what, error))
    return FALSE;
  g_return_val_if_fail (out != NULL || g.n_voxels == 0, FALSE);

  if (blocked)
    {
      ValueSink sink = { out, type == CLEAVE_DATA_TYPE_UINT64 };

      return walk_compressed_segmentation (type, data, len, &g, decode_value_block, &sink, what, error);
    }
  return decode_raw (type, data, len, &g, out, what, error);
}

/* ------------------------------------------------------------------------ */
/* Decoding to indices                                                      */

/* A chunk's labels: open addressing from label to index; index 0 is label
 * 0 and never in the table (0 marks an empty slot). */
typedef struct
{
  guint64  *keys;
  guint32  *values;
  gsize     mask;
  GArray   *labels;
  guint32   limit;        /* more indices than this: give up */
} LabelTable;

static inline guint64
mix64 (guint64 x)
{
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  x ^= x >> 33;
  return x;
}

static void
label_table_init (LabelTable *t,
                  guint32     limit)
{
  t->mask = 255;
  t->keys = g_new0 (guint64, t->mask + 1);
  t->values = g_new (guint32, t->mask + 1);
  t->labels = g_array_new (FALSE, FALSE, sizeof (guint64));
  t->limit = limit;
  g_array_append_val (t->labels, (guint64) { 0 });
}

static void
label_table_clear (LabelTable *t)
{
  g_free (t->keys);
  g_free (t->values);
  if (t->labels != NULL)
    g_array_unref (t->labels);
}

static void
label_table_put (LabelTable *t,
                 guint64     label,
                 guint32     index)
{
  gsize i = mix64 (label) & t->mask;

  while (t->keys[i] != 0)
    i = (i + 1) & t->mask;
  t->keys[i] = label;
  t->values[i] = index;
}

/* The index of @label, made if new; G_MAXUINT32 past the limit. */
static guint32
label_table_index (LabelTable *t,
                   guint64     label)
{
  guint32 index;
  gsize i;

  if (label == 0)
    return 0;
  for (i = mix64 (label) & t->mask; t->keys[i] != 0; i = (i + 1) & t->mask)
    if (t->keys[i] == label)
      return t->values[i];
  if (t->labels->len > t->limit)
    return G_MAXUINT32;
  index = t->labels->len;
  g_array_append_val (t->labels, label);
  if ((gsize) t->labels->len * 2 > t->mask)
    {
      guint64 *keys = t->keys;
      guint32 *values = t->values;
      gsize n = t->mask + 1;

      t->mask = 2 * n - 1;
      t->keys = g_new0 (guint64, 2 * n);
      t->values = g_new (guint32, 2 * n);
      for (gsize k = 0; k < n; k++)
        if (keys[k] != 0)
          label_table_put (t, keys[k], values[k]);
      g_free (keys);
      g_free (values);
    }
  label_table_put (t, label, index);
  return index;
}

/* compressed_segmentation straight to indices: each lookup-table entry is
 * hashed the first time a voxel uses it, then every voxel is one small
 * array read. Entries no voxel uses never become labels (tables may run
 * into other blocks' words). */
typedef struct
{
  LabelTable *t;
  guint32    *map;        /* per channel word: 1 + the index of the label starting there, 0 unseen */
  gsize       label_words;
  gboolean    wide;       /* guint32 indices */
  gpointer    out;
} IndexSink;

static G_NO_INLINE guint32
index_miss (IndexSink    *ix,
            const guint8 *chan,
            gsize         word)
{
  guint64 label = ix->label_words == 2 ? load_u64 (chan + 4 * word) : load_u32 (chan + 4 * word);
  guint32 index = label_table_index (ix->t, label);

  if (index == G_MAXUINT32)
    return 0;
  return ix->map[word] = index + 1;
}

G_ALWAYS_INLINE static inline gboolean
index_rows (IndexSink      *ix,
            const guint8   *chan,
            const guint8   *values,
            gsize           table_offset,
            gsize           table_len,
            const BlockPos *bp,
            guint           bits,
            gboolean        wide,
            gboolean        checked,
            gsize          *bad_word)
{
  const guint32 mask = (guint32) ((G_GUINT64_CONSTANT (1) << bits) - 1);
  const gsize lw = ix->label_words;

  for (guint64 z = 0; z < bp->az; z++)
    for (guint64 y = 0; y < bp->ay; y++)
      {
        gsize row = bp->out_base + z * bp->stride_z + y * bp->stride_y;
        guint64 bit = bits * (bp->bx * (y + bp->by * z));

        for (guint64 x = 0; x < bp->ax; x++, bit += bits)
          {
            guint32 idx = (load_u32 (values + 4 * (bit >> 5)) >> (bit & 31)) & mask;
            gsize word = table_offset + lw * idx;
            guint32 m;

            if (checked && G_UNLIKELY (idx >= table_len))
              {
                *bad_word = bit >> 5;
                return FALSE;
              }
            m = ix->map[word];
            if (G_UNLIKELY (m == 0) && (m = index_miss (ix, chan, word)) == 0)
              {
                *bad_word = G_MAXSIZE;
                return FALSE;
              }
            if (wide)
              ((guint32 *) ix->out)[row + x] = m - 1;
            else
              ((guint16 *) ix->out)[row + x] = (guint16) (m - 1);
          }
      }
  return TRUE;
}

#define INDEX_ROWS(bits, wide) \
  (checked ? index_rows (ix, chan, values, table_offset, table_len, bp, bits, wide, TRUE, bad_word) \
   : index_rows (ix, chan, values, table_offset, table_len, bp, bits, wide, FALSE, bad_word))

static gboolean
index_block (const guint8   *chan,
             const guint8   *values,
             gsize           table_offset,
             gsize           table_len,
             const BlockPos *bp,
             guint           bits,
             gboolean        checked,
             gsize          *bad_word,
             gpointer        data)
{
  IndexSink *ix = data;

  if (bits == 0)
    {
      guint32 m = ix->map[table_offset];

      if (m == 0 && (m = index_miss (ix, chan, table_offset)) == 0)
        {
          *bad_word = G_MAXSIZE;
          return FALSE;
        }
      for (guint64 z = 0; z < bp->az; z++)
        for (guint64 y = 0; y < bp->ay; y++)
          {
            gsize row = bp->out_base + z * bp->stride_z + y * bp->stride_y;

            for (guint64 x = 0; x < bp->ax; x++)
              if (ix->wide)
                ((guint32 *) ix->out)[row + x] = m - 1;
              else
                ((guint16 *) ix->out)[row + x] = (guint16) (m - 1);
          }
      return TRUE;
    }
  switch (bits * 2 + (ix->wide ? 1 : 0))
    {
    case 2: return INDEX_ROWS (1, FALSE);
    case 3: return INDEX_ROWS (1, TRUE);
    case 4: return INDEX_ROWS (2, FALSE);
    case 5: return INDEX_ROWS (2, TRUE);
    case 8: return INDEX_ROWS (4, FALSE);
    case 9: return INDEX_ROWS (4, TRUE);
    case 16: return INDEX_ROWS (8, FALSE);
    case 17: return INDEX_ROWS (8, TRUE);
    case 32: return INDEX_ROWS (16, FALSE);
    case 33: return INDEX_ROWS (16, TRUE);
    case 64: return INDEX_ROWS (32, FALSE);
    case 65: return INDEX_ROWS (32, TRUE);
    default: g_assert_not_reached ();
    }
  return FALSE;
}

#undef INDEX_ROWS

/* Raw voxels to indices; runs of one label (most of a segmentation) skip
 * the table. FALSE past the table's limit. */
static gboolean
index_raw (LabelTable   *t,
           const guint8 *data,
           gsize         n,
           gsize         elem,
           gboolean      wide,
           gpointer      out)
{
  guint64 prev = 0;
  guint32 index = 0;

  for (gsize i = 0; i < n; i++)
    {
      const guint8 *p = data + i * elem;
      guint64 v = elem == 8 ? load_u64 (p) : elem == 4 ? load_u32 (p)
                  : elem == 2 ? (guint64) (p[0] | p[1] << 8) : p[0];

      if (v != prev)
        {
          prev = v;
          index = label_table_index (t, v);
          if (index == G_MAXUINT32)
            return FALSE;
        }
      if (wide)
        ((guint32 *) out)[i] = index;
      else
        ((guint16 *) out)[i] = (guint16) index;
    }
  return TRUE;
}

void
cleave_indexed_labels_clear (CleaveIndexedLabels *labels)
{
  g_clear_pointer (&labels->labels, g_free);
  g_clear_pointer (&labels->indices, g_free);
  labels->n_labels = 0;
  labels->wide = FALSE;
}

gboolean
cleave_codec_decode_indexed (CleaveEncoding       encoding,
                             CleaveDataType       type,
                             const guint8        *data,
                             gsize                len,
                             const guint          shape[3],
                             const guint          block[3],
                             CleaveIndexedLabels *out,
                             const char          *what,
                             GError             **error)
{
  gboolean blocked = encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  gsize elem = cleave_data_type_size (type);
  Geometry g;

  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (data_types), FALSE);
  g_return_val_if_fail ((guint) encoding < G_N_ELEMENTS (encodings), FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (shape != NULL && out != NULL, FALSE);
  g_return_val_if_fail (!blocked || block != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);
  if (!decode_geometry (encoding, type, shape, block, &g, what, error))
    return FALSE;
  /* A raw chunk of the wrong length: decode_raw says how, before it copies. */
  if (!blocked && len != (gsize) g.n_voxels * elem)
    return decode_raw (type, data, len, &g, NULL, what, error);

  /* uint16 indices first; a chunk of more labels (rare) starts over. */
  for (guint pass = 0; pass < 2; pass++)
    {
      g_autoptr(GError) local = NULL;
      gboolean wide = pass == 1;
      gpointer indices = g_malloc ((gsize) g.n_voxels * (wide ? 4 : 2));
      LabelTable t;
      gboolean ok;

      label_table_init (&t, wide ? G_MAXUINT32 - 1 : G_MAXUINT16);
      if (blocked)
        {
          IndexSink ix = { &t, NULL, type == CLEAVE_DATA_TYPE_UINT64 ? 2 : 1, wide, indices };

          ix.map = g_new0 (guint32, len / 4 + 1);
          ok = walk_compressed_segmentation (type, data, len, &g, index_block, &ix, what, &local);
          g_free (ix.map);
        }
      else
        ok = index_raw (&t, data, (gsize) g.n_voxels, elem, wide, indices);
      if (ok)
        {
          out->n_labels = t.labels->len;
          out->labels = (guint64 *) (gpointer) g_array_free (g_steal_pointer (&t.labels), FALSE);
        }
      label_table_clear (&t);
      if (ok)
        {
          out->wide = wide;
          out->indices = indices;
          return TRUE;
        }
      g_free (indices);
      /* A corrupt chunk, not too many labels. */
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  /* More labels than 32-bit indices hold: only a chunk of 2^32 voxels. */
  return set_error (error, CLEAVE_CODEC_ERROR_UNSUPPORTED, what, 0, "more than 2^32 distinct labels in one chunk");
}

/* ------------------------------------------------------------------------ */
/* compressed_segmentation: encoding                                        */

/* Dedup key of a lookup table already written: tables are compared word by
 * word against the output, so no copy of them is kept. */
typedef struct
{
  guint32 hash;
  guint32 n_words;        /* 0: empty slot */
  guint32 offset;         /* in words from the start of the channel data */
} TableSlot;

/* Scratch space for one chunk, sized once from the largest in-bounds block,
 * so that the per-block and per-voxel loops allocate nothing. */
typedef struct
{
  /* Output words in host order (byte-swapped at the end on big-endian
   * hosts); word 0 is the channel offset, channel data starts at word 1. */
  guint32   *words;
  gsize      len;
  gsize      cap;

  /* A block's distinct values: open addressing, a slot is live when its
   * stamp is the current block's, so nothing is cleared between blocks. */
  guint64   *keys;
  guint32   *index;
  gsize     *stamp;
  guint      shift;
  gsize      mask;
  gsize      current;

  guint32   *voxel_slot;  /* per in-bounds voxel of the block, its hash slot */
  guint64   *distinct;
  guint64   *sort_tmp;
  guint32   *table;       /* the block's table as output words */

  TableSlot *tables;
  gsize      tables_mask;
} Encoder;

static inline gsize
hash_u64 (guint64 v,
          guint   shift)
{
  /* Fibonacci hashing: labels are often small consecutive integers, and
   * the top bits of the product spread them. */
  return (gsize) ((v * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)) >> shift);
}

static inline gsize
slot_find (const Encoder *enc,
           guint64        v)
{
  gsize h = hash_u64 (v, enc->shift);

  while (enc->stamp[h] == enc->current && enc->keys[h] != v)
    h = (h + 1) & enc->mask;
  return h;
}

/* Most blocks of a segmentation hold a handful of labels: insertion sort.
 * Noisy blocks hold hundreds: an LSD radix sort, linear in the count
 * whatever the labels, that skips the bytes all of them share (the high
 * bytes of nearby ids). */
static void
sort_u64 (guint64 *v,
          guint64 *tmp,
          gsize    n,
          guint    n_bytes)
{
  guint32 counts[8][256];
  guint64 *src = v, *dst = tmp;

  if (n <= 32)
    {
      for (gsize i = 1; i < n; i++)
        {
          guint64 t = v[i];
          gsize j = i;

          for (; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
          v[j] = t;
        }
      return;
    }

  memset (counts, 0, n_bytes * sizeof counts[0]);
  for (gsize i = 0; i < n; i++)
    for (guint b = 0; b < n_bytes; b++)
      counts[b][(v[i] >> (8 * b)) & 0xff]++;

  for (guint b = 0; b < n_bytes; b++)
    {
      guint32 pos = 0;
      guint64 *t;

      if (counts[b][(src[0] >> (8 * b)) & 0xff] == n)
        continue;
      for (guint d = 0; d < 256; d++)
        {
          guint32 c = counts[b][d];
          counts[b][d] = pos;
          pos += c;
        }
      for (gsize i = 0; i < n; i++)
        dst[counts[b][(src[i] >> (8 * b)) & 0xff]++] = src[i];
      t = src;
      src = dst;
      dst = t;
    }
  if (src != v)
    memcpy (v, src, n * sizeof *v);
}

static void
encoder_reserve (Encoder *enc,
                 gsize    extra)
{
  if (enc->cap - enc->len >= extra)
    return;
  enc->cap = MAX (enc->cap * 2, enc->len + extra);
  enc->words = g_renew (guint32, enc->words, enc->cap);
}

static inline guint32
hash_words (const guint32 *w,
            gsize          n)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (gsize i = 0; i < n; i++)
    h = (h ^ w[i]) * G_GUINT64_CONSTANT (0x100000001b3);
  return (guint32) (h ^ (h >> 32));
}

/* Returns the slot holding an identical table, or the empty slot where it
 * belongs. */
static TableSlot *
table_lookup (Encoder       *enc,
              const guint32 *table,
              gsize          n_words,
              guint32        hash)
{
  gsize h = hash & enc->tables_mask;

  for (;; h = (h + 1) & enc->tables_mask)
    {
      TableSlot *s = &enc->tables[h];

      if (s->n_words == 0)
        return s;
      if (s->hash == hash && s->n_words == n_words &&
          memcmp (enc->words + 1 + s->offset, table, n_words * 4) == 0)
        return s;
    }
}

G_ALWAYS_INLINE static inline guint64
load_voxel (const void *voxels,
            gsize       i,
            gboolean    wide)
{
  return wide ? ((const guint64 *) voxels)[i] : ((const guint32 *) voxels)[i];
}

G_ALWAYS_INLINE static inline gboolean
encode_block (Encoder        *enc,
              const void     *voxels,
              const BlockPos *bp,
              gsize           header,
              gboolean        wide)
{
  gsize label_words = wide ? 2 : 1;
  gsize n = 0, n_in = 0, h = 0;
  guint64 prev;
  guint bits;
  gsize values_offset, values_words, table_words;
  guint32 table_offset, hash;
  TableSlot *slot;

  /* Distinct values, and each voxel's hash slot so that the second pass
   * needs no probe; a voxel equal to its x neighbour skips the probe too,
   * which in a segmentation is most of them. */
  prev = load_voxel (voxels, bp->out_base, wide) + 1;
  for (guint64 z = 0; z < bp->az; z++)
    for (guint64 y = 0; y < bp->ay; y++)
      {
        gsize row = bp->out_base + z * bp->stride_z + y * bp->stride_y;

        for (guint64 x = 0; x < bp->ax; x++)
          {
            guint64 v = load_voxel (voxels, row + x, wide);

            if (v != prev)
              {
                prev = v;
                h = slot_find (enc, v);
                if (enc->stamp[h] != enc->current)
                  {
                    enc->stamp[h] = enc->current;
                    enc->keys[h] = v;
                    enc->distinct[n++] = v;
                  }
              }
            enc->voxel_slot[n_in++] = h;
          }
      }

  /* Sorted tables are what neuroglancer writes, and make equal sets of
   * labels equal tables, so dedup finds them. */
  sort_u64 (enc->distinct, enc->sort_tmp, n, wide ? 8 : 4);
  for (gsize i = 0; i < n; i++)
    {
      enc->index[slot_find (enc, enc->distinct[i])] = i;
      enc->table[i * label_words] = (guint32) enc->distinct[i];
      if (wide)
        enc->table[i * label_words + 1] = (guint32) (enc->distinct[i] >> 32);
    }

  bits = bits_for (n);
  values_offset = enc->len - 1;
  values_words = (bits * bp->block_voxels + 31) / 32;
  table_words = n * label_words;
  hash = hash_words (enc->table, table_words);
  slot = table_lookup (enc, enc->table, table_words, hash);
  if (slot->n_words != 0)
    table_offset = slot->offset;
  else if (values_offset + values_words <= MAX_TABLE_OFFSET)
    table_offset = values_offset + values_words;
  else
    return FALSE;
  if (values_offset > G_MAXUINT32)
    return FALSE;

  encoder_reserve (enc, values_words + (slot->n_words ? 0 : table_words));
  memset (enc->words + enc->len, 0, values_words * 4);

  /* Padding voxels keep index 0: table[0] occurs in the block, so they add
   * no entry. */
  if (bits > 0)
    {
      guint32 *values = enc->words + enc->len;
      const guint32 *vs = enc->voxel_slot;
      const guint32 *index = enc->index;

      /* Each row's indices gather in a register and reach memory once per
       * word; the memset above left the padding at index 0. */
      for (guint64 z = 0; z < bp->az; z++)
        for (guint64 y = 0; y < bp->ay; y++)
          {
            guint64 bit = bits * (bp->bx * (y + bp->by * z));
            gsize word = bit >> 5;
            guint shift = bit & 31;
            guint32 acc = 0;

            for (guint64 x = 0; x < bp->ax; x++)
              {
                acc |= index[*vs++] << shift;
                shift += bits;
                if (shift == 32)
                  {
                    values[word++] |= acc;
                    acc = 0;
                    shift = 0;
                  }
              }
            if (shift != 0)
              values[word] |= acc;
          }
    }
  enc->len += values_words;

  if (slot->n_words == 0)
    {
      memcpy (enc->words + enc->len, enc->table, table_words * 4);
      enc->len += table_words;
      slot->hash = hash;
      slot->n_words = table_words;
      slot->offset = table_offset;
    }

  enc->words[1 + header] = table_offset | (bits << 24);
  enc->words[1 + header + 1] = values_offset;
  return TRUE;
}

static GBytes *
encode_compressed_segmentation (CleaveDataType  type,
                                const void     *voxels,
                                const Geometry *g)
{
  gboolean wide = type == CLEAVE_DATA_TYPE_UINT64;
  Encoder enc = { 0 };
  guint64 max_distinct = 1;
  gsize hash_size = 2, tables_size = 2;
  gboolean ok = TRUE;
  BlockPos bp;

  /* A block holds at most as many distinct values as in-bounds voxels; the
   * hash stays at most half full. */
  for (guint i = 0; i < 3; i++)
    max_distinct *= MIN (g->block[i], g->shape[i]);
  while (hash_size < 2 * max_distinct)
    hash_size *= 2;
  while (tables_size < 2 * g->n_blocks)
    tables_size *= 2;

  enc.keys = g_new (guint64, hash_size);
  enc.index = g_new (guint32, hash_size);
  enc.stamp = g_new0 (gsize, hash_size);
  enc.mask = hash_size - 1;
  enc.shift = 64 - g_bit_storage (enc.mask);
  enc.voxel_slot = g_new (guint32, max_distinct);
  enc.distinct = g_new (guint64, max_distinct);
  enc.sort_tmp = g_new (guint64, max_distinct);
  enc.table = g_new (guint32, max_distinct * (wide ? 2 : 1));
  enc.tables = g_new0 (TableSlot, tables_size);
  enc.tables_mask = tables_size - 1;

  /* Headers, and a first guess at the rest: a few words per block. */
  enc.cap = 1 + 2 * g->n_blocks + 8 * g->n_blocks;
  enc.words = g_new (guint32, enc.cap);
  enc.words[0] = 1;
  enc.len = 1 + 2 * g->n_blocks;

  bp.stride_y = g->shape[0];
  bp.stride_z = g->shape[0] * g->shape[1];
  bp.bx = g->block[0];
  bp.by = g->block[1];
  bp.block_voxels = g->block_voxels;

  for (guint64 gz = 0; ok && gz < g->grid[2]; gz++)
    for (guint64 gy = 0; ok && gy < g->grid[1]; gy++)
      for (guint64 gx = 0; ok && gx < g->grid[0]; gx++)
        {
          guint64 x0 = gx * g->block[0], y0 = gy * g->block[1], z0 = gz * g->block[2];
          gsize header = 2 * (gx + g->grid[0] * (gy + g->grid[1] * gz));

          bp.out_base = x0 + y0 * bp.stride_y + z0 * bp.stride_z;
          bp.ax = MIN (g->block[0], g->shape[0] - x0);
          bp.ay = MIN (g->block[1], g->shape[1] - y0);
          bp.az = MIN (g->block[2], g->shape[2] - z0);
          enc.current++;
          ok = wide ? encode_block (&enc, voxels, &bp, header, TRUE)
                    : encode_block (&enc, voxels, &bp, header, FALSE);
        }

  g_free (enc.keys);
  g_free (enc.index);
  g_free (enc.stamp);
  g_free (enc.voxel_slot);
  g_free (enc.distinct);
  g_free (enc.sort_tmp);
  g_free (enc.table);
  g_free (enc.tables);

  if (!ok)
    {
      g_free (enc.words);
      g_critical ("compressed_segmentation: a %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                  " chunk with these labels needs lookup table offsets beyond 24 bits",
                  g->shape[0], g->shape[1], g->shape[2]);
      return NULL;
    }

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  for (gsize i = 0; i < enc.len; i++)
    enc.words[i] = GUINT32_TO_LE (enc.words[i]);
#endif
  enc.words = g_renew (guint32, enc.words, enc.len);
  return g_bytes_new_take (enc.words, enc.len * 4);
}

GBytes *
cleave_codec_encode (CleaveEncoding  encoding,
                     CleaveDataType  type,
                     const void     *voxels,
                     const guint     shape[3],
                     const guint     block[3])
{
  gboolean blocked = encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION;
  Geometry g;
  gsize size;
  void *buf;

  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (data_types), NULL);
  g_return_val_if_fail ((guint) encoding < G_N_ELEMENTS (encodings), NULL);
  g_return_val_if_fail (shape != NULL, NULL);
  g_return_val_if_fail (!blocked || block != NULL, NULL);
  g_return_val_if_fail (!blocked || type == CLEAVE_DATA_TYPE_UINT32 || type == CLEAVE_DATA_TYPE_UINT64, NULL);
  g_return_val_if_fail (geometry_init (&g, shape, block, data_types[type].size, blocked) == NULL, NULL);
  g_return_val_if_fail (voxels != NULL || g.n_voxels == 0, NULL);

  if (blocked)
    return encode_compressed_segmentation (type, voxels, &g);

  size = g.n_voxels * data_types[type].size;
  buf = g_malloc (size);
  if (size > 0)
    copy_le (buf, voxels, g.n_voxels, data_types[type].size);
  return g_bytes_new_take (buf, size);
}
