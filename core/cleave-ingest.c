/* cleave-ingest.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ingest"

#include "cleave-ingest.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "algo/cleave-contacts.h"
#include "cleave-dataset.h"
#include "cleave-fault.h"
#include "cleave-graph-private.h"
#include "cleave-node-id.h"
#include "cleave-parallel.h"
#include "cleave-util.h"

static char *
triple_text (double a,
             double b,
             double c)
{
  return g_strdup_printf ("%.17g,%.17g,%.17g", a, b, c);
}


typedef struct
{
  guint64 a, b;
  double  affinity;
  guint64 area;
} InEdge;

typedef struct
{
  const char  *path;
  sqlite3     *db;
  guint        n_layers;
  guint        spatial_bits;
  gint64       ts;
  GArray      *svs;          /* guint64, sorted */
  GHashTable  *agg;          /* sv -> agglomeration */
  GArray      *edges;        /* InEdge */
} Ingest;

static guint
bits_of (Ingest *in,
         guint   layer)
{
  return cleave_node_bits_per_axis (layer, in->n_layers, in->spatial_bits);
}

static guint64
chunk_on_layer (Ingest  *in,
                guint64  node,
                guint    layer)
{
  return cleave_node_chunk_on_layer (node, layer, in->n_layers, in->spatial_bits);
}
/* The first of @names in @dir that exists, or NULL. */
static char *
find_input (const char  *dir,
            const char **names)
{
  for (guint i = 0; names[i]; i++)
    {
      char *path = g_build_filename (dir, names[i], NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return path;
      g_free (path);
    }
  return NULL;
}

static gboolean
load_agglomeration (Ingest      *in,
                    const char  *dir,
                    GError     **error)
{
  /* demo-agglomeration.tsv: the name demos had before imports wrote one. */
  static const char *names[] = { "agglomeration.tsv", "demo-agglomeration.tsv", NULL };
  g_autofree char *path = find_input (dir, names);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local = NULL;

  if (path == NULL)
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND,
                   "%s/agglomeration.tsv: missing; `cleavectl demo` and `cleavectl import` write it "
                   "(a dataset imported by an older Cleave must be imported again)", dir);
      return FALSE;
    }
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND, "%s: %s", path, local->message);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv, a;
      char *end;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      sv = g_ascii_strtoull (lines[i], &end, 10);
      if (*end != '\t' || (a = g_ascii_strtoull (end + 1, &end, 10), *end != '\0') || sv == 0 ||
          cleave_node_id_layer (sv) != 1)
        {
          g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                       "%s: line %u: expected SV<TAB>AGGLOMERATION with a layer-1 id", path, i + 1);
          return FALSE;
        }
      g_array_append_val (in->svs, sv);
      g_hash_table_insert (in->agg, g_memdup2 (&sv, 8), g_memdup2 (&a, 8));
    }
  g_array_sort (in->svs, cleave_cmp_u64);
  return TRUE;
}

static gboolean
load_edges (Ingest      *in,
            const char  *path,
            GError     **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND, "%s: %s", path, local->message);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) f = NULL;
      InEdge e;
      char *end = NULL;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      f = g_strsplit (lines[i], "\t", -1);
      if (g_strv_length (f) != 4)
        goto bad;
      e.a = g_ascii_strtoull (f[0], &end, 10);
      if (*end)
        goto bad;
      e.b = g_ascii_strtoull (f[1], &end, 10);
      if (*end)
        goto bad;
      e.affinity = strcmp (f[2], "inf") == 0 ? INFINITY : g_ascii_strtod (f[2], &end);
      if (strcmp (f[2], "inf") != 0 && *end)
        goto bad;
      e.area = g_ascii_strtoull (f[3], &end, 10);
      if (*end || !g_hash_table_contains (in->agg, &e.a) || !g_hash_table_contains (in->agg, &e.b) || e.a == e.b)
        goto bad;
      g_array_append_val (in->edges, e);
      continue;
bad:
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                   "%s: line %u: expected SV_A<TAB>SV_B<TAB>AFFINITY<TAB>AREA with known supervoxels", path, i + 1);
      return FALSE;
    }
  return TRUE;
}

