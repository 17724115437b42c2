/* cleave-ocdbt-format.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-format.h"

#include <string.h>
#include <zstd.h>

#include "cleave-bytes.h"

G_DEFINE_QUARK (cleave-ocdbt-error-quark, cleave_ocdbt_error)

/* Envelope header: magic, length, and at least one byte each of version and
 * compression; then the crc. */
#define ENVELOPE_MIN_SIZE (4 + 8 + 1 + 1 + 4)
/* A decoded object larger than this is refused rather than allocated: no
 * writer makes one (nodes stay under max_decoded_node_bytes, 8 MiB by
 * default), and a corrupt frame must not exhaust memory. */
#define MAX_DECODED_SIZE (G_GUINT64_CONSTANT (1) << 30)
#define MAX_NODE_ENTRIES 1048576
#define MAX_PATH_LENGTH 65535
#define MAX_KEY_LENGTH 65535

#define CORRUPT(r, ...) \
  cleave_reader_set_error ((r), error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT, __VA_ARGS__)
#define TRY(expr) G_STMT_START { if (!(expr)) goto fail; } G_STMT_END

/* Errors from the byte reader (truncation, overflow, trailing bytes) mean
 * the object is corrupt: report them in this module's domain. */
static void
as_corrupt (GError **error)
{
  if (error && *error && (*error)->domain != CLEAVE_OCDBT_ERROR)
    {
      (*error)->domain = CLEAVE_OCDBT_ERROR;
      (*error)->code = CLEAVE_OCDBT_ERROR_CORRUPT;
    }
}

int
cleave_ocdbt_key_cmp (const guint8 *a,
                      gsize         a_len,
                      const guint8 *b,
                      gsize         b_len)
{
  int c = MIN (a_len, b_len) ? memcmp (a, b, MIN (a_len, b_len)) : 0;

  if (c != 0)
    return c;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

const guint8 *
cleave_ocdbt_entry_key (const CleaveOcdbtBtreeNode *node,
                        guint                       i)
{
  return node->keys->data + node->entries[i].key_offset;
}

static GBytes *
zstd_decompress (const guint8 *src,
                 gsize         len,
                 CleaveReader *r,
                 GError      **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  ZSTD_DStream *ds = ZSTD_createDStream ();
  ZSTD_inBuffer in = { src, len, 0 };
  gsize filled = 0;

  ZSTD_initDStream (ds);
  for (;;)
    {
      ZSTD_outBuffer ob;
      size_t ret;

      if (out->len - filled < ZSTD_DStreamOutSize ())
        g_byte_array_set_size (out, filled + MAX (ZSTD_DStreamOutSize (), filled));
      ob = (ZSTD_outBuffer) { out->data + filled, out->len - filled, 0 };
      ret = ZSTD_decompressStream (ds, &ob, &in);
      filled += ob.pos;
      if (ZSTD_isError (ret))
        {
          CORRUPT (r, "zstd: %s", ZSTD_getErrorName (ret));
          goto fail;
        }
      if (filled > MAX_DECODED_SIZE)
        {
          CORRUPT (r, "zstd body decodes to more than %" G_GUINT64_FORMAT " bytes", MAX_DECODED_SIZE);
          goto fail;
        }
      if (ret == 0)
        break;
      if (in.pos == in.size && ob.pos < ob.size)
        {
          CORRUPT (r, "zstd frame is truncated");
          goto fail;
        }
    }
  if (in.pos != in.size)
    {
      CORRUPT (r, "%" G_GSIZE_FORMAT " bytes after the end of the zstd frame", in.size - in.pos);
      goto fail;
    }
  ZSTD_freeDStream (ds);
  g_byte_array_set_size (out, filled);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));

fail:
  ZSTD_freeDStream (ds);
  return NULL;
}

