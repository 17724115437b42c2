/* cleave-ocdbt-writer.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ocdbt"

#include "cleave-ocdbt-encode.h"
#include "cleave-ocdbt-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleave-fault.h"
#include "cleave-ocdbt-btree.h"
#include "cleave-ocdbt-private.h"
#include "cleave-ocdbt-vtree.h"
#include "cleave-util.h"

#define LOCK_NAME "manifest.ocdbt.cleave-lock"
#define TMP_NAME  "manifest.ocdbt.cleave-tmp"
#define FLUSH_BYTES (4u << 20)

typedef struct
{
  GBytes *lo;
  GBytes *hi;   /* NULL: unbounded */
} Range;

struct _CleaveOcdbtTxn
{
  CleaveOcdbt *store;
  GTree       *puts;     /* GBytes key -> GBytes value */
  GArray      *ranges;   /* Range, in the order given */
  guint        n_ops;
};

static void
random_bytes (guint8 *buf,
              gsize   len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = getrandom (buf + done, len - done, 0);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert (n > 0);   /* the kernel's entropy pool never fails once up */
      done += n;
    }
}

void
cleave_ocdbt_config_init_default (CleaveOcdbtConfig *config)
{
  memset (config, 0, sizeof *config);
  random_bytes (config->uuid, sizeof config->uuid);
  config->manifest_kind = 0;
  config->max_inline_value_bytes = 100;
  config->max_decoded_node_bytes = 8u << 20;
  config->version_tree_arity_log2 = 4;
  config->compression = 1;
  config->zstd_level = 0;
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len,
           const char   *path,
           GError      **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          _cleave_ocdbt_set_io_error (error, errno, path, "cannot write");
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
sync_fd (CleaveOcdbt *store,
         int          fd,
         const char  *path,
         GError     **error)
{
  if (store != NULL && store->no_sync)
    return TRUE;
  if (fsync (fd) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, path, "cannot fsync");
      return FALSE;
    }
  return TRUE;
}

/* A new or renamed file is durable only once its directory entry is. */
static gboolean
sync_dir (CleaveOcdbt *store,
          const char  *dir,
          GError     **error)
{
  int fd;
  gboolean ok;

  if (store != NULL && store->no_sync)
    return TRUE;
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, dir, "cannot open directory");
      return FALSE;
    }
  ok = sync_fd (store, fd, dir, error);
  close (fd);
  return ok;
}

/* The commit lock: an open file description lock, so threads of one
 * process exclude each other as well as processes do. Closing the
 * descriptor releases it, also when the process dies. */
static int
take_lock (const char *dir,
           GError    **error)
{
  g_autofree char *path = g_build_filename (dir, LOCK_NAME, NULL);
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, path, "cannot open the commit lock");
      return -1;
    }
  while (fcntl (fd, F_OFD_SETLKW, &fl) != 0)
    {
      if (errno == EINTR)
        continue;
      _cleave_ocdbt_set_io_error (error, errno, path, "cannot take the commit lock");
      close (fd);
      return -1;
    }
  return fd;
}

/* With the lock held: the manifest bytes to a temporary file, fsync,
 * rename over manifest.ocdbt, fsync the directory. */
static gboolean
write_manifest (CleaveOcdbt  *store,
                const char   *dir,
                const guint8 *data,
                gsize         len,
                GError      **error)
{
  g_autofree char *tmp = g_build_filename (dir, TMP_NAME, NULL);
  g_autofree char *path = g_build_filename (dir, "manifest.ocdbt", NULL);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, tmp, "cannot create");
      return FALSE;
    }
  if (cleave_fault_armed ("commit-manifest-partial"))
    {
      write_all (fd, data, len / 2, tmp, NULL);
      _exit (CLEAVE_FAULT_EXIT_STATUS);
    }
  if (!write_all (fd, data, len, tmp, error) || !sync_fd (store, fd, tmp, error))
    {
      close (fd);
      return FALSE;
    }
  close (fd);
  cleave_fault_point ("commit-manifest-synced");
  if (rename (tmp, path) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, path, "cannot replace");
      return FALSE;
    }
  cleave_fault_point ("commit-renamed");
  return sync_dir (store, dir, error);
}