/* Contact edges of a segmentation that came without any: found chunk by
 * chunk in worker threads (each chunk read with a one-voxel margin above,
 * so every face is counted once). */
typedef struct
{
  CleaveVolume      *seg;
  CleaveVolume      *image;    /* NULL: affinities from contact area */
  const CleaveScale *s;
  gint64             grid[3];
  gsize              first;    /* of the batch being worked on */
  GArray           **found;    /* per chunk, CleaveContact */
} ContactWork;

static gboolean
contacts_of_chunk (gsize     i,
                   gpointer  user_data,
                   GError  **error)
{
  ContactWork *w = user_data;
  gsize c = w->first + i;
  gint64 g[3] = { (gint64) c % w->grid[0], (gint64) c / w->grid[0] % w->grid[1],
                  (gint64) c / w->grid[0] / w->grid[1] }, lo[3], hi[3];
  gsize size[3], own[3], n;
  g_autofree guint64 *labels = NULL;
  g_autofree guint8 *image = NULL;

  cleave_scale_chunk_box (w->s, g, lo, hi);
  for (guint k = 0; k < 3; k++)
    {
      own[k] = (gsize) (hi[k] - lo[k]);
      if (hi[k] < w->s->voxel_offset[k] + w->s->size[k])
        hi[k]++;
      size[k] = (gsize) (hi[k] - lo[k]);
    }
  n = size[0] * size[1] * size[2];
  labels = g_new (guint64, n);
  if (!cleave_volume_read (w->seg, 0, lo, hi, labels, error))
    return FALSE;
  if (w->image)
    {
      image = g_new (guint8, n);
      if (!cleave_volume_read (w->image, 0, lo, hi, image, error))
        return FALSE;
    }
  w->found[c] = g_array_new (FALSE, FALSE, sizeof (CleaveContact));
  cleave_contacts_find (labels, image, size, own, w->found[c]);
  return TRUE;
}

/* Contact area at which an edge without an image gets affinity 0.5: a
 * large shared face is more likely one object cut in two than a graze. */
#define AREA_HALF_AFFINITY 64.0

static gboolean
find_contacts (Ingest                *in,
               CleaveDataset         *ds,
               CleaveIngestProgress   progress,
               gpointer               user_data,
               GError               **error)
{
  CleaveVolume *seg = cleave_dataset_get_seg (ds);
  CleaveVolume *image = cleave_dataset_get_image (ds);
  ContactWork w = { seg, NULL, &g_array_index (cleave_volume_get_info (seg)->scales, CleaveScale, 0), { 0 }, 0, NULL };
  gsize total, step = 256;
  gboolean ok = TRUE;

  /* The image gives boundary intensities only if it covers the same
   * voxels; otherwise affinities come from contact area alone. */
  if (image)
    {
      const CleaveScale *is = &g_array_index (cleave_volume_get_info (image)->scales, CleaveScale, 0);

      if (memcmp (is->size, w.s->size, sizeof is->size) == 0 &&
          memcmp (is->voxel_offset, w.s->voxel_offset, sizeof is->voxel_offset) == 0)
        w.image = image;
      else
        g_message ("%s: the image does not cover the segmentation's voxels; affinities from contact area",
                   cleave_volume_get_what (image));
    }
  cleave_scale_grid_size (w.s, w.grid);
  total = (gsize) (w.grid[0] * w.grid[1] * w.grid[2]);
  w.found = g_new0 (GArray *, total);
  /* In batches, for progress. */
  for (w.first = 0; ok && w.first < total; w.first += step)
    {
      gsize n = MIN (step, total - w.first);

      ok = cleave_parallel_for (n, contacts_of_chunk, &w, error);
      if (progress)
        progress ("contacts", (double) (w.first + n) / total, user_data);
    }
  for (gsize i = 0; ok && i < total; i++)
    for (guint k = 0; w.found[i] && k < w.found[i]->len; k++)
      {
        const CleaveContact *c = &g_array_index (w.found[i], CleaveContact, k);
        guint64 *la = g_hash_table_lookup (in->agg, &c->a), *lb = g_hash_table_lookup (in->agg, &c->b);
        InEdge e = { c->a, c->b, 0, c->area };

        if (la == NULL || lb == NULL)
          {
            g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                         "%s: supervoxel %" G_GUINT64_FORMAT " (chunk %" G_GSIZE_FORMAT " of mip 0) is not in "
                         "agglomeration.tsv", cleave_volume_get_what (seg), la == NULL ? c->a : c->b, i);
            ok = FALSE;
            break;
          }
        /* One label's pieces in neighbouring chunks are one physical
         * supervoxel: joined by an edge no cut may take. */
        if (*la == *lb)
          e.affinity = INFINITY;
        else if (w.image)
          e.affinity = (double) c->intensity / (2.0 * 255.0 * (double) c->area);
        else
          e.affinity = (double) c->area / ((double) c->area + AREA_HALF_AFFINITY);
        g_array_append_val (in->edges, e);
      }
  for (gsize i = 0; i < total; i++)
    if (w.found[i])
      g_array_unref (w.found[i]);
  g_free (w.found);
  return ok;
}