GBytes *
cleave_ocdbt_decode_envelope (const guint8 *data,
                              gsize         len,
                              guint32       magic,
                              const char   *what,
                              gsize         base_offset,
                              GError      **error)
{
  CleaveReader r;
  guint32 got_magic, stored_crc, crc;
  guint64 length, version, compression;
  gsize body_start;

  cleave_reader_init (&r, data, len, what, base_offset);
  if (len < ENVELOPE_MIN_SIZE)
    {
      CORRUPT (&r, "%" G_GSIZE_FORMAT " bytes is too short for an OCDBT object", len);
      return NULL;
    }
  TRY (cleave_reader_u32be (&r, &got_magic, error));
  if (got_magic != magic)
    {
      r.pos = 0;
      CORRUPT (&r, "wrong magic 0x%08x, expected 0x%08x", got_magic, magic);
      return NULL;
    }
  TRY (cleave_reader_u64le (&r, &length, error));
  if (length != len)
    {
      r.pos = 4;
      CORRUPT (&r, "length field says %" G_GUINT64_FORMAT " bytes, the object has %" G_GSIZE_FORMAT,
               length, len);
      return NULL;
    }
  memcpy (&stored_crc, data + len - 4, 4);
  stored_crc = GUINT32_FROM_LE (stored_crc);
  crc = cleave_crc32c (data, len - 4);
  if (crc != stored_crc)
    {
      r.pos = len - 4;
      CORRUPT (&r, "crc32c mismatch: stored 0x%08x, computed 0x%08x", stored_crc, crc);
      return NULL;
    }
  r.len = len - 4;
  TRY (cleave_reader_varint (&r, &version, error));
  if (version != 0)
    {
      cleave_reader_set_error (&r, error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                               "format version %" G_GUINT64_FORMAT " (only 0 is known)", version);
      return NULL;
    }
  TRY (cleave_reader_varint (&r, &compression, error));
  body_start = r.pos;
  if (compression == 0)
    return g_bytes_new (data + body_start, r.len - body_start);
  if (compression == 1)
    return zstd_decompress (data + body_start, r.len - body_start, &r, error);
  r.pos = body_start - 1;
  cleave_reader_set_error (&r, error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                           "unknown compression %" G_GUINT64_FORMAT, compression);
  return NULL;

fail:
  as_corrupt (error);
  return NULL;
}

/* §4: the data file table. Fills @files and @bases (interned, prefixed with
 * the transitive path @transitive). */
static gboolean
read_data_file_table (CleaveReader  *r,
                      const char    *transitive,
                      GPtrArray    **files_out,
                      GPtrArray    **bases_out,
                      GError       **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  g_autoptr(GPtrArray) bases = g_ptr_array_new ();
  g_autofree guint64 *prefix = NULL;
  g_autofree guint64 *suffix = NULL;
  g_autofree guint64 *base_len = NULL;
  g_autoptr(GString) prev = g_string_new (NULL);
  g_autoptr(GString) cur = g_string_new (NULL);
  guint64 n;

  TRY (cleave_reader_varint (r, &n, error));
  /* Each entry takes at least two bytes of lengths: bounds the allocation. */
  if (n > cleave_reader_remaining (r))
    {
      CORRUPT (r, "data file table claims %" G_GUINT64_FORMAT " entries", n);
      return FALSE;
    }
  prefix = g_new0 (guint64, n + 1);
  suffix = g_new0 (guint64, n + 1);
  base_len = g_new0 (guint64, n + 1);
  for (guint64 i = 1; i < n; i++)
    TRY (cleave_reader_varint_max (r, MAX_PATH_LENGTH, "path prefix length", &prefix[i], error));
  for (guint64 i = 0; i < n; i++)
    TRY (cleave_reader_varint_max (r, MAX_PATH_LENGTH, "path suffix length", &suffix[i], error));
  for (guint64 i = 0; i < n; i++)
    TRY (cleave_reader_varint_max (r, MAX_PATH_LENGTH, "base path length", &base_len[i], error));

  for (guint64 i = 0; i < n; i++)
    {
      const guint8 *bytes;
      g_autofree char *full = NULL;
      g_autofree char *base_path = NULL;
      g_autofree char *base = NULL;

      if (prefix[i] > prev->len)
        {
          CORRUPT (r, "data file %" G_GUINT64_FORMAT ": prefix length %" G_GUINT64_FORMAT
                   " exceeds the previous path", i, prefix[i]);
          return FALSE;
        }
      TRY (cleave_reader_bytes (r, suffix[i], &bytes, error));
      g_string_truncate (cur, 0);
      g_string_append_len (cur, prev->str, prefix[i]);
      g_string_append_len (cur, (const char *) bytes, suffix[i]);
      if (cur->len > MAX_PATH_LENGTH || base_len[i] > cur->len || memchr (cur->str, '\0', cur->len))
        {
          CORRUPT (r, "data file %" G_GUINT64_FORMAT ": invalid path", i);
          return FALSE;
        }
      if (i > 0 && prefix[i] > MIN (base_len[i - 1], base_len[i]) &&
          (base_len[i] != base_len[i - 1] || memcmp (prev->str, cur->str, base_len[i]) != 0))
        {
          CORRUPT (r, "data file %" G_GUINT64_FORMAT ": shared prefix crosses different base paths", i);
          return FALSE;
        }
      full = g_strconcat (transitive, cur->str, NULL);
      base_path = g_strndup (cur->str, base_len[i]);
      base = g_strconcat (transitive, base_path, NULL);
      if (strlen (full) > MAX_PATH_LENGTH)
        {
          CORRUPT (r, "data file %" G_GUINT64_FORMAT ": path longer than %d bytes", i, MAX_PATH_LENGTH);
          return FALSE;
        }
      g_ptr_array_add (files, (gpointer) g_intern_string (full));
      g_ptr_array_add (bases, (gpointer) g_intern_string (base));
      g_string_assign (prev, cur->str);
    }

  *files_out = g_steal_pointer (&files);
  *bases_out = g_steal_pointer (&bases);
  return TRUE;

fail:
  as_corrupt (error);
  return FALSE;
}

