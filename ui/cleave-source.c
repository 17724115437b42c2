/* cleave-source.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-source"

#include "cleave-source.h"

#include <glib/gstdio.h>
#include <string.h>

#include "cleave-dataset.h"
#include "cleave-graph.h"

#define MAX_CLIENTS 32
/* Decoded chunks kept ready for upload, beyond the core's own cache. */
#define DEFAULT_READY_BYTES (384u << 20)
/* How often to look for other processes' edits. */
#define CHECK_INTERVAL_MS 1000

/* What a file looked like, to tell when another process wrote it. */
typedef struct
{
  gboolean exists;
  guint64  inode;
  gint64   size;
  gint64   mtime_ns;
} FileStamp;

struct _CleaveSource
{
  GObject         parent_instance;

  char           *path;
  char           *name;
  CleaveDataset  *dataset;
  CleaveVolume   *layers[2];
  guint64         generation;

  /* Watching for other writers (main thread). */
  guint           check_id;
  gboolean        checking;
  gboolean        check_again;
  FileStamp       graph_files[2];

  /* SQLite connections are not shared between threads at once. */
  GMutex          graph_lock;
  CleaveGraph    *graph;

  GThreadPool    *pool;
  GMainContext   *context;

  /* Everything below is under @lock. */
  GMutex          lock;
  GHashTable     *ready;        /* key -> CleaveSliceChunk */
  GQueue          lru;          /* of CleaveSliceChunk*, oldest first */
  gsize           ready_bytes;
  gsize           ready_budget;
  GHashTable     *wanted;       /* key -> client mask */
  GHashTable     *queued;       /* key -> TRUE while a job is queued or running */
  guint32         clients;
  gboolean        notify_pending;
  gboolean        disposed;
  guint           epoch;        /* written on the main thread */
  guint64         last_serial;
};