static gboolean
load_inputs (Ingest                *in,
             const char            *dir,
             CleaveDataset         *ds,
             CleaveIngestProgress   progress,
             gpointer               user_data,
             GError               **error)
{
  static const char *edge_names[] = { "edges.tsv", "demo-edges.tsv", NULL };
  g_autofree char *edge_path = NULL;

  if (!load_agglomeration (in, dir, error))
    return FALSE;
  edge_path = find_input (dir, edge_names);
  if (edge_path)
    return load_edges (in, edge_path, error);
  return find_contacts (in, ds, progress, user_data, error);
}

static guint64
agg_of (Ingest  *in,
        guint64  sv)
{
  return *(guint64 *) g_hash_table_lookup (in->agg, &sv);
}

static gboolean
begin (Ingest  *in,
       GError **error)
{
  return _cleave_graph_exec (in->db, in->path, "BEGIN IMMEDIATE", error);
}

static gboolean
commit (Ingest  *in,
        GError **error)
{
  return _cleave_graph_exec (in->db, in->path, "COMMIT", error);
}

static gboolean
write_edges (Ingest  *in,
             GError **error)
{
  g_autofree char *done = _cleave_graph_meta_get (in->db, "ingest_edges");
  sqlite3_stmt *stmt;
  guint bits = bits_of (in, 2);

  if (g_strcmp0 (done, "done") == 0)
    return TRUE;
  stmt = _cleave_graph_prepare (in->db, in->path,
                  "INSERT OR REPLACE INTO edge (l2chunk, a, b, ts, kind, affinity, area, active) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL || !begin (in, error))
    return FALSE;
  for (guint i = 0; i < in->edges->len; i++)
    {
      const InEdge *e = &g_array_index (in->edges, InEdge, i);
      guint64 ca = chunk_on_layer (in, e->a, 2), cb = chunk_on_layer (in, e->b, 2);
      guint64 chunks[2] = { ca, cb };

      (void) bits;
      for (guint k = 0; k < (ca == cb ? 1u : 2u); k++)
        {
          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) chunks[k]);
          sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) MIN (e->a, e->b));
          sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) MAX (e->a, e->b));
          sqlite3_bind_int64 (stmt, 4, in->ts);
          sqlite3_bind_int (stmt, 5, ca == cb ? CLEAVE_EDGE_IN_CHUNK : CLEAVE_EDGE_CROSS_CHUNK);
          sqlite3_bind_double (stmt, 6, e->affinity);
          sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) e->area);
          /* The initial objects: edges inside one agglomeration join. */
          sqlite3_bind_int (stmt, 8, agg_of (in, e->a) == agg_of (in, e->b));
          if (sqlite3_step (stmt) != SQLITE_DONE)
            {
              sqlite3_finalize (stmt);
              _cleave_graph_exec (in->db, in->path, "ROLLBACK", NULL);
              return _cleave_graph_db_error (in->db, in->path, "writing edges", error);
            }
        }
    }
  sqlite3_finalize (stmt);
  return _cleave_graph_meta_set (in->db, in->path, "ingest_edges", "done", error) && commit (in, error);
}

/* One chunk of one layer: its child nodes, and the connected groups they
 * form (each group becomes one node of this layer). */