/* The commit's data file: everything the commit writes is appended to it,
 * buffered, and it is created on the first write. */
typedef struct
{
  CleaveOcdbt *store;
  int          fd;
  char        *dir;      /* where it is */
  char        *path;
  const char  *file;     /* interned, relative to the store */
  GByteArray  *buf;
  guint64      size;     /* bytes appended so far */
} DataFile;

static gboolean
data_flush (DataFile *df,
            GError  **error)
{
  gboolean ok;

  if (df->buf->len == 0)
    return TRUE;
  if (cleave_fault_armed ("commit-data-partial"))
    {
      write_all (df->fd, df->buf->data, df->buf->len / 2, df->path, NULL);
      _exit (CLEAVE_FAULT_EXIT_STATUS);
    }
  ok = write_all (df->fd, df->buf->data, df->buf->len, df->path, error);
  g_byte_array_set_size (df->buf, 0);
  return ok;
}

static gboolean
data_open (DataFile *df,
           GError  **error)
{
  CleaveOcdbt *store = df->store;
  guint8 id[16];
  char hex[33];
  g_autofree char *rel = NULL;
  gboolean made_dir;

  random_bytes (id, sizeof id);
  for (guint i = 0; i < 16; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", id[i]);
  rel = g_strconcat (store->data_prefix, hex, NULL);
  df->file = g_intern_string (rel);
  df->path = g_build_filename (store->dir, rel, NULL);
  df->dir = g_path_get_dirname (df->path);

  made_dir = !g_file_test (df->dir, G_FILE_TEST_IS_DIR);
  if (made_dir && g_mkdir_with_parents (df->dir, 0755) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, df->dir, "cannot create");
      return FALSE;
    }
  if (made_dir && !sync_dir (store, store->dir, error))
    return FALSE;
  df->fd = open (df->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (df->fd < 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, df->path, "cannot create");
      return FALSE;
    }
  return TRUE;
}

static gboolean
data_write (GBytes              *bytes,
            CleaveOcdbtLocation *location,
            gpointer             user_data,
            GError             **error)
{
  DataFile *df = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  if (df->fd < 0 && !data_open (df, error))
    return FALSE;
  location->file = df->file;
  location->base = g_intern_static_string ("");
  location->offset = df->size;
  location->length = len;
  df->size += len;
  if (len >= FLUSH_BYTES)
    return data_flush (df, error) && write_all (df->fd, data, len, df->path, error);
  if (len > 0)
    g_byte_array_append (df->buf, data, len);
  return df->buf->len < FLUSH_BYTES || data_flush (df, error);
}

static gboolean
data_finish (DataFile *df,
             GError  **error)
{
  gboolean ok;

  if (df->fd < 0)
    return TRUE;
  ok = data_flush (df, error) && sync_fd (df->store, df->fd, df->path, error);
  close (df->fd);
  df->fd = -1;
  return ok && sync_dir (df->store, df->dir, error);
}

static void
data_clear (DataFile *df)
{
  if (df->fd >= 0)
    {
      /* A failed commit's partial file is referred to by nothing. */
      close (df->fd);
      unlink (df->path);
    }
  g_free (df->dir);
  g_free (df->path);
  g_byte_array_unref (df->buf);
}

static const CleaveOcdbtBtreeNode *
load_node (const CleaveOcdbtLocation *location,
           guint8                     height,
           gpointer                  *hold,
           gpointer                   user_data,
           GError                   **error)
{
  DataFile *df = user_data;
  CleaveCacheEntry *c = _cleave_ocdbt_load_btree_node (df->store, location, height, error);

  *hold = c;
  return c ? c->value : NULL;
}

