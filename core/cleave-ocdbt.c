/* cleave-ocdbt.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt.h"
#include "cleave-ocdbt-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
_cleave_ocdbt_set_io_error (GError    **error,
              int         errsv,
              const char *path,
              const char *doing)
{
  g_set_error (error, CLEAVE_OCDBT_ERROR,
               errsv == ENOENT ? CLEAVE_OCDBT_ERROR_NOT_FOUND : CLEAVE_OCDBT_ERROR_IO,
               "%s: %s: %s", path, doing, g_strerror (errsv));
}

/* The directory a data file is in: a fork reads what it did not write
 * from its base. */
static const char *
data_dir (CleaveOcdbt *store,
          const char  *file)
{
  if (store->base_dir != NULL && !g_str_has_prefix (file, store->data_prefix))
    return store->base_dir;
  return store->dir;
}

char *
_cleave_ocdbt_data_path (CleaveOcdbt *store,
                         const char  *file)
{
  return g_build_filename (data_dir (store, file), file, NULL);
}

/* An open data file. Data files never change once a manifest refers to
 * them, so descriptors and sizes are kept (a few hundred at most) instead
 * of opening the file for every read. A reader holds a reference while it
 * reads, so evicting a file never closes it under a reader. */
typedef struct
{
  gatomicrefcount ref_count;
  int             fd;
  guint64         size;
} OpenFile;

#define MAX_OPEN_FILES 256

void
_cleave_ocdbt_open_file_unref (gpointer p)
{
  OpenFile *f = p;

  if (f != NULL && g_atomic_ref_count_dec (&f->ref_count))
    {
      close (f->fd);
      g_free (f);
    }
}

static OpenFile *
open_data_file (CleaveOcdbt *store,
                const char  *file,
                const char  *path,
                GError     **error)
{
  CleaveOcdbt *root = store->parent ? store->parent : store;
  OpenFile *f;
  struct stat st;
  int fd;

  g_mutex_lock (&root->files_lock);
  f = g_hash_table_lookup (root->files, file);
  if (f != NULL)
    g_atomic_ref_count_inc (&f->ref_count);
  g_mutex_unlock (&root->files_lock);
  if (f != NULL)
    return f;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int errsv = errno;
      if (errsv == ENOENT)
        g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                     "%s: missing data file (the store refers to it)", path);
      else
        _cleave_ocdbt_set_io_error (error, errsv, path, "cannot open");
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, path, "cannot stat");
      close (fd);
      return NULL;
    }
  f = g_new0 (OpenFile, 1);
  g_atomic_ref_count_init (&f->ref_count);
  f->fd = fd;
  f->size = st.st_size;

  g_mutex_lock (&root->files_lock);
  if (g_hash_table_size (root->files) >= MAX_OPEN_FILES)
    g_hash_table_remove_all (root->files);
  g_atomic_ref_count_inc (&f->ref_count);   /* the table's */
  g_hash_table_replace (root->files, (gpointer) file, f);
  g_mutex_unlock (&root->files_lock);
  return f;
}

/* Reads [offset, offset+length) of @file (relative to the store). A range
 * past the end of the file means the store is damaged. */
static guint8 *
read_range (CleaveOcdbt *store,
            const char  *file,
            guint64      offset,
            guint64      length,
            GError     **error)
{
  g_autofree char *path = _cleave_ocdbt_data_path (store, file);
  g_autofree guint8 *buf = NULL;
  OpenFile *f = open_data_file (store, file, path, error);
  guint64 done = 0;

  if (f == NULL)
    return NULL;
  if (f->size < offset || f->size - offset < length)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s: offset %" G_GUINT64_FORMAT ": reference of %" G_GUINT64_FORMAT
                   " bytes runs past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                   path, offset, length, f->size);
      _cleave_ocdbt_open_file_unref (f);
      return NULL;
    }
  buf = g_malloc (MAX (length, 1));
  while (done < length)
    {
      ssize_t n = pread (f->fd, buf + done, length - done, offset + done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          _cleave_ocdbt_set_io_error (error, n < 0 ? errno : EIO, path, "cannot read");
          _cleave_ocdbt_open_file_unref (f);
          return NULL;
        }
      done += n;
    }
  _cleave_ocdbt_open_file_unref (f);
  return g_steal_pointer (&buf);
}

