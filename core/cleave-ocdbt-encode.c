/* cleave-ocdbt-encode.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-encode.h"

#include <string.h>
#include <zstd.h>

#include "cleave-bytes.h"

GBytes *
cleave_ocdbt_encode_envelope (guint32                  magic,
                              const guint8            *body,
                              gsize                    len,
                              const CleaveOcdbtConfig *config)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (len + 32);
  g_autofree guint8 *packed = NULL;
  const guint8 *payload = body;
  gsize payload_len = len;
  guint64 total;

  if (config->compression == 1)
    {
      gsize bound = ZSTD_compressBound (len);
      size_t n;

      packed = g_malloc (bound);
      n = ZSTD_compress (packed, bound, body, len, config->zstd_level);
      g_assert (!ZSTD_isError (n));   /* the bound is always enough */
      payload = packed;
      payload_len = n;
    }

  cleave_bytes_put_u32be (out, magic);
  cleave_bytes_put_u64le (out, 0);    /* the length, patched below */
  cleave_bytes_put_varint (out, 0);   /* format version */
  cleave_bytes_put_varint (out, config->compression);
  g_byte_array_append (out, payload, payload_len);
  total = GUINT64_TO_LE (out->len + 4);
  memcpy (out->data + 4, &total, 8);
  cleave_bytes_put_u32le (out, cleave_crc32c (out->data, out->len));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* The table of the unique (file, base) pairs an object refers to, sorted
 * by (base path, relative path); @ids maps each pair to its index. Paths
 * are interned, so pairs hash by pointer. */
typedef struct
{
  const char *file;
  const char *base;
} FilePair;

typedef struct
{
  GArray     *files;   /* FilePair */
  GHashTable *ids;     /* FilePair* (owned) -> index */
} FileTable;

static guint
file_pair_hash (gconstpointer p)
{
  const FilePair *f = p;
  return g_direct_hash (f->file) * 31 + g_direct_hash (f->base);
}

static gboolean
file_pair_equal (gconstpointer a,
                 gconstpointer b)
{
  const FilePair *x = a, *y = b;
  return x->file == y->file && x->base == y->base;
}

static void
file_table_init (FileTable *t)
{
  t->files = g_array_new (FALSE, FALSE, sizeof (FilePair));
  t->ids = g_hash_table_new_full (file_pair_hash, file_pair_equal, g_free, NULL);
}

static void
file_table_clear (FileTable *t)
{
  g_array_unref (t->files);
  g_hash_table_unref (t->ids);
}

/* Locations Cleave made itself may leave the base unset: it is "". */
static FilePair
file_pair (const char *file,
           const char *base)
{
  static const char *empty;

  /* Interning takes a global lock; this runs once per encoded entry. */
  if (G_UNLIKELY (empty == NULL))
    empty = g_intern_static_string ("");
  return (FilePair) { file, base ? base : empty };
}

static void
file_table_add (FileTable  *t,
                const char *file,
                const char *base)
{
  FilePair f = file_pair (file, base);

  if (!g_hash_table_contains (t->ids, &f))
    {
      g_hash_table_insert (t->ids, g_memdup2 (&f, sizeof f), NULL);
      g_array_append_val (t->files, f);
    }
}

static int
cmp_pairs (gconstpointer a,
           gconstpointer b)
{
  const FilePair *x = a, *y = b;
  gsize xl = strlen (x->base), yl = strlen (y->base);
  int c = strcmp (x->base, y->base);

  return c != 0 ? c : strcmp (x->file + MIN (xl, strlen (x->file)), y->file + MIN (yl, strlen (y->file)));
}

/* Length of the prefix entry @i shares with entry @i - 1 (0 for the first);
 * it may run past a base path only into an identical one (§4). */
static gsize
path_lcp (FileTable *t,
          guint      i)
{
  const FilePair *x, *y;
  gsize p = 0;

  if (i == 0)
    return 0;
  x = &g_array_index (t->files, FilePair, i - 1);
  y = &g_array_index (t->files, FilePair, i);
  while (x->file[p] && x->file[p] == y->file[p])
    p++;
  if (x->base != y->base)
    p = MIN (p, MIN (strlen (x->base), strlen (y->base)));
  return p;
}