static CleaveOcdbtVersionNode *
load_version_node (const CleaveOcdbtVersionNodeRef *ref,
                   gpointer                         user_data,
                   GError                         **error)
{
  DataFile *df = user_data;

  return _cleave_ocdbt_load_version_node (df->store, ref, error);
}

static int
cmp_bytes (gconstpointer a,
           gconstpointer b,
           gpointer      user_data)
{
  gsize al, bl;
  const guint8 *ad = g_bytes_get_data ((GBytes *) a, &al);
  const guint8 *bd = g_bytes_get_data ((GBytes *) b, &bl);

  return cleave_ocdbt_key_cmp (ad, al, bd, bl);
}

static int
cmp_range (gconstpointer a,
           gconstpointer b)
{
  return cmp_bytes (((const Range *) a)->lo, ((const Range *) b)->lo, NULL);
}

static void
range_clear (Range *r)
{
  g_bytes_unref (r->lo);
  if (r->hi)
    g_bytes_unref (r->hi);
}

CleaveOcdbtTxn *
cleave_ocdbt_txn_new (CleaveOcdbt *store)
{
  CleaveOcdbtTxn *txn = g_new0 (CleaveOcdbtTxn, 1);

  txn->store = cleave_ocdbt_ref (store);
  txn->puts = g_tree_new_full (cmp_bytes, NULL, (GDestroyNotify) g_bytes_unref, (GDestroyNotify) g_bytes_unref);
  txn->ranges = g_array_new (FALSE, TRUE, sizeof (Range));
  g_array_set_clear_func (txn->ranges, (GDestroyNotify) range_clear);
  return txn;
}

void
cleave_ocdbt_txn_free (CleaveOcdbtTxn *txn)
{
  if (txn == NULL)
    return;
  cleave_ocdbt_unref (txn->store);
  g_tree_unref (txn->puts);
  g_array_unref (txn->ranges);
  g_free (txn);
}

void
cleave_ocdbt_txn_put_bytes (CleaveOcdbtTxn *txn,
                            const guint8   *key,
                            gsize           key_len,
                            GBytes         *value)
{
  g_return_if_fail (key_len <= G_MAXUINT16);
  g_tree_replace (txn->puts, g_bytes_new (key, key_len), g_bytes_ref (value));
  txn->n_ops++;
}

void
cleave_ocdbt_txn_put (CleaveOcdbtTxn *txn,
                      const guint8   *key,
                      gsize           key_len,
                      const guint8   *value,
                      gsize           value_len)
{
  g_autoptr(GBytes) v = g_bytes_new (value, value_len);

  cleave_ocdbt_txn_put_bytes (txn, key, key_len, v);
}

void
cleave_ocdbt_txn_delete_range (CleaveOcdbtTxn *txn,
                               const guint8   *lo,
                               gsize           lo_len,
                               const guint8   *hi,
                               gsize           hi_len)
{
  Range r = { g_bytes_new (lo, lo_len), hi ? g_bytes_new (hi, hi_len) : NULL };
  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();
  GTreeNode *node;

  txn->n_ops++;
  if (r.hi != NULL && cmp_bytes (r.lo, r.hi, NULL) >= 0)
    {
      range_clear (&r);
      return;
    }
  for (node = g_tree_lower_bound (txn->puts, r.lo); node != NULL; node = g_tree_node_next (node))
    {
      if (r.hi != NULL && cmp_bytes (g_tree_node_key (node), r.hi, NULL) >= 0)
        break;
      g_ptr_array_add (doomed, g_tree_node_key (node));
    }
  for (guint i = 0; i < doomed->len; i++)
    g_tree_remove (txn->puts, doomed->pdata[i]);
  g_array_append_val (txn->ranges, r);
}