static gboolean
read_whole_file (const char *path,
                 guint8    **data,
                 gsize      *len,
                 GError    **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, (char **) data, len, &local))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? CLEAVE_OCDBT_ERROR_NOT_FOUND : CLEAVE_OCDBT_ERROR_IO,
                   "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* The numbered manifest kind: the newest manifest.%016x holds the data. */
static char *
find_numbered_manifest (const char *dir,
                        GError    **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *best = NULL;
  guint64 best_gen = 0;
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      guint64 gen;
      char *end;

      if (!g_str_has_prefix (name, "manifest.") || strlen (name) != 9 + 16)
        continue;
      gen = g_ascii_strtoull (name + 9, &end, 16);
      if (*end != '\0' || gen <= best_gen)
        continue;
      best_gen = gen;
      g_free (best);
      best = g_build_filename (dir, name, NULL);
    }
  if (best == NULL)
    g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                 "%s: manifest.ocdbt says the manifests are numbered, but there is no manifest.%%016x file", dir);
  return g_steal_pointer (&best);
}

/* The manifest of the store in @dir, following a numbered one to its
 * newest file (the result then says manifest_kind 1). */
CleaveOcdbtManifest *
_cleave_ocdbt_read_manifest (const char *dir,
                             GError    **error)
{
  g_autofree char *path = g_build_filename (dir, "manifest.ocdbt", NULL);
  g_autofree char *numbered = NULL;
  g_autofree guint8 *data = NULL;
  g_autoptr(CleaveOcdbtManifest) m = NULL;
  gsize len;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no such directory", dir);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: not an OCDBT store (no manifest.ocdbt)", dir);
      return NULL;
    }
  if (!read_whole_file (path, &data, &len, error))
    return NULL;
  m = cleave_ocdbt_manifest_decode (data, len, path, error);
  if (m == NULL || m->config.manifest_kind == 0)
    return g_steal_pointer (&m);

  numbered = find_numbered_manifest (dir, error);
  if (numbered == NULL)
    return NULL;
  g_clear_pointer (&data, g_free);
  g_clear_pointer (&m, cleave_ocdbt_manifest_free);
  if (!read_whole_file (numbered, &data, &len, error))
    return NULL;
  m = cleave_ocdbt_manifest_decode (data, len, numbered, error);
  if (m == NULL)
    return NULL;
  if (m->config.manifest_kind != 0 || m->versions->len == 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s: a numbered manifest must hold versions", numbered);
      return NULL;
    }
  m->config.manifest_kind = 1;
  return g_steal_pointer (&m);
}

/* Makes @manifest (taken) the one @store reads at its latest version. */
void
_cleave_ocdbt_adopt (CleaveOcdbt         *store,
                     CleaveOcdbtManifest *manifest)
{
  g_mutex_lock (&store->state);
  cleave_ocdbt_manifest_free (store->manifest);
  store->manifest = manifest;
  store->version = g_array_index (manifest->versions, CleaveOcdbtVersion, manifest->versions->len - 1);
  g_mutex_unlock (&store->state);
}

static CleaveOcdbt *
store_new (const char *dir,
           const char *base_dir)
{
  CleaveOcdbt *store = g_new0 (CleaveOcdbt, 1);

  g_atomic_ref_count_init (&store->ref_count);
  g_mutex_init (&store->state);
  g_mutex_init (&store->commit);
  g_mutex_init (&store->files_lock);
  store->dir = g_strdup (dir);
  store->base_dir = g_strdup (base_dir);
  return store;
}

static CleaveOcdbt *
open_store (const char *dir,
            const char *base_dir,
            const char *data_prefix,
            GError    **error)
{
  g_autoptr(CleaveOcdbt) store = store_new (dir, base_dir);
  CleaveOcdbtManifest *m = _cleave_ocdbt_read_manifest (dir, error);

  if (m == NULL)
    return NULL;
  store->cache = cleave_cache_new (CLEAVE_OCDBT_DEFAULT_CACHE_BYTES);
  store->files = g_hash_table_new_full (NULL, NULL, NULL, _cleave_ocdbt_open_file_unref);
  store->data_prefix = g_strdup (data_prefix);
  store->config = m->config;
  _cleave_ocdbt_adopt (store, m);
  return g_steal_pointer (&store);
}