/* Reads @n varints into @out, each checked against @max. */
static gboolean
read_column (CleaveReader *r,
             guint64       n,
             guint64      *out,
             guint64       max,
             const char   *field,
             GError      **error)
{
  for (guint64 i = 0; i < n; i++)
    if (!cleave_reader_varint_max (r, max, field, &out[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
resolve_file (CleaveReader        *r,
              GPtrArray           *files,
              GPtrArray           *bases,
              guint64              file_id,
              CleaveOcdbtLocation *loc,
              GError             **error)
{
  if (file_id >= files->len)
    {
      CORRUPT (r, "data file id %" G_GUINT64_FORMAT " is out of range (table has %u)", file_id, files->len);
      return FALSE;
    }
  loc->file = files->pdata[file_id];
  loc->base = bases->pdata[file_id];
  return TRUE;
}

static gboolean
check_range (CleaveReader *r,
             guint64       offset,
             guint64       length,
             GError      **error)
{
  if (offset > G_MAXINT64 || length > G_MAXINT64 - offset)
    {
      CORRUPT (r, "reference [%" G_GUINT64_FORMAT ", +%" G_GUINT64_FORMAT ") is out of range", offset, length);
      return FALSE;
    }
  return TRUE;
}

/* §6.1: version-tree leaf entries (the manifest's inline versions, and
 * height-0 version nodes). */
static gboolean
read_version_leaf (CleaveReader *r,
                   GPtrArray    *files,
                   GPtrArray    *bases,
                   guint8        arity_log2,
                   GArray       *versions,
                   GError      **error)
{
  guint64 n, arity = G_GUINT64_CONSTANT (1) << arity_log2;
  g_autofree guint64 *cols = NULL;
  guint64 *gen, *file_id, *offset, *length, *nk, *ntb, *nivb;
  g_autofree guint8 *height = NULL;

  TRY (cleave_reader_varint (r, &n, error));
  if (n == 0 || n > arity)
    {
      CORRUPT (r, "%" G_GUINT64_FORMAT " versions in a leaf (1 to %" G_GUINT64_FORMAT " allowed)", n, arity);
      return FALSE;
    }
  cols = g_new0 (guint64, 7 * n);
  gen = cols; file_id = cols + n; offset = cols + 2 * n; length = cols + 3 * n;
  nk = cols + 4 * n; ntb = cols + 5 * n; nivb = cols + 6 * n;
  height = g_new0 (guint8, n);

  TRY (read_column (r, n, gen, G_MAXUINT64, "generation", error));
  for (guint64 i = 0; i < n; i++)
    TRY (cleave_reader_u8 (r, &height[i], error));
  TRY (read_column (r, n, file_id, G_MAXUINT32, "data file id", error));
  TRY (read_column (r, n, offset, G_MAXUINT64, "offset", error));
  TRY (read_column (r, n, length, G_MAXUINT64, "length", error));
  TRY (read_column (r, n, nk, G_MAXUINT64, "num_keys", error));
  TRY (read_column (r, n, ntb, G_MAXUINT64, "num_tree_bytes", error));
  TRY (read_column (r, n, nivb, G_MAXUINT64, "num_indirect_value_bytes", error));

  for (guint64 i = 0; i < n; i++)
    {
      CleaveOcdbtVersion v = { 0 };

      TRY (cleave_reader_u64le (r, &v.commit_time, error));
      v.generation = gen[i];
      v.root_height = height[i];
      v.root.offset = offset[i];
      v.root.length = length[i];
      v.stats = (CleaveOcdbtStats) { nk[i], ntb[i], nivb[i] };
      if (v.generation == 0 || (i > 0 && v.generation <= gen[i - 1]))
        {
          CORRUPT (r, "version generations are not strictly increasing from 1 (%" G_GUINT64_FORMAT ")",
                   v.generation);
          return FALSE;
        }
      TRY (resolve_file (r, files, bases, file_id[i], &v.root, error));
      if (offset[i] == CLEAVE_OCDBT_MISSING || length[i] == CLEAVE_OCDBT_MISSING)
        {
          if (offset[i] != length[i] || nk[i] || ntb[i] || nivb[i])
            {
              CORRUPT (r, "generation %" G_GUINT64_FORMAT ": malformed missing root", v.generation);
              return FALSE;
            }
          v.root.offset = v.root.length = CLEAVE_OCDBT_MISSING;
        }
      else
        TRY (check_range (r, offset[i], length[i], error));
      g_array_append_val (versions, v);
    }

  /* All of one leaf lies in one aligned block of 2^arity_log2 generations. */
  if ((gen[0] - 1) >> arity_log2 != (gen[n - 1] - 1) >> arity_log2)
    {
      CORRUPT (r, "generations %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " span two aligned leaf blocks",
               gen[0], gen[n - 1]);
      return FALSE;
    }
  return TRUE;

fail:
  as_corrupt (error);
  return FALSE;
}

/* §6.2: interior entries; the manifest's version_nodes carry a height
 * column (@with_height), a node's children have height @node_height - 1. */
static gboolean
read_version_interior (CleaveReader *r,
                       GPtrArray    *files,
                       GPtrArray    *bases,
                       guint8        arity_log2,
                       gboolean      with_height,
                       guint8        node_height,
                       GArray       *refs,
                       GError      **error)
{
  guint64 n;
  g_autofree guint64 *cols = NULL;
  guint64 *gen, *file_id, *offset, *length, *ngen;
  guint max_height = 63 / arity_log2;

  TRY (cleave_reader_varint (r, &n, error));
  /* A manifest with fewer generations than one leaf holds has no version nodes. */
  if (n == 0 && with_height)
    return TRUE;
  if (n == 0 || n > (with_height ? max_height : (G_GUINT64_CONSTANT (1) << arity_log2)))
    {
      CORRUPT (r, "%" G_GUINT64_FORMAT " version-tree node references", n);
      return FALSE;
    }
  cols = g_new0 (guint64, 5 * n);
  gen = cols; file_id = cols + n; offset = cols + 2 * n; length = cols + 3 * n; ngen = cols + 4 * n;

  TRY (read_column (r, n, gen, G_MAXUINT64, "generation", error));
  TRY (read_column (r, n, file_id, G_MAXUINT32, "data file id", error));
  TRY (read_column (r, n, offset, G_MAXUINT64, "offset", error));
  TRY (read_column (r, n, length, G_MAXUINT64, "length", error));
  TRY (read_column (r, n, ngen, G_MAXUINT64, "num_generations", error));

  for (guint64 i = 0; i < n; i++)
    {
      CleaveOcdbtVersionNodeRef ref = { 0 };

      TRY (cleave_reader_u64le (r, &ref.commit_time, error));
      ref.generation = gen[i];
      ref.num_generations = ngen[i];
      ref.location.offset = offset[i];
      ref.location.length = length[i];
      ref.height = with_height ? 0 : node_height - 1;
      TRY (resolve_file (r, files, bases, file_id[i], &ref.location, error));
      TRY (check_range (r, offset[i], length[i], error));
      if (gen[i] == 0 || (i > 0 && gen[i] <= gen[i - 1]) || ngen[i] == 0 || ngen[i] > gen[i])
        {
          CORRUPT (r, "version-tree reference %" G_GUINT64_FORMAT ": bad generation %" G_GUINT64_FORMAT
                   " or count %" G_GUINT64_FORMAT, i, gen[i], ngen[i]);
          return FALSE;
        }
      g_array_append_val (refs, ref);
    }

  if (with_height)
    {
      for (guint64 i = 0; i < n; i++)
        {
          CleaveOcdbtVersionNodeRef *ref = &g_array_index (refs, CleaveOcdbtVersionNodeRef, refs->len - n + i);

          TRY (cleave_reader_u8 (r, &ref->height, error));
          if (ref->height == 0 || ref->height > max_height ||
              (i > 0 && ref->height >= g_array_index (refs, CleaveOcdbtVersionNodeRef, refs->len - n + i - 1).height))
            {
              CORRUPT (r, "manifest version-node heights are not strictly decreasing (%u)", ref->height);
              return FALSE;
            }
        }
    }
  else
    {
      /* The children of a height-h node are full: each holds S = 2^(a*h)
       * generations, ends on a multiple of S, and all sit in one S*A block. */
      guint shift = arity_log2 * node_height;
      guint64 stride = G_GUINT64_CONSTANT (1) << shift;

      if ((node_height + 1) * arity_log2 >= 64)
        {
          CORRUPT (r, "version-tree node height %u is too large", node_height);
          return FALSE;
        }
      for (guint64 i = 0; i < n; i++)
        if (gen[i] % stride != 0 || ngen[i] > stride ||
            (gen[i] - 1) >> (shift + arity_log2) != (gen[0] - 1) >> (shift + arity_log2))
          {
            CORRUPT (r, "version-tree child %" G_GUINT64_FORMAT " (generation %" G_GUINT64_FORMAT
                     ") breaks the height-%u alignment", i, gen[i], node_height);
            return FALSE;
          }
    }
  return TRUE;

fail:
  as_corrupt (error);
  return FALSE;
}

static gboolean
read_config (CleaveReader      *r,
             CleaveOcdbtConfig *config,
             GError           **error)
{
  const guint8 *uuid;
  guint64 v;

  TRY (cleave_reader_bytes (r, 16, &uuid, error));
  memcpy (config->uuid, uuid, 16);
  TRY (cleave_reader_u8 (r, &config->manifest_kind, error));
  if (config->manifest_kind > 1)
    {
      r->pos--;
      CORRUPT (r, "unknown manifest kind %u", config->manifest_kind);
      return FALSE;
    }
  TRY (cleave_reader_varint_max (r, 1048576, "max_inline_value_bytes", &v, error));
  config->max_inline_value_bytes = v;
  TRY (cleave_reader_varint_max (r, G_MAXUINT32, "max_decoded_node_bytes", &v, error));
  config->max_decoded_node_bytes = v;
  TRY (cleave_reader_u8 (r, &config->version_tree_arity_log2, error));
  if (config->version_tree_arity_log2 < 1 || config->version_tree_arity_log2 > 16)
    {
      r->pos--;
      CORRUPT (r, "version_tree_arity_log2 %u is outside 1..16", config->version_tree_arity_log2);
      return FALSE;
    }
  TRY (cleave_reader_varint (r, &v, error));
  if (v > 1)
    {
      cleave_reader_set_error (r, error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                               "unknown compression method %" G_GUINT64_FORMAT, v);
      return FALSE;
    }
  config->compression = v;
  config->zstd_level = 0;
  if (config->compression == 1)
    {
      guint32 level;

      TRY (cleave_reader_u32le (r, &level, error));
      config->zstd_level = (gint32) level;
      if (config->zstd_level < ZSTD_minCLevel () || config->zstd_level > ZSTD_maxCLevel ())
        {
          CORRUPT (r, "zstd level %d is outside zstd's range", config->zstd_level);
          return FALSE;
        }
    }
  return TRUE;

fail:
  as_corrupt (error);
  return FALSE;
}

gboolean
cleave_ocdbt_version_slot (guint64  latest,
                           guint    arity_log2,
                           guint    height,
                           guint64 *lo,
                           guint64 *hi)
{
  guint64 g = ((latest - 1) >> arity_log2) << arity_log2;

  for (guint h = 1; g != 0; h++)
    {
      guint shift = (h + 1) * arity_log2;
      guint64 next = shift >= 64 ? 0 : ((g - 1) >> shift) << shift;

      if (h == height)
        {
          *lo = next + 1;
          *hi = g;
          return TRUE;
        }
      g = next;
    }
  return FALSE;
}

void
cleave_ocdbt_manifest_free (CleaveOcdbtManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_clear_pointer (&manifest->versions, g_array_unref);
  g_clear_pointer (&manifest->version_nodes, g_array_unref);
  g_free (manifest);
}

CleaveOcdbtManifest *
cleave_ocdbt_manifest_copy (const CleaveOcdbtManifest *manifest)
{
  CleaveOcdbtManifest *copy = g_new0 (CleaveOcdbtManifest, 1);

  copy->config = manifest->config;
  copy->versions = g_array_copy (manifest->versions);
  copy->version_nodes = g_array_copy (manifest->version_nodes);
  return copy;
}

CleaveOcdbtManifest *
cleave_ocdbt_manifest_decode (const guint8 *data,
                              gsize         len,
                              const char   *what,
                              GError      **error)
{
  g_autoptr(CleaveOcdbtManifest) m = g_new0 (CleaveOcdbtManifest, 1);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) bases = NULL;
  g_autofree char *body_what = NULL;
  guint64 latest;
  CleaveReader r;

  body = cleave_ocdbt_decode_envelope (data, len, CLEAVE_OCDBT_MAGIC_MANIFEST, what, 0, error);
  if (body == NULL)
    return NULL;

  body_what = g_strdup_printf ("%s (manifest body)", what);
  cleave_reader_init (&r, g_bytes_get_data (body, NULL), g_bytes_get_size (body), body_what, 0);
  m->versions = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion));
  m->version_nodes = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));

  TRY (read_config (&r, &m->config, error));
  if (m->config.manifest_kind == 1)
    {
      /* The numbered kind keeps only the config here; the store looks for
       * the manifest.%016x files. */
      TRY (cleave_reader_expect_end (&r, error));
      return g_steal_pointer (&m);
    }
  TRY (read_data_file_table (&r, "", &files, &bases, error));
  TRY (read_version_leaf (&r, files, bases, m->config.version_tree_arity_log2, m->versions, error));
  TRY (read_version_interior (&r, files, bases, m->config.version_tree_arity_log2, TRUE, 0,
                              m->version_nodes, error));
  TRY (cleave_reader_expect_end (&r, error));

  /* §6.4: each version node sits in the slot of its height for the latest
   * generation G, and the inline versions in G's leaf block. */
  latest = g_array_index (m->versions, CleaveOcdbtVersion, m->versions->len - 1).generation;
  for (guint i = 0; i < m->version_nodes->len; i++)
    {
      CleaveOcdbtVersionNodeRef *ref = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);
      guint64 lo, hi;

      if (!cleave_ocdbt_version_slot (latest, m->config.version_tree_arity_log2, ref->height, &lo, &hi) ||
          ref->generation < lo || ref->generation > hi)
        {
          r.pos = 0;
          CORRUPT (&r, "version node of height %u (generation %" G_GUINT64_FORMAT
                   ") is outside its slot for latest generation %" G_GUINT64_FORMAT,
                   ref->height, ref->generation, latest);
          return NULL;
        }
    }
  return g_steal_pointer (&m);