typedef struct
{
  guint64  chunk;
  GArray  *members;    /* guint64 child nodes, sorted */
  GArray  *pairs;      /* guint64 pairs of members joined by an agglomeration edge */
  GArray  *group;      /* guint, per member: the group's index */
  guint    n_groups;
} LayerChunk;

static void
layer_chunk_free (LayerChunk *c)
{
  g_array_unref (c->members);
  g_array_unref (c->pairs);
  if (c->group)
    g_array_unref (c->group);
  g_free (c);
}

static gboolean
chunk_done (Ingest  *in,
            guint    layer,
            guint64  chunk)
{
  sqlite3_stmt *stmt = NULL;
  gboolean done;

  sqlite3_prepare_v2 (in->db, "SELECT 1 FROM ingest_chunk WHERE layer = ? AND chunk = ?", -1, &stmt, NULL);
  sqlite3_bind_int (stmt, 1, layer);
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) chunk);
  done = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_finalize (stmt);
  return done;
}

/* Writes the nodes of one chunk of @layer, their parent and children
 * cells, its counter and its done mark, in one transaction. */
static gboolean
write_chunk (Ingest     *in,
             guint       layer,
             LayerChunk *c,
             GError    **error)
{
  g_autoptr(GPtrArray) kids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  sqlite3_stmt *parent = NULL, *child = NULL, *counter = NULL, *mark = NULL;
  guint64 cc[3];
  gboolean ok = FALSE;

  cleave_node_id_chunk (c->chunk, bits_of (in, layer), cc);
  for (guint gi = 0; gi < c->n_groups; gi++)
    g_ptr_array_add (kids, g_array_new (FALSE, FALSE, sizeof (guint64)));
  for (guint i = 0; i < c->members->len; i++)
    {
      guint64 m = GUINT64_TO_LE (g_array_index (c->members, guint64, i));
      g_array_append_val (kids->pdata[g_array_index (c->group, guint, i)], m);
    }
  if (!begin (in, error))
    return FALSE;
  parent = _cleave_graph_prepare (in->db, in->path, "INSERT INTO parent (node, ts, parent) VALUES (?, ?, ?)", error);
  child = _cleave_graph_prepare (in->db, in->path, "INSERT INTO child (node, ts, children) VALUES (?, ?, ?)", error);
  counter = _cleave_graph_prepare (in->db, in->path, "INSERT OR REPLACE INTO counter (chunk, next) VALUES (?, ?)", error);
  mark = _cleave_graph_prepare (in->db, in->path, "INSERT INTO ingest_chunk (layer, chunk) VALUES (?, ?)", error);
  if (!parent || !child || !counter || !mark)
    goto out;
  for (guint gi = 0; gi < c->n_groups; gi++)
    {
      GArray *k = kids->pdata[gi];
      guint64 id = cleave_node_id_make (layer, bits_of (in, layer), cc[0], cc[1], cc[2], gi + 1);

      sqlite3_reset (child);
      sqlite3_bind_int64 (child, 1, (sqlite3_int64) id);
      sqlite3_bind_int64 (child, 2, in->ts);
      sqlite3_bind_blob (child, 3, k->data, k->len * 8, SQLITE_STATIC);
      if (sqlite3_step (child) != SQLITE_DONE)
        goto fail;
      for (guint j = 0; j < k->len; j++)
        {
          sqlite3_reset (parent);
          sqlite3_bind_int64 (parent, 1, (sqlite3_int64) GUINT64_FROM_LE (g_array_index (k, guint64, j)));
          sqlite3_bind_int64 (parent, 2, in->ts);
          sqlite3_bind_int64 (parent, 3, (sqlite3_int64) id);
          if (sqlite3_step (parent) != SQLITE_DONE)
            goto fail;
        }
    }
  sqlite3_bind_int64 (counter, 1, (sqlite3_int64) c->chunk);
  sqlite3_bind_int64 (counter, 2, c->n_groups + 1);
  sqlite3_bind_int (mark, 1, layer);
  sqlite3_bind_int64 (mark, 2, (sqlite3_int64) c->chunk);
  if (sqlite3_step (counter) != SQLITE_DONE || sqlite3_step (mark) != SQLITE_DONE)
    goto fail;
  ok = commit (in, error);
  cleave_fault_point ("ingest-chunk-written");
  goto out;

fail:
  _cleave_graph_db_error (in->db, in->path, "writing nodes", error);
  _cleave_graph_exec (in->db, in->path, "ROLLBACK", NULL);
out:
  sqlite3_finalize (parent);
  sqlite3_finalize (child);
  sqlite3_finalize (counter);
  sqlite3_finalize (mark);
  return ok;
}