CleaveOcdbt *
cleave_ocdbt_open (const char *dir,
                   GError    **error)
{
  return open_store (dir, NULL, "d/", error);
}

/* A fork writes its data files under "<fork directory name>_d/", so one
 * kvstack layer can route them (docs/ocdbt.md). */
static char *
fork_data_prefix (const char *fork_dir)
{
  g_autofree char *clean = g_canonicalize_filename (fork_dir, NULL);
  g_autofree char *name = g_path_get_basename (clean);

  return g_strconcat (name, "_d/", NULL);
}

CleaveOcdbt *
cleave_ocdbt_open_fork (const char *base_dir,
                        const char *fork_dir,
                        GError    **error)
{
  g_autofree char *prefix = fork_data_prefix (fork_dir);
  g_autofree char *manifest = g_build_filename (fork_dir, "manifest.ocdbt", NULL);
  g_autofree char *base_manifest = g_build_filename (base_dir, "manifest.ocdbt", NULL);

  if (!g_file_test (base_manifest, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no base store here (no manifest.ocdbt)", base_dir);
      return NULL;
    }
  if (!g_file_test (manifest, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no fork of %s here; create it with `cleavectl kv fork %s %s`",
                   fork_dir, base_dir, base_dir, fork_dir);
      return NULL;
    }
  return open_store (fork_dir, base_dir, prefix, error);
}

CleaveOcdbt *
cleave_ocdbt_open_spec (const char *spec,
                        GError    **error)
{
  const char *plus = strchr (spec, '+');
  g_autofree char *base = NULL;

  if (plus == NULL || g_file_test (spec, G_FILE_TEST_IS_DIR))
    return cleave_ocdbt_open (spec, error);
  base = g_strndup (spec, plus - spec);
  return cleave_ocdbt_open_fork (base, plus + 1, error);
}

gboolean
cleave_ocdbt_refresh (CleaveOcdbt *store,
                      GError     **error)
{
  CleaveOcdbtManifest *m;

  if (store->parent != NULL)
    return TRUE;   /* a pinned handle reads one version forever */
  m = _cleave_ocdbt_read_manifest (store->dir, error);
  if (m == NULL)
    return FALSE;
  _cleave_ocdbt_adopt (store, m);
  return TRUE;
}

CleaveOcdbt *
cleave_ocdbt_ref (CleaveOcdbt *store)
{
  g_atomic_ref_count_inc (&store->ref_count);
  return store;
}

void
cleave_ocdbt_unref (CleaveOcdbt *store)
{
  if (store == NULL || !g_atomic_ref_count_dec (&store->ref_count))
    return;
  if (store->parent)
    cleave_ocdbt_unref (store->parent);
  else if (store->cache)
    {
      cleave_cache_free (store->cache);
      g_hash_table_unref (store->files);
    }
  cleave_ocdbt_manifest_free (store->manifest);
  g_mutex_clear (&store->state);
  g_mutex_clear (&store->commit);
  g_mutex_clear (&store->files_lock);
  g_free (store->dir);
  g_free (store->base_dir);
  g_free (store->data_prefix);
  g_free (store);
}

const char *
cleave_ocdbt_get_dir (CleaveOcdbt *store)
{
  return store->dir;
}

gboolean
cleave_ocdbt_is_pinned (CleaveOcdbt *store)
{
  return store->parent != NULL;
}

const CleaveOcdbtConfig *
cleave_ocdbt_get_config (CleaveOcdbt *store)
{
  return &store->config;
}

const char *
cleave_ocdbt_get_base_dir (CleaveOcdbt *store)
{
  return store->base_dir;
}

CleaveOcdbtVersion
cleave_ocdbt_get_version (CleaveOcdbt *store)
{
  CleaveOcdbtVersion v;

  g_mutex_lock (&store->state);
  v = store->version;
  g_mutex_unlock (&store->state);
  return v;
}

static CleaveOcdbtManifest *
manifest_snapshot (CleaveOcdbt *store)
{
  CleaveOcdbtManifest *m;

  g_mutex_lock (&store->state);
  m = cleave_ocdbt_manifest_copy (store->manifest);
  g_mutex_unlock (&store->state);
  return m;
}

const CleaveOcdbtManifest *
cleave_ocdbt_get_manifest (CleaveOcdbt *store)
{
  return store->manifest;
}

CleaveOcdbtVersionNode *
_cleave_ocdbt_load_version_node (CleaveOcdbt                     *store,
                   const CleaveOcdbtVersionNodeRef *ref,
                   GError                         **error)
{
  g_autofree guint8 *data = NULL;
  CleaveOcdbtVersionNode *node;

  data = read_range (store, ref->location.file, ref->location.offset, ref->location.length, error);
  if (data == NULL)
    return NULL;
  node = cleave_ocdbt_version_node_decode (data, ref->location.length, &ref->location,
                                           store->config.version_tree_arity_log2, error);
  if (node == NULL)
    g_prefix_error (error, "%s/", data_dir (store, ref->location.file));   /* name the file by its full path */
  if (node != NULL && node->height != ref->height)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s: offset %" G_GUINT64_FORMAT ": version node has height %u, its reference says %u",
                   ref->location.file, ref->location.offset, node->height, ref->height);
      g_clear_pointer (&node, cleave_ocdbt_version_node_free);
    }
  return node;
}