void
cleave_ocdbt_txn_delete (CleaveOcdbtTxn *txn,
                         const guint8   *key,
                         gsize           key_len)
{
  /* [key, key + "\0") holds exactly the key. */
  g_autofree guint8 *hi = g_malloc (key_len + 1);

  if (key_len > 0)
    memcpy (hi, key, key_len);
  hi[key_len] = 0;
  cleave_ocdbt_txn_delete_range (txn, key, key_len, hi, key_len + 1);
}

guint
cleave_ocdbt_txn_get_n_ops (CleaveOcdbtTxn *txn)
{
  return txn->n_ops;
}

static gboolean
collect_put (gpointer key,
             gpointer value,
             gpointer user_data)
{
  GArray *puts = user_data;
  CleaveOcdbtKeyValue kv;

  kv.key = g_bytes_get_data (key, &kv.key_len);
  kv.value = g_bytes_get_data (value, &kv.value_len);
  /* Empty GBytes have no data pointer; the tree code compares through one. */
  if (kv.key == NULL)
    kv.key = (const guint8 *) "";
  if (kv.value == NULL)
    kv.value = (const guint8 *) "";
  g_array_append_val (puts, kv);
  return FALSE;
}

/* The ranges sorted and merged into disjoint ones, as the B+tree wants. */
static GArray *
merged_ranges (CleaveOcdbtTxn *txn)
{
  g_autoptr(GArray) sorted = g_array_copy (txn->ranges);
  GArray *out = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtRange));

  g_array_set_clear_func (sorted, NULL);   /* the copy borrows the bytes */
  g_array_sort (sorted, cmp_range);
  for (guint i = 0; i < sorted->len; i++)
    {
      const Range *r = &g_array_index (sorted, Range, i);
      CleaveOcdbtRange cr = { 0 };
      CleaveOcdbtRange *last = out->len ? &g_array_index (out, CleaveOcdbtRange, out->len - 1) : NULL;

      cr.lo = g_bytes_get_data (r->lo, &cr.lo_len);
      if (r->hi)
        cr.hi = g_bytes_get_data (r->hi, &cr.hi_len);
      if (cr.lo == NULL)
        cr.lo = (const guint8 *) "";
      if (cr.hi == NULL && r->hi != NULL)
        cr.hi = (const guint8 *) "";

      /* Overlapping or touching the previous one: extend it. */
      if (last != NULL && (last->hi == NULL || cleave_ocdbt_key_cmp (cr.lo, cr.lo_len, last->hi, last->hi_len) <= 0))
        {
          if (last->hi != NULL && (cr.hi == NULL || cleave_ocdbt_key_cmp (cr.hi, cr.hi_len, last->hi, last->hi_len) > 0))
            {
              last->hi = cr.hi;
              last->hi_len = cr.hi_len;
            }
          continue;
        }
      g_array_append_val (out, cr);
    }
  return out;
}