G_DEFINE_FINAL_TYPE (CleaveSource, cleave_source, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_GENERATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  CHUNKS_READY,
  DATA_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The graph's files: with WAL, a commit by anyone changes one of them. */
static const char *graph_files[2] = { "graph.sqlite", "graph.sqlite-wal" };

/* Held beside each ready chunk: its LRU link. */
typedef struct
{
  CleaveSliceChunk  chunk;
  GList             link;
} ChunkBox;

guint64
cleave_slice_chunk_key (CleaveLayer   layer,
                        guint         mip,
                        const gint64  g[3])
{
  return ((guint64) layer << 63) | ((guint64) (mip & 0x1f) << 57)
         | ((guint64) (g[0] & 0x7ffff) << 38) | ((guint64) (g[1] & 0x7ffff) << 19)
         | (guint64) (g[2] & 0x7ffff);
}

static void
slice_chunk_clear (gpointer data)
{
  CleaveSliceChunk *chunk = data;

  g_free (chunk->voxels);
  g_free (chunk->indices);
  g_free (chunk->svs);
  g_free (chunk->roots);
}

CleaveSliceChunk *
cleave_slice_chunk_ref (CleaveSliceChunk *chunk)
{
  return g_atomic_rc_box_acquire (chunk);
}

void
cleave_slice_chunk_unref (CleaveSliceChunk *chunk)
{
  g_atomic_rc_box_release_full (chunk, slice_chunk_clear);
}

static CleaveSliceChunk *
slice_chunk_new (void)
{
  ChunkBox *box = g_atomic_rc_box_new0 (ChunkBox);

  box->link.data = box;
  return &box->chunk;
}

/* The roots of a segmentation chunk's labels (its supervoxels), or the
 * labels themselves without a graph. */
static gboolean
fill_roots (CleaveSource     *self,
            CleaveSliceChunk *chunk,
            GError          **error)
{
  gboolean ok;

  chunk->roots = g_new (guint64, chunk->n_labels);
  chunk->bytes += (gsize) chunk->n_labels * 16;
  if (self->graph == NULL)
    {
      memcpy (chunk->roots, chunk->svs, sizeof (guint64) * chunk->n_labels);
      return TRUE;
    }
  g_mutex_lock (&self->graph_lock);
  ok = cleave_graph_get_roots (self->graph, chunk->svs, chunk->n_labels, CLEAVE_GRAPH_LATEST, chunk->roots, error);
  g_mutex_unlock (&self->graph_lock);
  return ok;
}

CleaveSliceChunk *
cleave_source_load_chunk (CleaveSource  *self,
                          CleaveLayer    layer,
                          guint          mip,
                          const gint64   g[3],
                          GError       **error)
{
  CleaveVolume *volume = self->layers[layer];
  const CleaveScale *scale;
  g_autoptr(CleaveCacheEntry) entry = NULL;
  g_autoptr(CleaveSliceChunk) chunk = NULL;
  gsize n;

  g_return_val_if_fail (volume != NULL, NULL);

  scale = cleave_volume_info_get_scale (cleave_volume_get_info (volume), mip, error);
  if (scale == NULL)
    return NULL;

  chunk = slice_chunk_new ();
  chunk->key = cleave_slice_chunk_key (layer, mip, g);
  chunk->layer = layer;
  chunk->mip = mip;
  memcpy (chunk->g, g, sizeof chunk->g);
  cleave_scale_chunk_box (scale, g, chunk->lo, chunk->hi);
  for (guint d = 0; d < 3; d++)
    chunk->size[d] = (int) (chunk->hi[d] - chunk->lo[d]);
  n = (gsize) chunk->size[0] * chunk->size[1] * chunk->size[2];
  chunk->bytes = sizeof (ChunkBox);

  if (layer == CLEAVE_LAYER_IMAGE)
    {
      const CleaveVolumeInfo *info = cleave_volume_get_info (volume);

      if (info->data_type != CLEAVE_DATA_TYPE_UINT8)
        {
          g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED,
                       "%s: the viewer shows uint8 images only", cleave_volume_get_what (volume));
          return NULL;
        }
      if (!cleave_volume_get_chunk (volume, mip, g, &entry, error))
        return NULL;
      if (entry == NULL)
        chunk->empty = TRUE;
      else
        {
          chunk->voxels = g_memdup2 (entry->value, n);
          chunk->bytes += n;
        }
    }
  else
    {
      /* Straight to palette indices: no 64-bit copy of the chunk. */
      CleaveIndexedLabels labels;
      gboolean found;

      if (!cleave_volume_get_chunk_indexed (volume, mip, g, &found, &labels, error))
        return NULL;
      if (!found)
        chunk->empty = TRUE;
      else
        {
          chunk->svs = g_steal_pointer (&labels.labels);
          chunk->n_labels = labels.n_labels;
          chunk->indices = g_steal_pointer (&labels.indices);
          chunk->wide = labels.wide;
          chunk->bytes += n * (chunk->wide ? 4 : 2);
          if (!fill_roots (self, chunk, error))
            return NULL;
        }
    }

  return g_steal_pointer (&chunk);
}

static gboolean
deliver (gpointer user_data)
{
  CleaveSource *self = user_data;

  g_mutex_lock (&self->lock);
  self->notify_pending = FALSE;
  g_mutex_unlock (&self->lock);
  g_signal_emit (self, signals[CHUNKS_READY], 0);
  return G_SOURCE_REMOVE;
}

static void
evict_locked (CleaveSource *self)
{
  GList *l = self->lru.head;

  while (self->ready_bytes > self->ready_budget && l != NULL)
    {
      ChunkBox *box = l->data;
      GList *next = l->next;

      /* What a client still wants stays. */
      if (!g_hash_table_contains (self->wanted, &box->chunk.key))
        {
          g_queue_unlink (&self->lru, &box->link);
          self->ready_bytes -= box->chunk.bytes;
          g_hash_table_remove (self->ready, &box->chunk.key);
        }
      l = next;
    }
}

/* Whether two readings of one chunk hold the same voxels (and so the same
 * palette indices). */