static gboolean
collect_versions (CleaveOcdbt                     *store,
                  const CleaveOcdbtVersionNodeRef *ref,
                  GArray                          *out,
                  GError                         **error)
{
  g_autoptr(CleaveOcdbtVersionNode) node = _cleave_ocdbt_load_version_node (store, ref, error);

  if (node == NULL)
    return FALSE;
  if (node->height == 0)
    {
      g_array_append_vals (out, node->versions->data, node->versions->len);
      return TRUE;
    }
  for (guint i = 0; i < node->children->len; i++)
    if (!collect_versions (store, &g_array_index (node->children, CleaveOcdbtVersionNodeRef, i), out, error))
      return FALSE;
  return TRUE;
}

GArray *
cleave_ocdbt_list_versions (CleaveOcdbt *store,
                            GError     **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion));
  g_autoptr(CleaveOcdbtManifest) m = manifest_snapshot (store);
  GArray *nodes = m->version_nodes;

  for (guint i = 0; i < nodes->len; i++)
    if (!collect_versions (store, &g_array_index (nodes, CleaveOcdbtVersionNodeRef, i), out, error))
      return NULL;
  g_array_append_vals (out, m->versions->data, m->versions->len);
  return g_steal_pointer (&out);
}

static CleaveOcdbt *
pinned (CleaveOcdbt              *store,
        const CleaveOcdbtVersion *version)
{
  CleaveOcdbt *root = store->parent ? store->parent : store;
  CleaveOcdbt *pin = store_new (root->dir, root->base_dir);

  pin->data_prefix = g_strdup (root->data_prefix);
  pin->config = root->config;
  pin->manifest = manifest_snapshot (store);
  pin->cache = root->cache;
  pin->parent = cleave_ocdbt_ref (root);
  pin->version = *version;
  return pin;
}

typedef enum
{
  PIN_GENERATION,   /* exactly this generation */
  PIN_TIME,         /* the newest with commit_time <= T */
} PinKind;

static int
pick_version (GArray  *versions,
              PinKind  kind,
              guint64  target)
{
  for (guint i = versions->len; i > 0; i--)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i - 1);
      if (kind == PIN_GENERATION ? v->generation == target : v->commit_time <= target)
        return i - 1;
    }
  return -1;
}

/* The subtree to descend into. By generation: the first whose latest
 * generation reaches it (entry i covers (gen[i-1], gen[i]]). By time: the
 * last that starts at or before T, since references hold the earliest
 * commit time of their subtree. */