gboolean
cleave_ocdbt_txn_commit (CleaveOcdbtTxn *txn,
                         guint64        *generation_out,
                         GError        **error)
{
  CleaveOcdbt *store = txn->store;
  g_autoptr(GArray) puts = NULL;
  g_autoptr(GArray) ranges = NULL;
  g_autoptr(CleaveOcdbtManifest) m = NULL;
  g_autoptr(GBytes) encoded = NULL;
  DataFile df = { store, -1, NULL, NULL, NULL, g_byte_array_new (), 0 };
  CleaveOcdbtBtreeIO io = { NULL, load_node, (GDestroyNotify) cleave_cache_entry_unref,
                            data_write, &df };
  CleaveOcdbtVersion latest, version = { 0 };
  gboolean ok = FALSE;
  int lock = -1;

  if (store->parent != NULL)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_READ_ONLY,
                   "%s: read-only: this handle is pinned to generation %" G_GUINT64_FORMAT,
                   store->dir, store->version.generation);
      goto out;
    }
  if (store->config.manifest_kind != 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                   "%s: writing stores with numbered manifests is not supported", store->dir);
      goto out;
    }
  if (txn->n_ops == 0)
    {
      if (generation_out)
        *generation_out = cleave_ocdbt_get_version (store).generation;
      ok = TRUE;
      goto out;
    }

  puts = g_array_sized_new (FALSE, FALSE, sizeof (CleaveOcdbtKeyValue), g_tree_nnodes (txn->puts));
  g_tree_foreach (txn->puts, collect_put, puts);
  ranges = merged_ranges (txn);

  g_mutex_lock (&store->commit);
  if ((lock = take_lock (store->dir, error)) < 0)
    goto unlock;
  cleave_fault_point ("commit-locked");

  /* Another writer may have committed since this handle last looked: the
   * batch goes on top of the newest generation. */
  m = _cleave_ocdbt_read_manifest (store->dir, error);
  if (m == NULL)
    goto unlock;
  if (memcmp (m->config.uuid, store->config.uuid, 16) != 0 || m->config.manifest_kind != 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_CORRUPT,
                   "%s: the store was replaced by another one while it was open", store->dir);
      goto unlock;
    }
  latest = g_array_index (m->versions, CleaveOcdbtVersion, m->versions->len - 1);
  io.config = &m->config;

  version.generation = latest.generation + 1;
  version.commit_time = MAX ((guint64) cleave_now_ns (), latest.commit_time + 1);
  if (!cleave_ocdbt_btree_apply (&io, &latest, (CleaveOcdbtKeyValue *) puts->data, puts->len,
                                 (CleaveOcdbtRange *) ranges->data, ranges->len, &version, error))
    goto unlock;
  if (!cleave_ocdbt_vtree_append (m, &version, load_version_node, data_write, &df, error))
    goto unlock;
  if (!data_finish (&df, error))
    goto unlock;
  cleave_fault_point ("commit-data-synced");

  encoded = cleave_ocdbt_manifest_encode (m);
  if (!write_manifest (store, store->dir, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), error))
    goto unlock;
  _cleave_ocdbt_adopt (store, g_steal_pointer (&m));
  if (generation_out)
    *generation_out = version.generation;
  ok = TRUE;

unlock:
  if (lock >= 0)
    close (lock);
  g_mutex_unlock (&store->commit);
out:
  data_clear (&df);
  if (!ok)
    g_prefix_error (error, "commit: ");
  return ok;
}

void
cleave_ocdbt_set_sync (CleaveOcdbt *store,
                       gboolean     sync)
{
  store->no_sync = !sync;
}

CleaveOcdbt *
cleave_ocdbt_create (const char              *dir,
                     const CleaveOcdbtConfig *config,
                     GError                 **error)
{
  g_autofree char *manifest_path = g_build_filename (dir, "manifest.ocdbt", NULL);
  CleaveOcdbtManifest m = { 0 };
  CleaveOcdbtVersion first = {
    .generation = 1,
    .root = { g_intern_static_string (""), g_intern_static_string (""), CLEAVE_OCDBT_MISSING, CLEAVE_OCDBT_MISSING },
  };
  g_autoptr(GBytes) encoded = NULL;
  gboolean ok;
  int lock;

  if (config)
    m.config = *config;
  else
    cleave_ocdbt_config_init_default (&m.config);
  m.config.manifest_kind = 0;
  if (m.config.version_tree_arity_log2 < 1 || m.config.version_tree_arity_log2 > 16 ||
      m.config.compression > 1 || m.config.max_decoded_node_bytes == 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                   "%s: invalid configuration (version tree arity 2^%u, compression %u)",
                   dir, m.config.version_tree_arity_log2, m.config.compression);
      return NULL;
    }

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, dir, "cannot create");
      return NULL;
    }
  if ((lock = take_lock (dir, error)) < 0)
    return NULL;
  if (g_file_test (manifest_path, G_FILE_TEST_EXISTS))
    {
      close (lock);
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS,
                   "%s: already an OCDBT store", dir);
      return NULL;
    }
  first.commit_time = (guint64) cleave_now_ns ();
  m.versions = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion));
  m.version_nodes = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));
  g_array_append_val (m.versions, first);
  encoded = cleave_ocdbt_manifest_encode (&m);
  g_array_unref (m.versions);
  g_array_unref (m.version_nodes);
  ok = write_manifest (NULL, dir, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), error);
  close (lock);
  return ok ? cleave_ocdbt_open (dir, error) : NULL;
}