static gboolean
same_voxels (const CleaveSliceChunk *a,
             const CleaveSliceChunk *b)
{
  gsize n = (gsize) a->size[0] * a->size[1] * a->size[2];

  if (a->empty || b->empty)
    return a->empty && b->empty;
  if (memcmp (a->size, b->size, sizeof a->size) != 0 || a->wide != b->wide || a->n_labels != b->n_labels)
    return FALSE;
  if (a->layer == CLEAVE_LAYER_IMAGE)
    return memcmp (a->voxels, b->voxels, n) == 0;
  return memcmp (a->svs, b->svs, sizeof (guint64) * a->n_labels) == 0
         && memcmp (a->indices, b->indices, n * (a->wide ? 4 : 2)) == 0;
}

/* Puts @chunk in the ready table, unless what is there is as new. A
 * chunk made again keeps the serials of the one it replaces where its
 * content is the same, so views upload nothing for it. */
static void
make_ready_locked (CleaveSource     *self,
                   CleaveSliceChunk *chunk)
{
  CleaveSliceChunk *old = g_hash_table_lookup (self->ready, &chunk->key);

  if (old != NULL && (gint) (old->epoch - chunk->epoch) >= 0)
    return;
  if (old != NULL && same_voxels (old, chunk))
    {
      chunk->voxel_serial = old->voxel_serial;
      chunk->serial = old->empty || chunk->layer == CLEAVE_LAYER_IMAGE
                      || memcmp (old->roots, chunk->roots, sizeof (guint64) * chunk->n_labels) == 0
                      ? old->serial : ++self->last_serial;
    }
  else
    {
      chunk->voxel_serial = ++self->last_serial;
      chunk->serial = ++self->last_serial;
    }
  if (old != NULL)
    {
      g_queue_unlink (&self->lru, &((ChunkBox *) old)->link);
      self->ready_bytes -= old->bytes;
      g_hash_table_remove (self->ready, &chunk->key);
    }
  g_hash_table_insert (self->ready, &chunk->key, cleave_slice_chunk_ref (chunk));
  g_queue_push_tail_link (&self->lru, &((ChunkBox *) chunk)->link);
  self->ready_bytes += chunk->bytes;
  evict_locked (self);
}

static void
job_run (gpointer data,
         gpointer user_data)
{
  CleaveSource *self = user_data;
  guint64 key = *(guint64 *) data;
  g_autoptr(GError) error = NULL;
  CleaveSliceChunk *chunk;
  CleaveLayer layer = (CleaveLayer) (key >> 63);
  guint mip = (guint) ((key >> 57) & 0x1f);
  gint64 g[3] = { (gint64) ((key >> 38) & 0x7ffff), (gint64) ((key >> 19) & 0x7ffff),
                  (gint64) (key & 0x7ffff) };
  gboolean wanted;
  guint epoch;

  g_free (data);

  g_mutex_lock (&self->lock);
  wanted = !self->disposed && g_hash_table_contains (self->wanted, &key);
  if (!wanted)
    g_hash_table_remove (self->queued, &key);
  /* Read before the data: a change seen after this makes the chunk stale. */
  epoch = self->epoch;
  g_mutex_unlock (&self->lock);
  if (!wanted)
    return;

  chunk = cleave_source_load_chunk (self, layer, mip, g, &error);
  if (chunk == NULL)
    {
      g_warning ("cannot load %s chunk %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                 " of mip %u: %s", layer == CLEAVE_LAYER_IMAGE ? "image" : "segmentation",
                 g[0], g[1], g[2], mip, error->message);
      /* An empty chunk stands in, so the view completes and does not ask again. */
      chunk = slice_chunk_new ();
      chunk->key = key;
      chunk->layer = layer;
      chunk->mip = mip;
      chunk->empty = TRUE;
      chunk->bytes = sizeof (ChunkBox);
    }
  chunk->epoch = epoch;

  gboolean notify = FALSE;

  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->queued, &key);
  make_ready_locked (self, chunk);
  if (!self->notify_pending && !self->disposed)
    notify = self->notify_pending = TRUE;
  g_mutex_unlock (&self->lock);
  cleave_slice_chunk_unref (chunk);
  /* Always through the main context's loop, never called here: while
   * the main thread is between iterations g_main_context_invoke would run
   * deliver on this thread (it can acquire a context nobody iterates). */
  if (notify)
    {
      g_autoptr(GSource) idle = g_idle_source_new ();

      g_source_set_priority (idle, G_PRIORITY_DEFAULT);
      g_source_set_callback (idle, deliver, g_object_ref (self), g_object_unref);
      g_source_attach (idle, self->context);
    }
}