fail:
  as_corrupt (error);
  return NULL;
}

void
cleave_ocdbt_version_node_free (CleaveOcdbtVersionNode *node)
{
  if (node == NULL)
    return;
  g_clear_pointer (&node->versions, g_array_unref);
  g_clear_pointer (&node->children, g_array_unref);
  g_free (node);
}

static char *
location_what (const CleaveOcdbtLocation *location,
               const char                *kind)
{
  return g_strdup_printf ("%s (%s at offset %" G_GUINT64_FORMAT ", decoded)", location->file, kind,
                          location->offset);
}

CleaveOcdbtVersionNode *
cleave_ocdbt_version_node_decode (const guint8              *data,
                                  gsize                      len,
                                  const CleaveOcdbtLocation *location,
                                  guint8                     arity_log2,
                                  GError                   **error)
{
  g_autoptr(CleaveOcdbtVersionNode) node = g_new0 (CleaveOcdbtVersionNode, 1);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) bases = NULL;
  g_autofree char *what = location_what (location, "version node");
  guint8 node_arity;
  CleaveReader r;

  body = cleave_ocdbt_decode_envelope (data, len, CLEAVE_OCDBT_MAGIC_VERSION_NODE, location->file,
                                       location->offset, error);
  if (body == NULL)
    return NULL;

  cleave_reader_init (&r, g_bytes_get_data (body, NULL), g_bytes_get_size (body), what, 0);
  TRY (cleave_reader_u8 (&r, &node_arity, error));
  if (node_arity != arity_log2)
    {
      r.pos = 0;
      CORRUPT (&r, "arity_log2 %u differs from the manifest's %u", node_arity, arity_log2);
      return NULL;
    }
  TRY (cleave_reader_u8 (&r, &node->height, error));
  TRY (read_data_file_table (&r, location->base, &files, &bases, error));
  if (node->height == 0)
    {
      node->versions = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion));
      TRY (read_version_leaf (&r, files, bases, arity_log2, node->versions, error));
    }
  else
    {
      node->children = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));
      TRY (read_version_interior (&r, files, bases, arity_log2, FALSE, node->height, node->children, error));
    }
  TRY (cleave_reader_expect_end (&r, error));
  return g_steal_pointer (&node);