/* Removes a fork's own files, and refuses to touch a directory that holds
 * anything else: --wipe must never delete what is not a fork. */
static gboolean
wipe_fork (const char *fork_dir,
           const char *data_dir_name,
           GError    **error)
{
  g_autoptr(GDir) dir = g_dir_open (fork_dir, 0, NULL);
  g_autofree char *data_dir = g_build_filename (fork_dir, data_dir_name, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    if (strcmp (name, "manifest.ocdbt") != 0 && strcmp (name, LOCK_NAME) != 0 &&
        strcmp (name, TMP_NAME) != 0 && strcmp (name, data_dir_name) != 0)
      {
        g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS,
                     "%s: holds '%s', which is not part of a fork; not wiping it", fork_dir, name);
        return FALSE;
      }
  if (g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) d = g_dir_open (data_dir, 0, error);

      if (d == NULL)
        return FALSE;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (data_dir, name, NULL);

          if (unlink (path) != 0)
            {
              _cleave_ocdbt_set_io_error (error, errno, path, "cannot remove");
              return FALSE;
            }
        }
      if (rmdir (data_dir) != 0)
        {
          _cleave_ocdbt_set_io_error (error, errno, data_dir, "cannot remove");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
cleave_ocdbt_fork (const char *base_dir,
                   const char *fork_dir,
                   gboolean    wipe,
                   GError    **error)
{
  g_autofree char *base_path = g_build_filename (base_dir, "manifest.ocdbt", NULL);
  g_autofree char *fork_path = g_build_filename (fork_dir, "manifest.ocdbt", NULL);
  g_autofree char *base_abs = g_canonicalize_filename (base_dir, NULL);
  g_autofree char *fork_abs = g_canonicalize_filename (fork_dir, NULL);
  g_autofree char *name = g_path_get_basename (fork_abs);
  g_autofree char *data_dir_name = g_strconcat (name, "_d", NULL);
  g_autoptr(CleaveOcdbtManifest) m = NULL;
  g_autofree char *data = NULL;
  gsize len;
  gboolean ok;
  int lock;

  if (strcmp (base_abs, fork_abs) == 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS,
                   "%s: a store cannot be its own fork", fork_dir);
      return FALSE;
    }
  /* The bytes copied are the bytes checked. */
  m = _cleave_ocdbt_read_manifest (base_dir, error);
  if (m == NULL)
    return FALSE;
  if (m->config.manifest_kind != 0)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_UNSUPPORTED,
                   "%s: forking stores with numbered manifests is not supported", base_dir);
      return FALSE;
    }
  if (!g_file_get_contents (base_path, &data, &len, error))
    return FALSE;
  g_clear_pointer (&m, cleave_ocdbt_manifest_free);
  m = cleave_ocdbt_manifest_decode ((const guint8 *) data, len, base_path, error);
  if (m == NULL)
    return FALSE;

  if (g_mkdir_with_parents (fork_dir, 0755) != 0)
    {
      _cleave_ocdbt_set_io_error (error, errno, fork_dir, "cannot create");
      return FALSE;
    }
  if ((lock = take_lock (fork_dir, error)) < 0)
    return FALSE;
  if (g_file_test (fork_path, G_FILE_TEST_EXISTS) && !wipe)
    {
      g_set_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS,
                   "%s: a fork is already here; wipe it to start again (its commits are lost)", fork_dir);
      close (lock);
      return FALSE;
    }
  ok = (!wipe || wipe_fork (fork_dir, data_dir_name, error)) &&
       write_manifest (NULL, fork_dir, (const guint8 *) data, len, error);
  close (lock);
  return ok;
}