/* Watching for other writers -------------------------------------------- */

static void
stamp_file (const char *path,
            FileStamp  *stamp)
{
  GStatBuf st;

  memset (stamp, 0, sizeof *stamp);
  if (g_stat (path, &st) != 0)
    return;
  stamp->exists = TRUE;
  stamp->inode = st.st_ino;
  stamp->size = st.st_size;
  stamp->mtime_ns = (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
}

static void
stamp_graph (const char *dataset_dir,
             FileStamp   stamps[2])
{
  for (guint i = 0; i < G_N_ELEMENTS (graph_files); i++)
    {
      g_autofree char *path = g_build_filename (dataset_dir, graph_files[i], NULL);

      stamp_file (path, &stamps[i]);
    }
}

typedef struct
{
  guint64   generation;
  FileStamp graph_files[2];
} CheckResult;

/* The newest manifest (which other processes' reads then see too) and
 * the graph's files. A few hundred bytes read, two stats. */
static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CleaveSource *self = source_object;
  CleaveOcdbt *store = cleave_volume_get_store (self->layers[CLEAVE_LAYER_SEGMENTATION]);
  CheckResult *result = g_new0 (CheckResult, 1);
  GError *error = NULL;

  stamp_graph (self->path, result->graph_files);
  if (!cleave_ocdbt_refresh (store, &error))
    {
      g_free (result);
      g_task_return_error (task, error);
      return;
    }
  result->generation = cleave_ocdbt_get_version (store).generation;
  g_task_return_pointer (task, result, g_free);
}

static void check_start (CleaveSource *self);

static void
check_done (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  CleaveSource *self = CLEAVE_SOURCE (object);
  g_autoptr(GError) error = NULL;
  g_autofree CheckResult *result = g_task_propagate_pointer (G_TASK (res), &error);
  gboolean new_generation;

  self->checking = FALSE;
  if (result == NULL)
    {
      /* A writer between two files, most likely: next time. */
      g_debug ("%s: %s", self->path, error->message);
      return;
    }
  if (self->disposed)
    return;

  new_generation = result->generation != self->generation;
  if (new_generation || memcmp (result->graph_files, self->graph_files, sizeof self->graph_files) != 0)
    {
      memcpy (self->graph_files, result->graph_files, sizeof self->graph_files);
      g_mutex_lock (&self->lock);
      self->epoch++;
      g_mutex_unlock (&self->lock);
      if (new_generation)
        {
          self->generation = result->generation;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GENERATION]);
        }
      g_signal_emit (self, signals[DATA_CHANGED], 0);
    }
  if (self->check_again)
    check_start (self);
}

static void
check_start (CleaveSource *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->checking)
    {
      self->check_again = TRUE;
      return;
    }
  self->checking = TRUE;
  self->check_again = FALSE;
  task = g_task_new (self, NULL, check_done, NULL);
  g_task_set_source_tag (task, check_start);
  g_task_run_in_thread (task, check_thread);
}

static gboolean
check_timeout (gpointer user_data)
{
  CleaveSource *self = user_data;

  if (!self->checking)
    check_start (self);
  return G_SOURCE_CONTINUE;
}

void
cleave_source_check_changes (CleaveSource *self)
{
  g_return_if_fail (CLEAVE_IS_SOURCE (self));

  check_start (self);
}