fail:
  as_corrupt (error);
  return NULL;
}

void
cleave_ocdbt_btree_node_free (CleaveOcdbtBtreeNode *node)
{
  if (node == NULL)
    return;
  g_free (node->entries);
  g_clear_pointer (&node->keys, g_byte_array_unref);
  g_clear_pointer (&node->body, g_bytes_unref);
  g_free (node);
}

CleaveOcdbtBtreeNode *
cleave_ocdbt_btree_node_decode (const guint8              *data,
                                gsize                      len,
                                const CleaveOcdbtLocation *location,
                                GError                   **error)
{
  g_autoptr(CleaveOcdbtBtreeNode) node = g_new0 (CleaveOcdbtBtreeNode, 1);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) bases = NULL;
  g_autofree char *what = location_what (location, "b+tree node");
  g_autofree guint64 *cols = NULL;
  guint64 *prefix, *suffix, *common;
  const guint8 *body_data;
  guint64 n;
  CleaveReader r;

  node->body = cleave_ocdbt_decode_envelope (data, len, CLEAVE_OCDBT_MAGIC_BTREE_NODE, location->file,
                                             location->offset, error);
  if (node->body == NULL)
    return NULL;

  body_data = g_bytes_get_data (node->body, NULL);
  cleave_reader_init (&r, body_data, g_bytes_get_size (node->body), what, 0);
  node->decoded_size = g_bytes_get_size (node->body);
  TRY (cleave_reader_u8 (&r, &node->height, error));
  TRY (read_data_file_table (&r, location->base, &files, &bases, error));
  TRY (cleave_reader_varint (&r, &n, error));
  if (n == 0 || n > MAX_NODE_ENTRIES || n > cleave_reader_remaining (&r))
    {
      CORRUPT (&r, "%" G_GUINT64_FORMAT " entries in a b+tree node", n);
      return NULL;
    }
  node->n_entries = n;
  node->entries = g_new0 (CleaveOcdbtEntry, n);
  cols = g_new0 (guint64, 3 * n);
  prefix = cols; suffix = cols + n; common = cols + 2 * n;

  for (guint64 i = 1; i < n; i++)
    TRY (cleave_reader_varint_max (&r, MAX_KEY_LENGTH, "key prefix length", &prefix[i], error));
  TRY (read_column (&r, n, suffix, MAX_KEY_LENGTH, "key suffix length", error));
  if (node->height > 0)
    TRY (read_column (&r, n, common, MAX_KEY_LENGTH, "subtree common prefix length", error));

  /* Sized, so the buffer exists even when every key is empty (a valid
   * node may hold just the empty key). */
  node->keys = g_byte_array_sized_new (64);
  for (guint64 i = 0; i < n; i++)
    {
      CleaveOcdbtEntry *e = &node->entries[i];
      const guint8 *suf;
      guint32 prev_off = i ? node->entries[i - 1].key_offset : 0;
      guint32 prev_len = i ? node->entries[i - 1].key_length : 0;

      if (prefix[i] > prev_len || prefix[i] + suffix[i] > MAX_KEY_LENGTH)
        {
          CORRUPT (&r, "entry %" G_GUINT64_FORMAT ": key prefix length %" G_GUINT64_FORMAT
                   " exceeds the previous key", i, prefix[i]);
          return NULL;
        }
      TRY (cleave_reader_bytes (&r, suffix[i], &suf, error));
      e->key_offset = node->keys->len;
      e->key_length = prefix[i] + suffix[i];
      /* Append the shared prefix from the previous key (in this buffer). */
      g_byte_array_set_size (node->keys, node->keys->len + e->key_length);
      memcpy (node->keys->data + e->key_offset, node->keys->data + prev_off, prefix[i]);
      memcpy (node->keys->data + e->key_offset + prefix[i], suf, suffix[i]);
      if (i > 0 && cleave_ocdbt_key_cmp (node->keys->data + prev_off, prev_len,
                                         node->keys->data + e->key_offset, e->key_length) >= 0)
        {
          CORRUPT (&r, "entry %" G_GUINT64_FORMAT ": keys are not strictly increasing", i);
          return NULL;
        }
      if (common[i] > e->key_length)
        {
          CORRUPT (&r, "entry %" G_GUINT64_FORMAT ": subtree common prefix longer than the key", i);
          return NULL;
        }
      e->subtree_common_prefix_length = common[i];
    }

  if (node->height == 0)
    {
      for (guint64 i = 0; i < n; i++)
        TRY (cleave_reader_varint (&r, &node->entries[i].value_length, error));
      for (guint64 i = 0; i < n; i++)
        {
          guint8 kind;

          TRY (cleave_reader_u8 (&r, &kind, error));
          if (kind > 1)
            {
              r.pos--;
              CORRUPT (&r, "entry %" G_GUINT64_FORMAT ": unknown value kind %u", i, kind);
              return NULL;
            }
          node->entries[i].value_kind = kind;
        }
      for (guint64 i = 0; i < n; i++)
        if (node->entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
          {
            guint64 file_id;
            CleaveOcdbtLocation loc = { 0 };

            TRY (cleave_reader_varint (&r, &file_id, error));
            TRY (resolve_file (&r, files, bases, file_id, &loc, error));
            node->entries[i].value_file = loc.file;
          }
      for (guint64 i = 0; i < n; i++)
        if (node->entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
          {
            TRY (cleave_reader_varint (&r, &node->entries[i].value_offset, error));
            TRY (check_range (&r, node->entries[i].value_offset, node->entries[i].value_length, error));
          }
      for (guint64 i = 0; i < n; i++)
        if (node->entries[i].value_kind == CLEAVE_OCDBT_VALUE_INLINE)
          {
            const guint8 *v;

            if (node->entries[i].value_length > 1048576)
              {
                CORRUPT (&r, "entry %" G_GUINT64_FORMAT ": inline value of %" G_GUINT64_FORMAT " bytes",
                         i, node->entries[i].value_length);
                return NULL;
              }
            TRY (cleave_reader_bytes (&r, node->entries[i].value_length, &v, error));
            node->entries[i].value_offset = v - body_data;
          }
    }
  else
    {
      g_autofree guint64 *refs = g_new0 (guint64, 6 * n);

      TRY (read_column (&r, n, refs, G_MAXUINT32, "data file id", error));
      TRY (read_column (&r, 5 * n, refs + n, G_MAXUINT64, "child reference", error));
      for (guint64 i = 0; i < n; i++)
        {
          CleaveOcdbtEntry *e = &node->entries[i];

          TRY (resolve_file (&r, files, bases, refs[i], &e->child, error));
          e->child.offset = refs[n + i];
          e->child.length = refs[2 * n + i];
          TRY (check_range (&r, e->child.offset, e->child.length, error));
          e->child_stats = (CleaveOcdbtStats) { refs[3 * n + i], refs[4 * n + i], refs[5 * n + i] };
        }
    }
  TRY (cleave_reader_expect_end (&r, error));
  node->decoded_size += node->keys->len + n * sizeof (CleaveOcdbtEntry);
  return g_steal_pointer (&node);

fail:
  as_corrupt (error);
  return NULL;
}