static gsize
key_lcp (const CleaveOcdbtEncodeEntry *entries,
         guint                         i)
{
  gsize p = 0, m;

  if (i == 0)
    return 0;
  m = MIN (entries[i - 1].key_len, entries[i].key_len);
  while (p < m && entries[i - 1].key[p] == entries[i].key[p])
    p++;
  return p;
}

static void
file_table_write (FileTable  *t,
                  GByteArray *out)
{
  g_array_sort (t->files, cmp_pairs);
  for (guint i = 0; i < t->files->len; i++)
    g_hash_table_insert (t->ids, g_memdup2 (&g_array_index (t->files, FilePair, i), sizeof (FilePair)),
                         GUINT_TO_POINTER (i));

  cleave_bytes_put_varint (out, t->files->len);
  for (guint i = 1; i < t->files->len; i++)
    cleave_bytes_put_varint (out, path_lcp (t, i));
  for (guint i = 0; i < t->files->len; i++)
    cleave_bytes_put_varint (out, strlen (g_array_index (t->files, FilePair, i).file) - path_lcp (t, i));
  for (guint i = 0; i < t->files->len; i++)
    cleave_bytes_put_varint (out, strlen (g_array_index (t->files, FilePair, i).base));
  for (guint i = 0; i < t->files->len; i++)
    {
      const char *b = g_array_index (t->files, FilePair, i).file;
      gsize p = path_lcp (t, i);
      g_byte_array_append (out, (const guint8 *) b + p, strlen (b) - p);
    }
}

static guint
file_id (FileTable  *t,
         const char *file,
         const char *base)
{
  FilePair f = file_pair (file, base);

  return GPOINTER_TO_UINT (g_hash_table_lookup (t->ids, &f));
}

GBytes *
cleave_ocdbt_btree_node_encode (guint8                        height,
                                const CleaveOcdbtEncodeEntry *entries,
                                guint                         n,
                                const CleaveOcdbtConfig      *config)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  FileTable table;

  g_assert (n > 0);
  file_table_init (&table);
  for (guint i = 0; i < n; i++)
    {
      if (height > 0)
        file_table_add (&table, entries[i].child.file, entries[i].child.base);
      else if (entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
        file_table_add (&table, entries[i].value_location.file, NULL);
    }

  cleave_bytes_put_u8 (body, height);
  file_table_write (&table, body);
  cleave_bytes_put_varint (body, n);
  for (guint i = 1; i < n; i++)
    cleave_bytes_put_varint (body, key_lcp (entries, i));
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (body, entries[i].key_len - key_lcp (entries, i));
  if (height > 0)
    for (guint i = 0; i < n; i++)
      cleave_bytes_put_varint (body, entries[i].subtree_common_prefix_length);
  for (guint i = 0; i < n; i++)
    {
      gsize p = key_lcp (entries, i);
      g_byte_array_append (body, entries[i].key + p, entries[i].key_len - p);
    }

  if (height == 0)
    {
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].value_length);
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_u8 (body, entries[i].value_kind);
      for (guint i = 0; i < n; i++)
        if (entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
          cleave_bytes_put_varint (body, file_id (&table, entries[i].value_location.file, NULL));
      for (guint i = 0; i < n; i++)
        if (entries[i].value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
          cleave_bytes_put_varint (body, entries[i].value_location.offset);
      for (guint i = 0; i < n; i++)
        if (entries[i].value_kind == CLEAVE_OCDBT_VALUE_INLINE && entries[i].value_length > 0)
          g_byte_array_append (body, entries[i].value, entries[i].value_length);
    }
  else
    {
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, file_id (&table, entries[i].child.file, entries[i].child.base));
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].child.offset);
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].child.length);
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].child_stats.num_keys);
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].child_stats.num_tree_bytes);
      for (guint i = 0; i < n; i++)
        cleave_bytes_put_varint (body, entries[i].child_stats.num_indirect_value_bytes);
    }
  file_table_clear (&table);
  return cleave_ocdbt_encode_envelope (CLEAVE_OCDBT_MAGIC_BTREE_NODE, body->data, body->len, config);
}

/* A missing root is written against an empty-path table entry (§4). */
static const char *
version_root_file (const CleaveOcdbtVersion *v)
{
  return v->root.offset == CLEAVE_OCDBT_MISSING || v->root.file == NULL ? g_intern_static_string ("") : v->root.file;
}