static void
cleave_source_dispose (GObject *object)
{
  CleaveSource *self = CLEAVE_SOURCE (object);

  g_mutex_lock (&self->lock);
  self->disposed = TRUE;
  g_mutex_unlock (&self->lock);
  if (self->check_id != 0)
    {
      GSource *source = g_main_context_find_source_by_id (self->context, self->check_id);

      if (source != NULL)
        g_source_destroy (source);
      self->check_id = 0;
    }
  if (self->pool != NULL)
    {
      g_thread_pool_free (self->pool, TRUE, TRUE);
      self->pool = NULL;
    }

  G_OBJECT_CLASS (cleave_source_parent_class)->dispose (object);
}

static void
cleave_source_finalize (GObject *object)
{
  CleaveSource *self = CLEAVE_SOURCE (object);

  /* The LRU links live inside the chunks: forget them, do not free them. */
  g_queue_init (&self->lru);
  g_hash_table_unref (self->ready);
  g_hash_table_unref (self->wanted);
  g_hash_table_unref (self->queued);
  g_clear_pointer (&self->graph, cleave_graph_free);
  g_clear_pointer (&self->dataset, cleave_dataset_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->path);
  g_free (self->name);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->graph_lock);

  G_OBJECT_CLASS (cleave_source_parent_class)->finalize (object);
}

static void
cleave_source_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CleaveSource *self = CLEAVE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_GENERATION:
      g_value_set_uint64 (value, self->generation);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cleave_source_class_init (CleaveSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cleave_source_dispose;
  object_class->finalize = cleave_source_finalize;
  object_class->get_property = cleave_source_get_property;

  properties[PROP_GENERATION] =
    g_param_spec_uint64 ("generation", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted on the main thread after one or more chunks became ready. */
  signals[CHUNKS_READY] = g_signal_new ("chunks-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Emitted on the main thread when the dataset changed on disk (the
   * epoch went up): what was drawn may be stale. */
  signals[DATA_CHANGED] = g_signal_new ("data-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cleave_source_init (CleaveSource *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->graph_lock);
  self->ready = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                       (GDestroyNotify) cleave_slice_chunk_unref);
  self->wanted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->ready_budget = DEFAULT_READY_BYTES;
}

CleaveSource *
cleave_source_open (const char  *path,
                    GError     **error)
{
  g_autoptr(CleaveSource) self = g_object_new (CLEAVE_TYPE_SOURCE, NULL);
  g_autoptr(GError) graph_error = NULL;
  g_autofree char *base = NULL;
  CleaveVolume *seg;
  guint threads;

  self->dataset = cleave_dataset_open (path, error);
  if (self->dataset == NULL)
    return NULL;

  self->path = g_canonicalize_filename (path, NULL);
  base = g_path_get_basename (self->path);
  self->name = g_str_has_suffix (base, ".cleave") ? g_strndup (base, strlen (base) - 7) : g_strdup (base);

  seg = cleave_dataset_get_seg (self->dataset);
  self->layers[CLEAVE_LAYER_SEGMENTATION] = seg;
  self->layers[CLEAVE_LAYER_IMAGE] = cleave_dataset_get_image (self->dataset);
  self->generation = cleave_ocdbt_get_version (cleave_volume_get_store (seg)).generation;

  /* Without a graph the objects are coloured by supervoxel. */
  self->graph = cleave_graph_open (path, &graph_error);
  if (self->graph == NULL)
    {
      if (!g_error_matches (graph_error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&graph_error));
          return NULL;
        }
      g_debug ("%s: %s", path, graph_error->message);
    }
  /* After opening: opening may make the WAL file. */
  stamp_graph (self->path, self->graph_files);

  self->context = g_main_context_ref_thread_default ();
  threads = CLAMP (g_get_num_processors (), 2, 8);
  self->pool = g_thread_pool_new (job_run, self, (int) threads, FALSE, NULL);
  return g_steal_pointer (&self);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  CleaveSource *self = cleave_source_open (task_data, &error);

  if (self == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, self, g_object_unref);
}

void
cleave_source_open_async (const char          *path,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, cleave_source_open_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
}