static int
pick_ref (GArray  *refs,
          PinKind  kind,
          guint64  target)
{
  if (kind == PIN_GENERATION)
    {
      for (guint i = 0; i < refs->len; i++)
        if (g_array_index (refs, CleaveOcdbtVersionNodeRef, i).generation >= target)
          return i;
      return -1;
    }
  for (guint i = refs->len; i > 0; i--)
    if (g_array_index (refs, CleaveOcdbtVersionNodeRef, i - 1).commit_time <= target)
      return i - 1;
  return -1;
}

/* §6.5: the inline versions first, then down the version tree. Returns
 * NULL without an error when there is no such version. */
static CleaveOcdbt *
pin (CleaveOcdbt *store,
     PinKind      kind,
     guint64      target,
     GError     **error)
{
  g_autoptr(CleaveOcdbtManifest) m = manifest_snapshot (store);
  GArray *inl = m->versions;
  CleaveOcdbtVersionNodeRef ref;
  int i;

  if ((i = pick_version (inl, kind, target)) >= 0)
    return pinned (store, &g_array_index (inl, CleaveOcdbtVersion, i));

  i = pick_ref (m->version_nodes, kind, target);
  if (i >= 0)
    ref = g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);
  while (i >= 0)
    {
      g_autoptr(CleaveOcdbtVersionNode) node = _cleave_ocdbt_load_version_node (store, &ref, error);

      if (node == NULL)
        return NULL;
      if (node->height == 0)
        {
          i = pick_version (node->versions, kind, target);
          return i >= 0 ? pinned (store, &g_array_index (node->versions, CleaveOcdbtVersion, i)) : NULL;
        }
      i = pick_ref (node->children, kind, target);
      if (i >= 0)
        ref = g_array_index (node->children, CleaveOcdbtVersionNodeRef, i);
    }
  return NULL;
}

CleaveOcdbt *
cleave_ocdbt_pin_generation (CleaveOcdbt *store,
                             guint64      generation,
                             GError     **error)
{
  GError *local = NULL;
  CleaveOcdbt *result = pin (store, PIN_GENERATION, generation, &local);

  if (result == NULL && local == NULL)
    {
      CleaveOcdbt *root = store->parent ? store->parent : store;

      g_set_error (&local, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no generation %" G_GUINT64_FORMAT " (latest is %" G_GUINT64_FORMAT ")",
                   store->dir, generation, cleave_ocdbt_get_version (root).generation);
    }
  if (local != NULL)
    g_propagate_error (error, local);
  return result;
}

CleaveOcdbt *
cleave_ocdbt_pin_time (CleaveOcdbt *store,
                       guint64      t,
                       GError     **error)
{
  GError *local = NULL;
  CleaveOcdbt *result = pin (store, PIN_TIME, t, &local);

  if (result == NULL && local == NULL)
    {
      g_autofree char *when = cleave_ocdbt_format_time (t);
      g_set_error (&local, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no version was committed at or before %s", store->dir, when);
    }
  if (local != NULL)
    g_propagate_error (error, local);
  return result;
}

CleaveCacheEntry *
_cleave_ocdbt_load_btree_node (CleaveOcdbt               *store,
                               const CleaveOcdbtLocation *loc,
                               guint8                     expected_height,
                               GError                   **error)
{
  g_autofree guint8 *data = NULL;
  CleaveOcdbtBtreeNode *node;
  CleaveCacheEntry *c = cleave_cache_lookup (store->cache, loc->file, loc->offset, CACHE_TAG_BTREE_NODE);

  /* A cached node was checked when it was decoded; its height is a
   * property of the reference, so check that again. */
  if (c != NULL)
    {
      node = c->value;
      if (node->height == expected_height)
        return c;
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s/%s: offset %" G_GUINT64_FORMAT ": b+tree node has height %u, expected %u",
                   data_dir (store, loc->file), loc->file, loc->offset, node->height, expected_height);
      cleave_cache_entry_unref (c);
      return NULL;
    }

  data = read_range (store, loc->file, loc->offset, loc->length, error);
  if (data == NULL)
    return NULL;
  node = cleave_ocdbt_btree_node_decode (data, loc->length, loc, error);
  if (node == NULL)
    g_prefix_error (error, "%s/", data_dir (store, loc->file));   /* name the file by its full path */
  if (node != NULL && node->height != expected_height)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s: offset %" G_GUINT64_FORMAT ": b+tree node has height %u, expected %u",
                   loc->file, loc->offset, node->height, expected_height);
      g_clear_pointer (&node, cleave_ocdbt_btree_node_free);
    }
  if (node == NULL)
    return NULL;
  return cleave_cache_insert (store->cache, loc->file, loc->offset, CACHE_TAG_BTREE_NODE, node,
                              node->decoded_size, (GDestroyNotify) cleave_ocdbt_btree_node_free);
}