typedef struct
{
  Ingest     *in;
  guint       layer;
  GPtrArray  *chunks;      /* LayerChunk */
  GHashTable *below;       /* sv -> its node on layer - 1 (guint64*) */
  GHashTable *member_of;   /* node on layer - 1 -> LayerChunk index (+1) */
} LayerWork;

static guint64
node_below (LayerWork *w,
            guint64    sv)
{
  guint64 *n = w->below ? g_hash_table_lookup (w->below, &sv) : NULL;

  return n ? *n : sv;
}

/* Groups one chunk's members: connected through agglomeration edges whose
 * endpoints' nodes (one layer down) both lie in this chunk. */
static gboolean
group_chunk (gsize     i,
             gpointer  user_data,
             GError  **error)
{
  LayerWork *w = user_data;
  LayerChunk *c = w->chunks->pdata[i];
  g_autofree guint *p = g_new (guint, c->members->len);
  g_autofree guint *first = NULL;
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, NULL);
  guint n = c->members->len;

  for (guint k = 0; k < n; k++)
    {
      p[k] = k;
      g_hash_table_insert (index, &g_array_index (c->members, guint64, k), GUINT_TO_POINTER (k + 1));
    }
  for (guint e = 0; e + 1 < c->pairs->len; e += 2)
    {
      guint ia = GPOINTER_TO_UINT (g_hash_table_lookup (index, &g_array_index (c->pairs, guint64, e)));
      guint ib = GPOINTER_TO_UINT (g_hash_table_lookup (index, &g_array_index (c->pairs, guint64, e + 1)));

      if (ia && ib)
        cleave_uf_union (p, ia - 1, ib - 1);
    }
  /* Groups numbered in order of their first (smallest) member. */
  first = g_new (guint, n);
  c->group = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  c->n_groups = 0;
  for (guint k = 0; k < n; k++)
    {
      guint r = cleave_uf_find (p, k), gi;

      if (r == k)
        first[k] = c->n_groups++;
      gi = first[r];
      g_array_append_val (c->group, gi);
    }
  return TRUE;
}

/* All parent cells, to know each supervoxel's node on the layer below. */
static GHashTable *
load_parents (Ingest  *in,
              GError **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (in->db, in->path, "SELECT node, parent FROM parent", error);
  GHashTable *parents;

  if (stmt == NULL)
    return NULL;
  parents = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      guint64 *kv = g_new (guint64, 2);

      kv[0] = (guint64) sqlite3_column_int64 (stmt, 0);
      kv[1] = (guint64) sqlite3_column_int64 (stmt, 1);
      g_hash_table_insert (parents, kv, kv + 1);
    }
  sqlite3_finalize (stmt);
  return parents;
}