CleaveSource *
cleave_source_open_finish (GAsyncResult  *result,
                           GError       **error)
{
  CleaveSource *self;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  self = g_task_propagate_pointer (G_TASK (result), error);
  if (self != NULL)
    {
      /* Chunks are delivered where the caller is, not where it was opened. */
      g_main_context_unref (self->context);
      self->context = g_main_context_ref_thread_default ();
    }
  return self;
}

const char *
cleave_source_get_path (CleaveSource *self)
{
  return self->path;
}

const char *
cleave_source_get_name (CleaveSource *self)
{
  return self->name;
}

guint64
cleave_source_get_generation (CleaveSource *self)
{
  return self->generation;
}

guint
cleave_source_get_epoch (CleaveSource *self)
{
  return self->epoch;
}

gboolean
cleave_source_has_graph (CleaveSource *self)
{
  return self->graph != NULL;
}

gboolean
cleave_source_has_image (CleaveSource *self)
{
  return self->layers[CLEAVE_LAYER_IMAGE] != NULL;
}

const CleaveVolumeInfo *
cleave_source_get_info (CleaveSource *self,
                        CleaveLayer   layer)
{
  return self->layers[layer] ? cleave_volume_get_info (self->layers[layer]) : NULL;
}

void
cleave_source_get_resolution (CleaveSource *self,
                              guint         mip,
                              double        res[3])
{
  const CleaveVolumeInfo *info = cleave_source_get_info (self, CLEAVE_LAYER_SEGMENTATION);
  const CleaveScale *s = &g_array_index (info->scales, CleaveScale, MIN (mip, info->scales->len - 1));

  memcpy (res, s->resolution, sizeof (double) * 3);
}

void
cleave_source_get_bounds (CleaveSource *self,
                          double        lo[3],
                          double        hi[3])
{
  const CleaveVolumeInfo *info = cleave_source_get_info (self, CLEAVE_LAYER_SEGMENTATION);
  const CleaveScale *s = &g_array_index (info->scales, CleaveScale, 0);

  for (guint d = 0; d < 3; d++)
    {
      lo[d] = (double) s->voxel_offset[d] * s->resolution[d];
      hi[d] = (double) (s->voxel_offset[d] + s->size[d]) * s->resolution[d];
    }
}

guint
cleave_source_get_n_mips (CleaveSource *self)
{
  return cleave_source_get_info (self, CLEAVE_LAYER_SEGMENTATION)->scales->len;
}

guint
cleave_source_add_client (CleaveSource *self)
{
  guint client;

  g_mutex_lock (&self->lock);
  for (client = 0; client < MAX_CLIENTS; client++)
    if ((self->clients & (1u << client)) == 0)
      break;
  g_assert (client < MAX_CLIENTS);
  self->clients |= 1u << client;
  g_mutex_unlock (&self->lock);
  /* Someone looks: from now on, look for other writers. */
  if (self->check_id == 0)
    {
      GSource *source = g_timeout_source_new (CHECK_INTERVAL_MS);

      g_source_set_callback (source, check_timeout, self, NULL);
      g_source_set_static_name (source, "[cleave] dataset check");
      self->check_id = g_source_attach (source, self->context);
      g_source_unref (source);
    }
  return client;
}

void
cleave_source_remove_client (CleaveSource *self,
                             guint         client)
{
  cleave_source_request (self, client, NULL, 0);
  g_mutex_lock (&self->lock);
  self->clients &= ~(1u << client);
  g_mutex_unlock (&self->lock);
}