/* Index of the last entry whose key is <= @key, or -1. */
static int
find_floor (const CleaveOcdbtBtreeNode *node,
            const guint8               *key,
            gsize                       key_len)
{
  int lo = 0, hi = (int) node->n_entries - 1, ans = -1;

  while (lo <= hi)
    {
      int mid = lo + (hi - lo) / 2;
      const CleaveOcdbtEntry *e = &node->entries[mid];

      if (cleave_ocdbt_key_cmp (cleave_ocdbt_entry_key (node, mid), e->key_length, key, key_len) <= 0)
        {
          ans = mid;
          lo = mid + 1;
        }
      else
        hi = mid - 1;
    }
  return ans;
}

void
cleave_ocdbt_value_ref_clear (CleaveOcdbtValueRef *ref)
{
  g_clear_pointer (&ref->inline_value, g_bytes_unref);
  memset (ref, 0, sizeof *ref);
}

gboolean
cleave_ocdbt_get_ref (CleaveOcdbt         *store,
                      const guint8        *key,
                      gsize                key_len,
                      CleaveOcdbtValueRef *ref,
                      GError             **error)
{
  CleaveOcdbtVersion version = cleave_ocdbt_get_version (store);
  CleaveOcdbtLocation loc = version.root;
  guint8 height = version.root_height;

  memset (ref, 0, sizeof *ref);
  if (loc.offset == CLEAVE_OCDBT_MISSING)
    return TRUE;

  for (;;)
    {
      g_autoptr(CleaveCacheEntry) cached = _cleave_ocdbt_load_btree_node (store, &loc, height, error);
      const CleaveOcdbtBtreeNode *node;
      const CleaveOcdbtEntry *e;
      int i;

      if (cached == NULL)
        return FALSE;
      node = cached->value;
      i = find_floor (node, key, key_len);
      if (i < 0)
        return TRUE;
      e = &node->entries[i];
      if (node->height == 0)
        {
          if (cleave_ocdbt_key_cmp (cleave_ocdbt_entry_key (node, i), e->key_length, key, key_len) != 0)
            return TRUE;
          ref->found = TRUE;
          ref->length = e->value_length;
          if (e->value_kind == CLEAVE_OCDBT_VALUE_INLINE)
            ref->inline_value = g_bytes_new_from_bytes (node->body, e->value_offset, e->value_length);
          else
            {
              ref->file = e->value_file;
              ref->offset = e->value_offset;
            }
          return TRUE;
        }
      /* The child's keys omit the subtree's common prefix. */
      if (key_len < e->subtree_common_prefix_length ||
          memcmp (key, cleave_ocdbt_entry_key (node, i), e->subtree_common_prefix_length) != 0)
        return TRUE;
      key += e->subtree_common_prefix_length;
      key_len -= e->subtree_common_prefix_length;
      loc = e->child;
      height = node->height - 1;
    }
}

GBytes *
cleave_ocdbt_read_ref (CleaveOcdbt               *store,
                       const CleaveOcdbtValueRef *ref,
                       GError                   **error)
{
  guint8 *data;

  g_return_val_if_fail (ref->found, NULL);
  if (ref->file == NULL)
    return g_bytes_ref (ref->inline_value);
  data = read_range (store, ref->file, ref->offset, ref->length, error);
  return data ? g_bytes_new_take (data, ref->length) : NULL;
}