static gboolean
build_layer (Ingest               *in,
             guint                 layer,
             CleaveIngestProgress  progress,
             gpointer              user_data,
             GError              **error)
{
  g_autoptr(GHashTable) parents = NULL;
  g_autoptr(GHashTable) below = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) by_chunk = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GPtrArray) chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_chunk_free);
  g_autoptr(GPtrArray) todo = g_ptr_array_new ();
  LayerWork w = { in, layer, NULL, NULL, NULL };

  /* Each supervoxel's node on layer - 1 (itself on layer 2's turn). */
  if (layer > 2)
    {
      parents = load_parents (in, error);
      if (parents == NULL)
        return FALSE;
      for (guint i = 0; i < in->svs->len; i++)
        {
          guint64 n = g_array_index (in->svs, guint64, i);

          for (guint l = 1; l < layer - 1; l++)
            {
              guint64 *p = g_hash_table_lookup (parents, &n);
              if (p == NULL)
                {
                  g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                               "%s: node %" G_GUINT64_FORMAT " has no parent on layer %u", in->path, n, l + 1);
                  return FALSE;
                }
              n = *p;
            }
          g_hash_table_insert (below, g_memdup2 (&g_array_index (in->svs, guint64, i), 8), g_memdup2 (&n, 8));
        }
      w.below = below;
    }

  /* The members of each chunk of this layer: the distinct nodes below. */
  {
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GArray) nodes = g_array_new (FALSE, FALSE, sizeof (guint64));

    for (guint i = 0; i < in->svs->len; i++)
      {
        guint64 n = node_below (&w, g_array_index (in->svs, guint64, i));

        if (g_hash_table_add (seen, g_memdup2 (&n, 8)))
          g_array_append_val (nodes, n);
      }
    g_array_sort (nodes, cleave_cmp_u64);
    for (guint k = 0; k < nodes->len; k++)
      {
        guint64 n = g_array_index (nodes, guint64, k), c = chunk_on_layer (in, n, layer);
        LayerChunk *lc = g_hash_table_lookup (by_chunk, &c);

        if (lc == NULL)
          {
            lc = g_new0 (LayerChunk, 1);
            lc->chunk = c;
            lc->members = g_array_new (FALSE, FALSE, sizeof (guint64));
            lc->pairs = g_array_new (FALSE, FALSE, sizeof (guint64));
            g_ptr_array_add (chunks, lc);
            g_hash_table_insert (by_chunk, &lc->chunk, lc);
          }
        g_array_append_val (lc->members, n);
      }
  }
  /* Each agglomeration edge joins two nodes of one chunk of this layer, or
   * none: bucket the edges by that chunk. */
  for (guint e = 0; e < in->edges->len; e++)
    {
      const InEdge *ed = &g_array_index (in->edges, InEdge, e);
      guint64 a, b, ca;
      LayerChunk *lc;

      if (agg_of (in, ed->a) != agg_of (in, ed->b))
        continue;
      a = node_below (&w, ed->a);
      b = node_below (&w, ed->b);
      ca = chunk_on_layer (in, a, layer);
      if (a == b || ca != chunk_on_layer (in, b, layer) || (lc = g_hash_table_lookup (by_chunk, &ca)) == NULL)
        continue;
      g_array_append_val (lc->pairs, a);
      g_array_append_val (lc->pairs, b);
    }
  for (guint i = 0; i < chunks->len; i++)
    if (!chunk_done (in, layer, ((LayerChunk *) chunks->pdata[i])->chunk))
      g_ptr_array_add (todo, chunks->pdata[i]);

  w.chunks = todo;
  if (!cleave_parallel_for (todo->len, group_chunk, &w, error))
    return FALSE;
  for (guint i = 0; i < todo->len; i++)
    {
      if (!write_chunk (in, layer, todo->pdata[i], error))
        return FALSE;
      if (progress && (i % 16 == 0 || i + 1 == todo->len))
        {
          g_autofree char *phase = g_strdup_printf ("layer %u", layer);
          progress (phase, (double) (i + 1) / todo->len, user_data);
        }
    }
  return TRUE;
}

static void
remove_db (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
      g_unlink (p);
    }
}