static const char *
version_root_base (const CleaveOcdbtVersion *v)
{
  return v->root.offset == CLEAVE_OCDBT_MISSING ? NULL : v->root.base;
}

static void
add_version_files (FileTable *t,
                   GArray    *versions,
                   GArray    *refs)
{
  for (guint i = 0; versions && i < versions->len; i++)
    file_table_add (t, version_root_file (&g_array_index (versions, CleaveOcdbtVersion, i)),
                    version_root_base (&g_array_index (versions, CleaveOcdbtVersion, i)));
  for (guint i = 0; refs && i < refs->len; i++)
    file_table_add (t, g_array_index (refs, CleaveOcdbtVersionNodeRef, i).location.file,
                    g_array_index (refs, CleaveOcdbtVersionNodeRef, i).location.base);
}

static void
write_version_leaf (GByteArray *out,
                    FileTable  *t,
                    GArray     *versions)
{
  guint n = versions->len;
#define V(i) (&g_array_index (versions, CleaveOcdbtVersion, (i)))
  cleave_bytes_put_varint (out, n);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->generation);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_u8 (out, V (i)->root_height);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, file_id (t, version_root_file (V (i)), version_root_base (V (i))));
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->root.offset);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->root.length);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->stats.num_keys);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->stats.num_tree_bytes);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, V (i)->stats.num_indirect_value_bytes);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_u64le (out, V (i)->commit_time);
#undef V
}

static void
write_version_interior (GByteArray *out,
                        FileTable  *t,
                        GArray     *refs,
                        gboolean    with_height)
{
  guint n = refs->len;
#define R(i) (&g_array_index (refs, CleaveOcdbtVersionNodeRef, (i)))
  cleave_bytes_put_varint (out, n);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, R (i)->generation);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, file_id (t, R (i)->location.file, R (i)->location.base));
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, R (i)->location.offset);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, R (i)->location.length);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_varint (out, R (i)->num_generations);
  for (guint i = 0; i < n; i++)
    cleave_bytes_put_u64le (out, R (i)->commit_time);
  if (with_height)
    for (guint i = 0; i < n; i++)
      cleave_bytes_put_u8 (out, R (i)->height);
#undef R
}

GBytes *
cleave_ocdbt_version_node_encode (const CleaveOcdbtVersionNode *node,
                                  const CleaveOcdbtConfig      *config)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  FileTable table;

  file_table_init (&table);
  add_version_files (&table, node->height == 0 ? node->versions : NULL, node->height ? node->children : NULL);
  cleave_bytes_put_u8 (body, config->version_tree_arity_log2);
  cleave_bytes_put_u8 (body, node->height);
  file_table_write (&table, body);
  if (node->height == 0)
    write_version_leaf (body, &table, node->versions);
  else
    write_version_interior (body, &table, node->children, FALSE);
  file_table_clear (&table);
  return cleave_ocdbt_encode_envelope (CLEAVE_OCDBT_MAGIC_VERSION_NODE, body->data, body->len, config);
}

GBytes *
cleave_ocdbt_manifest_encode (const CleaveOcdbtManifest *m)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  const CleaveOcdbtConfig *c = &m->config;
  FileTable table;

  g_byte_array_append (body, c->uuid, 16);
  cleave_bytes_put_u8 (body, c->manifest_kind);
  cleave_bytes_put_varint (body, c->max_inline_value_bytes);
  cleave_bytes_put_varint (body, c->max_decoded_node_bytes);
  cleave_bytes_put_u8 (body, c->version_tree_arity_log2);
  cleave_bytes_put_varint (body, c->compression);
  if (c->compression == 1)
    cleave_bytes_put_u32le (body, (guint32) c->zstd_level);

  file_table_init (&table);
  add_version_files (&table, m->versions, m->version_nodes);
  file_table_write (&table, body);
  write_version_leaf (body, &table, m->versions);
  write_version_interior (body, &table, m->version_nodes, TRUE);
  file_table_clear (&table);
  return cleave_ocdbt_encode_envelope (CLEAVE_OCDBT_MAGIC_MANIFEST, body->data, body->len, c);
}