gboolean
cleave_ocdbt_get (CleaveOcdbt  *store,
                  const guint8 *key,
                  gsize         key_len,
                  GBytes      **value_out,
                  GError      **error)
{
  g_auto(CleaveOcdbtValueRef) ref = { 0 };

  *value_out = NULL;
  if (!cleave_ocdbt_get_ref (store, key, key_len, &ref, error))
    return FALSE;
  if (!ref.found)
    return TRUE;
  *value_out = cleave_ocdbt_read_ref (store, &ref, error);
  return *value_out != NULL;
}

typedef struct
{
  CleaveOcdbt        *store;
  const guint8       *lo;
  gsize               lo_len;
  const guint8       *hi;     /* NULL: no upper bound */
  gsize               hi_len;
  CleaveOcdbtListFunc func;
  gpointer            user_data;
  GByteArray         *key;    /* full key being built */
  GByteArray         *next;   /* scratch: the next entry's full key */
  gboolean            stopped;
} ListState;

static gboolean
list_node (ListState                 *st,
           const CleaveOcdbtLocation *loc,
           guint8                     height,
           GError                   **error)
{
  g_autoptr(CleaveCacheEntry) cached = _cleave_ocdbt_load_btree_node (st->store, loc, height, error);
  const CleaveOcdbtBtreeNode *node;
  guint prefix_len = st->key->len;

  if (cached == NULL)
    return FALSE;
  node = cached->value;

  for (guint i = 0; i < node->n_entries && !st->stopped; i++)
    {
      const CleaveOcdbtEntry *e = &node->entries[i];

      g_byte_array_set_size (st->key, prefix_len);
      g_byte_array_append (st->key, cleave_ocdbt_entry_key (node, i), e->key_length);

      /* Past the upper bound: nothing further can be in range. */
      if (st->hi && cleave_ocdbt_key_cmp (st->key->data, st->key->len, st->hi, st->hi_len) >= 0)
        {
          st->stopped = TRUE;
          break;
        }
      if (node->height == 0)
        {
          if (cleave_ocdbt_key_cmp (st->key->data, st->key->len, st->lo, st->lo_len) < 0)
            continue;
          if (!st->func (st->key->data, st->key->len, e->value_length, st->user_data))
            st->stopped = TRUE;
          continue;
        }
      /* Skip a child whose whole range [K_i, K_i+1) lies below lo. */
      if (st->lo_len > 0 && i + 1 < node->n_entries)
        {
          g_byte_array_set_size (st->next, 0);
          g_byte_array_append (st->next, st->key->data, prefix_len);
          g_byte_array_append (st->next, cleave_ocdbt_entry_key (node, i + 1), node->entries[i + 1].key_length);
          if (cleave_ocdbt_key_cmp (st->next->data, st->next->len, st->lo, st->lo_len) <= 0)
            continue;
        }
      g_byte_array_set_size (st->key, prefix_len + e->subtree_common_prefix_length);
      if (!list_node (st, &e->child, node->height - 1, error))
        return FALSE;
    }
  g_byte_array_set_size (st->key, prefix_len);
  return TRUE;
}

gboolean
cleave_ocdbt_list (CleaveOcdbt        *store,
                   const guint8       *lo,
                   gsize               lo_len,
                   const guint8       *hi,
                   gsize               hi_len,
                   CleaveOcdbtListFunc func,
                   gpointer            user_data,
                   GError            **error)
{
  g_autoptr(GByteArray) key = g_byte_array_new ();
  g_autoptr(GByteArray) next = g_byte_array_new ();
  ListState st = { store, lo ? lo : (const guint8 *) "", lo ? lo_len : 0, hi, hi_len,
                   func, user_data, key, next, FALSE };

  CleaveOcdbtVersion version = cleave_ocdbt_get_version (store);

  if (version.root.offset == CLEAVE_OCDBT_MISSING)
    return TRUE;
  return list_node (&st, &version.root, version.root_height, error);
}