void
cleave_source_request (CleaveSource  *self,
                       guint          client,
                       const guint64 *keys,
                       gsize          n_keys)
{
  guint32 bit = 1u << client;
  GHashTableIter iter;
  gpointer k, v;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->wanted);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      guint32 mask = GPOINTER_TO_UINT (v) & ~bit;

      if (mask == 0)
        g_hash_table_iter_remove (&iter);
      else
        g_hash_table_iter_replace (&iter, GUINT_TO_POINTER (mask));
    }

  for (gsize i = 0; i < n_keys; i++)
    {
      CleaveSliceChunk *ready;
      gpointer mask;

      if (g_hash_table_lookup_extended (self->wanted, &keys[i], NULL, &mask))
        {
          g_hash_table_replace (self->wanted, g_memdup2 (&keys[i], 8), GUINT_TO_POINTER (GPOINTER_TO_UINT (mask) | bit));
          continue;
        }
      g_hash_table_insert (self->wanted, g_memdup2 (&keys[i], 8), GUINT_TO_POINTER (bit));
      if (g_hash_table_contains (self->queued, &keys[i]))
        continue;
      ready = g_hash_table_lookup (self->ready, &keys[i]);
      /* The image never changes; a stale segmentation chunk is made again. */
      if (ready != NULL && (ready->layer == CLEAVE_LAYER_IMAGE || ready->epoch == self->epoch))
        continue;
      /* A missing image layer has nothing to load. */
      if (self->layers[keys[i] >> 63] == NULL)
        continue;
      g_hash_table_add (self->queued, g_memdup2 (&keys[i], 8));
      g_thread_pool_push (self->pool, g_memdup2 (&keys[i], 8), NULL);
    }
  g_mutex_unlock (&self->lock);
}

CleaveSliceChunk *
cleave_source_lookup (CleaveSource *self,
                      guint64       key)
{
  CleaveSliceChunk *chunk;

  g_mutex_lock (&self->lock);
  chunk = g_hash_table_lookup (self->ready, &key);
  if (chunk != NULL)
    {
      ChunkBox *box = (ChunkBox *) chunk;

      g_queue_unlink (&self->lru, &box->link);
      g_queue_push_tail_link (&self->lru, &box->link);
      cleave_slice_chunk_ref (chunk);
    }
  g_mutex_unlock (&self->lock);
  return chunk;
}

void
cleave_source_set_cache_budget (CleaveSource *self,
                                gsize         bytes)
{
  g_mutex_lock (&self->lock);
  self->ready_budget = bytes;
  evict_locked (self);
  g_mutex_unlock (&self->lock);
}

static void
probe_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CleaveSource *self = source_object;
  CleaveProbe *probe = task_data;
  const CleaveVolumeInfo *info = cleave_source_get_info (self, CLEAVE_LAYER_SEGMENTATION);
  const CleaveScale *s = &g_array_index (info->scales, CleaveScale, 0);
  GError *error = NULL;

  probe->inside = TRUE;
  for (guint d = 0; d < 3; d++)
    if (probe->xyz[d] < s->voxel_offset[d] || probe->xyz[d] >= s->voxel_offset[d] + s->size[d])
      probe->inside = FALSE;
  if (!probe->inside || g_task_return_error_if_cancelled (task))
    {
      if (!probe->inside)
        g_task_return_boolean (task, TRUE);
      return;
    }

  if (!cleave_volume_lookup (self->layers[CLEAVE_LAYER_SEGMENTATION], 0, probe->xyz, 1, &probe->sv, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  probe->root = probe->sv;
  if (self->graph != NULL && probe->sv != 0)
    {
      gboolean ok;

      g_mutex_lock (&self->graph_lock);
      ok = cleave_graph_get_roots (self->graph, &probe->sv, 1, CLEAVE_GRAPH_LATEST, &probe->root, &error);
      g_mutex_unlock (&self->graph_lock);
      if (!ok)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

void
cleave_source_probe_async (CleaveSource        *self,
                           const gint64         xyz[3],
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  CleaveProbe *probe = g_new0 (CleaveProbe, 1);

  memcpy (probe->xyz, xyz, sizeof probe->xyz);
  g_task_set_source_tag (task, cleave_source_probe_async);
  g_task_set_task_data (task, probe, g_free);
  g_task_run_in_thread (task, probe_thread);
}

gboolean
cleave_source_probe_finish (CleaveSource  *self,
                            GAsyncResult  *result,
                            CleaveProbe   *probe,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  *probe = *(CleaveProbe *) g_task_get_task_data (G_TASK (result));
  return TRUE;
}