gboolean
cleave_ingest (const char           *dir,
                     gboolean              force,
                     CleaveIngestProgress  progress,
                     gpointer              user_data,
                     GError              **error)
{
  g_autofree char *path = _cleave_graph_path (dir);
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) check = NULL;
  g_autofree char *state = NULL;
  g_autofree char *ts_text = NULL;
  Ingest in = { path, NULL, 0, CLEAVE_NODE_DEFAULT_SPATIAL_BITS, 0, g_array_new (FALSE, FALSE, sizeof (guint64)),
                g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free),
                g_array_new (FALSE, FALSE, sizeof (InEdge)) };
  const CleaveScale *s;
  gint64 grid_max = 1;
  gboolean ok = FALSE;

  ds = cleave_dataset_open (dir, error);
  if (ds == NULL)
    goto out;
  s = &g_array_index (cleave_volume_get_info (cleave_dataset_get_seg (ds))->scales, CleaveScale, 0);
  for (guint k = 0; k < 3; k++)
    grid_max = MAX (grid_max, (s->size[k] + s->chunk[k] - 1) / s->chunk[k]);
  in.n_layers = 2;
  while ((G_GINT64_CONSTANT (1) << (in.n_layers - 2)) < grid_max)
    in.n_layers++;
  in.n_layers = MAX (3, in.n_layers);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      sqlite3 *db = _cleave_graph_open_db (path, FALSE, error);

      if (db == NULL)
        goto out;
      state = _cleave_graph_meta_get (db, "ingest");
      sqlite3_close (db);
      if (g_strcmp0 (state, "done") == 0 && !force)
        {
          g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_EXISTS,
                       "%s: the dataset has a graph already; --force rebuilds it (every edit is lost)", dir);
          goto out;
        }
      if (force)
        remove_db (path);
    }
  in.db = _cleave_graph_open_db (path, TRUE, error);
  if (in.db == NULL || !load_inputs (&in, dir, ds, progress, user_data, error))
    goto out;

  /* The metadata and the ingest's time are written once: a resumed
   * ingest keeps them, so its nodes match an uninterrupted one's. */
  ts_text = _cleave_graph_meta_get (in.db, "ingest_ts");
  if (ts_text == NULL)
    {
      g_autofree char *size = triple_text (s->size[0], s->size[1], s->size[2]);
      g_autofree char *offset = triple_text (s->voxel_offset[0], s->voxel_offset[1], s->voxel_offset[2]);
      g_autofree char *chunk = triple_text (s->chunk[0], s->chunk[1], s->chunk[2]);
      g_autofree char *res = triple_text (s->resolution[0], s->resolution[1], s->resolution[2]);
      g_autofree char *layers = g_strdup_printf ("%u", in.n_layers);
      g_autofree char *bits = g_strdup_printf ("%u", in.spatial_bits);

      in.ts = cleave_now_ns ();
      ts_text = g_strdup_printf ("%" G_GINT64_FORMAT, in.ts);
      if (!begin (&in, error) ||
          !_cleave_graph_meta_set (in.db, path, "format", CLEAVE_GRAPH_FORMAT_VERSION, error) ||
          !_cleave_graph_meta_set (in.db, path, "size", size, error) ||
          !_cleave_graph_meta_set (in.db, path, "voxel_offset", offset, error) ||
          !_cleave_graph_meta_set (in.db, path, "chunk_size", chunk, error) ||
          !_cleave_graph_meta_set (in.db, path, "resolution", res, error) ||
          !_cleave_graph_meta_set (in.db, path, "fanout", "2", error) ||
          !_cleave_graph_meta_set (in.db, path, "n_layers", layers, error) ||
          !_cleave_graph_meta_set (in.db, path, "spatial_bits", bits, error) ||
          !_cleave_graph_meta_set (in.db, path, "ingest", "running", error) ||
          !_cleave_graph_meta_set (in.db, path, "ingest_ts", ts_text, error) ||
          !commit (&in, error))
        goto out;
    }
  else
    in.ts = g_ascii_strtoll (ts_text, NULL, 10);

  if (progress)
    progress ("edges", 0, user_data);
  if (!write_edges (&in, error))
    goto out;
  for (guint layer = 2; layer <= in.n_layers; layer++)
    if (!build_layer (&in, layer, progress, user_data, error))
      goto out;
  if (!_cleave_graph_meta_set (in.db, path, "ingest", "done", error))
    goto out;

  /* The sanity check: every supervoxel has a root. */
  if (progress)
    progress ("check", 1, user_data);
  check = cleave_graph_open (dir, error);
  if (check == NULL)
    goto out;
  {
    g_autofree guint64 *roots = g_new (guint64, MAX (in.svs->len, 1));

    if (!cleave_graph_get_roots (check, (guint64 *) in.svs->data, in.svs->len, CLEAVE_GRAPH_LATEST, roots, error))
      {
        _cleave_graph_meta_set (in.db, path, "ingest", "failed-check", NULL);
        goto out;
      }
  }
  ok = TRUE;

out:
  if (in.db)
    sqlite3_close (in.db);
  g_array_unref (in.svs);
  g_hash_table_unref (in.agg);
  g_array_unref (in.edges);
  return ok;
}