guint64
cleave_ocdbt_parse_time (const char *text,
                         GError    **error)
{
  g_autoptr(GString) rest = g_string_new (NULL);
  g_autoptr(GDateTime) dt = NULL;
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  const char *dot = strchr (text, '.');
  guint64 frac = 0;
  gint64 secs;

  /* GDateTime keeps microseconds; commit times are nanoseconds, so the
   * fraction is read here. */
  if (dot != NULL)
    {
      const char *p = dot + 1;
      int digits = 0;

      g_string_append_len (rest, text, dot - text);
      for (; g_ascii_isdigit (*p); p++, digits++)
        if (digits < 9)
          frac = frac * 10 + (*p - '0');
      for (int d = MIN (digits, 9); d < 9; d++)
        frac *= 10;
      g_string_append (rest, p);
    }
  else
    g_string_append (rest, text);

  dt = g_date_time_new_from_iso8601 (rest->str, utc);
  if (dt == NULL || (secs = g_date_time_to_unix (dt)) < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "'%s' is not an ISO 8601 time after 1970 (e.g. 2025-01-30T21:12:59.931662761Z)", text);
      return 0;
    }
  return (guint64) secs * G_GUINT64_CONSTANT (1000000000) + frac;
}

char *
cleave_ocdbt_format_time (guint64 ns)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc ((gint64) (ns / 1000000000));
  g_autofree char *base = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : g_strdup ("?");

  return g_strdup_printf ("%s.%09" G_GUINT64_FORMAT "Z", base, ns % 1000000000);
}

void
cleave_ocdbt_set_cache_budget (CleaveOcdbt *store,
                               gsize        bytes)
{
  cleave_cache_set_budget (store->cache, bytes);
}

void
cleave_ocdbt_get_cache_stats (CleaveOcdbt *store,
                              gsize       *bytes,
                              guint64     *hits,
                              guint64     *misses)
{
  cleave_cache_get_stats (store->cache, bytes, hits, misses);
}

typedef struct
{
  CleaveOcdbt *store;
  guint64      keys;
  GError      *error;
} CheckState;

static gboolean
check_entry (const guint8 *key,
             gsize         key_len,
             guint64       value_len,
             gpointer      user_data)
{
  CheckState *st = user_data;
  g_autoptr(GBytes) value = NULL;

  st->keys++;
  if (!cleave_ocdbt_get (st->store, key, key_len, &value, &st->error))
    return FALSE;
  if (value == NULL || g_bytes_get_size (value) != value_len)
    {
      g_autofree char *k = g_strndup ((const char *) key, key_len);
      g_set_error (&st->error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "key '%s' is listed but cannot be read back", k);
      return FALSE;
    }
  return TRUE;
}

/* Decodes every node of every version and reads every value (out-of-line
 * ones from their data files), so a store that checks clean can be read
 * in full at any generation. Each listed key is read back through a point
 * lookup on purpose: a tree whose keys list in order but sit outside their
 * parents' ranges cannot be found by get(), and that is damage too. A damaged generation is reported and the
 * check goes on; only a version list that cannot be read stops it. */
gboolean
cleave_ocdbt_check (CleaveOcdbt            *store,
                    CleaveOcdbtProblemFunc  func,
                    gpointer                user_data,
                    guint64                *n_versions,
                    guint64                *n_keys,
                    GError                **error)
{
  g_autoptr(GArray) versions = cleave_ocdbt_list_versions (store, error);
  guint64 total = 0;

  if (versions == NULL)
    return FALSE;
  for (guint i = 0; i < versions->len; i++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      g_autoptr(CleaveOcdbt) pin = pinned (store, v);
      CheckState st = { pin, 0, NULL };

      if (!cleave_ocdbt_list (pin, NULL, 0, NULL, 0, check_entry, &st, &st.error) && st.error == NULL)
        g_set_error (&st.error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT, "listing failed");
      if (st.error == NULL && st.keys != v->stats.num_keys)
        g_set_error (&st.error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                     "%" G_GUINT64_FORMAT " keys found, the root's statistics say %" G_GUINT64_FORMAT,
                     st.keys, v->stats.num_keys);
      if (st.error != NULL)
        {
          func (v->generation, st.error, user_data);
          g_clear_error (&st.error);
        }
      total += st.keys;
    }
  if (n_versions)
    *n_versions = versions->len;
  if (n_keys)
    *n_keys = total;
  return TRUE;
}
