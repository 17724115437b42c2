/* cleave-sv-split-plan.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-sv-split"

#include "cleave-sv-split-private.h"

#include <math.h>
#include <string.h>

#include "algo/cleave-contacts.h"
#include "algo/cleave-svsplit.h"
#include "cleave-hierarchy.h"
#include "cleave-node-id.h"
#include "cleave-util.h"

static void
task_clear (Task *t)
{
  g_clear_pointer (&t->src, g_array_unref);
  g_clear_pointer (&t->snk, g_array_unref);
}

/* More than one splitter label among its voxels. */
static gboolean
piece_split (const Piece *p)
{
  return (p->labels & (p->labels - 1)) != 0;
}

static int
cmp_edge (gconstpointer a,
          gconstpointer b)
{
  const EdgeChange *x = a, *y = b;

  return x->a != y->a ? (x->a < y->a ? -1 : 1) : (x->b < y->b ? -1 : x->b > y->b);
}

#define postcondition(error, ...) _cleave_edit_fail ((error), CLEAVE_EDIT_ERROR_POSTCONDITION, __VA_ARGS__)

static guint64
remap (GArray  *sv_remap,
       guint64  sv)
{
  for (guint i = 0; i + 1 < sv_remap->len; i += 2)
    if (g_array_index (sv_remap, guint64, i) == sv)
      return g_array_index (sv_remap, guint64, i + 1);
  return sv;
}

/* The reference's plan (§2.1): one task per supervoxel holding a source
 * and a sink; its box the seeds' envelope plus one chunk, clipped. Cleave
 * then widens the box to whole chunks, so every piece it touches is
 * rewritten whole and no piece is left half old id, half new. */
GArray *
_cleave_sv_split_plan (CleaveGraph   *g,
                       GArray        *sv_remap,
                       const guint64 *sources,
                       const gint64  *sxyz,
                       guint          n_src,
                       const guint64 *sinks,
                       const gint64  *kxyz,
                       guint          n_snk,
                       GError       **error)
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  GArray *tasks = g_array_new (FALSE, TRUE, sizeof (Task));

  g_array_set_clear_func (tasks, (GDestroyNotify) task_clear);
  for (guint i = 0; i < n_src; i++)
    {
      guint64 rep = remap (sv_remap, sources[i]);
      gboolean overlap = FALSE, seen = FALSE;

      for (guint j = 0; j < n_snk; j++)
        overlap |= remap (sv_remap, sinks[j]) == rep;
      for (guint t = 0; t < tasks->len; t++)
        seen |= g_array_index (tasks, Task, t).rep == rep;
      if (overlap && !seen)
        {
          Task t = { rep, g_array_new (FALSE, FALSE, sizeof (guint)), g_array_new (FALSE, FALSE, sizeof (guint)) };

          for (guint a = i; a < n_src; a++)
            if (remap (sv_remap, sources[a]) == rep)
              g_array_append_val (t.src, a);
          for (guint j = 0; j < n_snk; j++)
            if (remap (sv_remap, sinks[j]) == rep)
              g_array_append_val (t.snk, j);
          for (guint d = 0; d < 3; d++)
            {
              gint64 lo = G_MAXINT64, hi = G_MININT64, vlo = m->voxel_offset[d], vhi = vlo + m->size[d];

              for (guint a = 0; a < t.src->len; a++)
                {
                  gint64 v = sxyz[3 * g_array_index (t.src, guint, a) + d];
                  lo = MIN (lo, v), hi = MAX (hi, v + 1);
                }
              for (guint a = 0; a < t.snk->len; a++)
                {
                  gint64 v = kxyz[3 * g_array_index (t.snk, guint, a) + d];
                  lo = MIN (lo, v), hi = MAX (hi, v + 1);
                }
              lo = CLAMP (lo - (gint64) m->chunk[d], vlo, vhi);
              hi = CLAMP (hi + (gint64) m->chunk[d], vlo, vhi);
              t.lo[d] = vlo + (lo - vlo) / m->chunk[d] * m->chunk[d];
              t.hi[d] = MIN (vhi, vlo + (hi - vlo + m->chunk[d] - 1) / m->chunk[d] * m->chunk[d]);
            }
          g_array_append_val (tasks, t);
        }
    }
  if (tasks->len == 0)
    {
      g_array_unref (tasks);
      postcondition (error, "a supervoxel split was asked for, but no source shares a supervoxel with a sink");
      return NULL;
    }
  /* Boxes that overlap would read what the other rewrites. */
  for (guint a = 0; a < tasks->len; a++)
    for (guint b = a + 1; b < tasks->len; b++)
      {
        Task *ta = &g_array_index (tasks, Task, a), *tb = &g_array_index (tasks, Task, b);
        gboolean apart = FALSE;

        for (guint d = 0; d < 3; d++)
          apart |= ta->hi[d] <= tb->lo[d] || tb->hi[d] <= ta->lo[d];
        if (!apart)
          {
            g_array_unref (tasks);
            g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                         "supervoxels %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " both need splitting close "
                         "together; split one at a time", ta->rep, tb->rep);
            return NULL;
          }
      }
  return tasks;
}

void
_cleave_sv_split_outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->block, g_free);
  g_clear_pointer (&o->pieces, g_array_unref);
  g_clear_pointer (&o->changes, g_array_unref);
  g_clear_pointer (&o->fresh, g_array_unref);
  g_clear_pointer (&o->former, g_hash_table_unref);
}

static void
add_change (GArray     *changes,
            GHashTable *seen,
            guint64     a,
            guint64     b,
            int         kind,
            double      affinity,
            guint64     area,
            gboolean    active)
{
  EdgeChange c = { MIN (a, b), MAX (a, b), kind, affinity, area, active };
  EdgeChange *prev = g_hash_table_lookup (seen, &c);

  /* One row per pair: the strongest claim wins (an infinite join over a
   * bridge, an active edge over an inactive one). */
  if (prev)
    {
      if ((isinf (affinity) && !isinf (prev->affinity)) || (active && !prev->active))
        *prev = c;
      return;
    }
  g_array_append_val (changes, c);
  g_hash_table_insert (seen, g_memdup2 (&c, 16), GUINT_TO_POINTER (changes->len));
}

/* Decoded mip-0 chunks, each looked up once per task. They come through
 * the volume's cache (cleave_volume_read decodes for its caller only), so
 * the write after the cut finds the same chunks decoded. */
typedef struct
{
  CleaveVolume      *seg;
  const CleaveScale *scale;
  GHashTable        *entries;   /* packed grid coordinates -> CleaveCacheEntry, or the volume for an absent chunk */
} Chunks;

static void
chunks_clear (Chunks *c)
{
  GHashTableIter it;
  gpointer v;

  if (c->entries == NULL)
    return;
  g_hash_table_iter_init (&it, c->entries);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (v != (gpointer) c->seg)
      cleave_cache_entry_unref (v);
  g_clear_pointer (&c->entries, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Chunks, chunks_clear)

/* Chunk @gc's voxels (its clipped box in @clo, @chi), or NULL in *voxels
 * when it is absent (all zero). Valid while @c holds it. */
static gboolean
chunks_get (Chunks        *c,
            const gint64   gc[3],
            const guint64 **voxels,
            gint64         clo[3],
            gint64         chi[3],
            GError       **error)
{
  guint64 key = (guint64) gc[0] | (guint64) gc[1] << 21 | (guint64) gc[2] << 42;
  gpointer v = g_hash_table_lookup (c->entries, &key);

  if (v == NULL)
    {
      CleaveCacheEntry *e = NULL;

      if (!cleave_volume_get_chunk (c->seg, 0, gc, &e, error))
        return FALSE;
      v = e ? (gpointer) e : (gpointer) c->seg;
      g_hash_table_insert (c->entries, g_memdup2 (&key, 8), v);
    }
  *voxels = v == (gpointer) c->seg ? NULL : ((CleaveCacheEntry *) v)->value;
  cleave_scale_chunk_box (c->scale, gc, clo, chi);
  return TRUE;
}

/* [lo, hi) of mip 0 into @out, x fastest. */
static gboolean
chunks_read (Chunks       *c,
             const gint64  lo[3],
             const gint64  hi[3],
             guint64      *out,
             GError      **error)
{
  const CleaveScale *s = c->scale;
  gsize sx = (gsize) (hi[0] - lo[0]), sy = (gsize) (hi[1] - lo[1]);
  gint64 g0[3], g1[3], gc[3];

  for (guint d = 0; d < 3; d++)
    {
      g0[d] = (lo[d] - s->voxel_offset[d]) / s->chunk[d];
      g1[d] = (hi[d] - 1 - s->voxel_offset[d]) / s->chunk[d];
    }
  for (gc[2] = g0[2]; gc[2] <= g1[2]; gc[2]++)
    for (gc[1] = g0[1]; gc[1] <= g1[1]; gc[1]++)
      for (gc[0] = g0[0]; gc[0] <= g1[0]; gc[0]++)
        {
          const guint64 *vox;
          gint64 clo[3], chi[3], a[3], b[3];
          gsize cx, cy;

          if (!chunks_get (c, gc, &vox, clo, chi, error))
            return FALSE;
          cx = (gsize) (chi[0] - clo[0]);
          cy = (gsize) (chi[1] - clo[1]);
          for (guint d = 0; d < 3; d++)
            {
              a[d] = MAX (clo[d], lo[d]);
              b[d] = MIN (chi[d], hi[d]);
            }
          for (gint64 z = a[2]; z < b[2]; z++)
            for (gint64 y = a[1]; y < b[1]; y++)
              {
                guint64 *dst = out + ((gsize) (z - lo[2]) * sy + (gsize) (y - lo[1])) * sx + (gsize) (a[0] - lo[0]);

                if (vox)
                  memcpy (dst, vox + ((gsize) (z - clo[2]) * cy + (gsize) (y - clo[1])) * cx + (gsize) (a[0] - clo[0]),
                          (gsize) (b[0] - a[0]) * 8);
                else
                  memset (dst, 0, (gsize) (b[0] - a[0]) * 8);
              }
        }
  return TRUE;
}

/* Whether supervoxel @sv is one of the object's in the split box: a
 * supervoxel lies in the chunk its id names (cleave_verify checks that), so
 * that chunk alone says whether it is there. */
static gboolean
box_member (CleaveGraph   *g,
            Chunks        *chunks,
            const Task    *t,
            guint64        root,
            guint64        sv,
            gboolean      *member,
            GError       **error)
{
  guint64 xyz[3], r;
  gint64 gc[3], clo[3], chi[3];
  const guint64 *vox;
  gsize n;
  gboolean here = FALSE;

  *member = FALSE;
  if (sv == 0 || cleave_node_id_layer (sv) != 1)
    return TRUE;
  cleave_node_id_chunk (sv, cleave_graph_chunk_bits (g, 1), xyz);
  for (guint d = 0; d < 3; d++)
    {
      gint64 lo = chunks->scale->voxel_offset[d] + (gint64) xyz[d] * chunks->scale->chunk[d];

      if (lo < t->lo[d] || lo >= t->hi[d])
        return TRUE;
      gc[d] = (gint64) xyz[d];
    }
  if (!chunks_get (chunks, gc, &vox, clo, chi, error))
    return FALSE;
  n = (gsize) (chi[0] - clo[0]) * (gsize) (chi[1] - clo[1]) * (gsize) (chi[2] - clo[2]);
  for (gsize i = 0; vox && i < n && !here; i++)
    here = vox[i] == sv;
  if (!here)
    return TRUE;
  if (!cleave_graph_get_roots (g, &sv, 1, CLEAVE_GRAPH_LATEST, &r, error))
    return FALSE;
  *member = r == root;
  return TRUE;
}

/* The pieces to split: the object's supervoxels in the box that hold a
 * seed, and those joined to them, within the box, by active infinite edges
 * (one physical supervoxel across chunk faces). A walk from the seeds,
 * reading only the chunks and the edges it reaches. Sorted by id. */
static gboolean
find_pieces (CleaveGraph   *g,
             Chunks        *chunks,
             const Task    *t,
             guint64        root,
             const guint64 *sources,
             const guint64 *sinks,
             GHashTable    *edges,
             GArray        *pieces,
             GError       **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) loaded = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) queue = g_array_new (FALSE, FALSE, sizeof (guint64));
  gboolean member;

  for (guint a = 0; a < t->src->len + t->snk->len; a++)
    {
      guint64 sv = a < t->src->len ? sources[g_array_index (t->src, guint, a)]
                                   : sinks[g_array_index (t->snk, guint, a - t->src->len)];

      if (!g_hash_table_add (seen, g_memdup2 (&sv, 8)))
        continue;
      if (!box_member (g, chunks, t, root, sv, &member, error))
        return FALSE;
      if (member)
        g_array_append_val (queue, sv);
    }
  for (guint q = 0; q < queue->len; q++)
    {
      guint64 u = g_array_index (queue, guint64, q);
      guint64 c = _cleave_graph_chunk_on_layer (g, u, 2);
      g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));
      GHashTableIter it;
      gpointer v;

      if (g_hash_table_add (loaded, g_memdup2 (&c, 8)) && !_cleave_graph_chunk_edges (g, c, edges, error))
        return FALSE;
      g_hash_table_iter_init (&it, edges);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          const EdgeChange *e = v;

          if (e->active && isinf (e->affinity) && (e->a == u || e->b == u))
            g_array_append_vals (next, e->a == u ? &e->b : &e->a, 1);
        }
      /* Hash order is arbitrary; the walk's order must not matter, and
       * does not: the pieces are sorted below. */
      for (guint i = 0; i < next->len; i++)
        {
          guint64 w = g_array_index (next, guint64, i);

          if (!g_hash_table_add (seen, g_memdup2 (&w, 8)))
            continue;
          if (!box_member (g, chunks, t, root, w, &member, error))
            return FALSE;
          if (member)
            g_array_append_val (queue, w);
        }
    }
  g_array_sort (queue, cleave_cmp_u64);
  for (guint i = 0; i < queue->len; i++)
    {
      Piece p = { g_array_index (queue, guint64, i) };
      g_array_append_val (pieces, p);
    }
  return TRUE;
}

/* The box [lo, hi) of the pieces' voxels, from their chunks: all that the
 * split can change. */
static gboolean
pieces_box (CleaveGraph  *g,
            Chunks       *chunks,
            GArray       *pieces,
            GHashTable   *piece_of,
            gint64        lo[3],
            gint64        hi[3],
            GError      **error)
{
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint d = 0; d < 3; d++)
    {
      lo[d] = G_MAXINT64;
      hi[d] = G_MININT64;
    }
  for (guint i = 0; i < pieces->len; i++)
    {
      guint64 sv = g_array_index (pieces, Piece, i).sv, xyz[3], last = 0;
      guint64 c = _cleave_graph_chunk_on_layer (g, sv, 2);
      gint64 gc[3], clo[3], chi[3];
      const guint64 *vox;
      gboolean last_in = FALSE;
      gsize j = 0;

      if (!g_hash_table_add (done, g_memdup2 (&c, 8)))
        continue;
      cleave_node_id_chunk (sv, cleave_graph_chunk_bits (g, 1), xyz);
      for (guint d = 0; d < 3; d++)
        gc[d] = (gint64) xyz[d];
      if (!chunks_get (chunks, gc, &vox, clo, chi, error))
        return FALSE;
      if (vox == NULL)
        continue;
      for (gint64 z = clo[2]; z < chi[2]; z++)
        for (gint64 y = clo[1]; y < chi[1]; y++)
          {
            gint64 first = G_MAXINT64, end = G_MININT64;

            for (gint64 x = clo[0]; x < chi[0]; x++, j++)
              {
                /* Labels come in runs: look each run up once. */
                if (vox[j] != last)
                  {
                    last = vox[j];
                    last_in = g_hash_table_contains (piece_of, &last);
                  }
                if (last_in)
                  {
                    first = MIN (first, x);
                    end = x + 1;
                  }
              }
            if (first < end)
              {
                lo[0] = MIN (lo[0], first), hi[0] = MAX (hi[0], end);
                lo[1] = MIN (lo[1], y), hi[1] = MAX (hi[1], y + 1);
                lo[2] = MIN (lo[2], z), hi[2] = MAX (hi[2], z + 1);
              }
          }
    }
  return TRUE;
}

/* §2.2 for one task: find the pieces, split, mint, route. Writes only
 * counters. All the work is on the pieces' voxels' box (and its shell),
 * not the whole split box: a layer-1 supervoxel lives in one chunk. */
gboolean
_cleave_sv_split_compute_task (CleaveGraph   *g,
                               CleaveVolume  *seg,
                               Task          *t,
                               guint64        root,
                               const guint64 *sources,
                               const gint64  *sxyz,
                               const guint64 *sinks,
                               const gint64  *kxyz,
                               Outcome       *o,
                               GError       **error)
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  g_autoptr(GHashTable) edges = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GHashTable) piece_of = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, NULL);
  g_autoptr(GArray) contacts = g_array_new (FALSE, FALSE, sizeof (CleaveContact));
  g_autoptr(GHashTable) touching = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, NULL);
  g_auto(Chunks) chunks = { seg, NULL, g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL) };
  g_autofree guint64 *old_block = NULL;
  g_autofree guint8 *mask = NULL;
  g_autofree guint8 *labels = NULL;
  g_autofree gint64 *src_seeds = NULL;
  g_autofree gint64 *snk_seeds = NULL;
  CleaveSvSplitParams params;
  gsize size[3], n, rn;
  gboolean began, found;
  GHashTableIter it;
  gpointer k, v;

  chunks.scale = cleave_volume_info_get_scale (cleave_volume_get_info (seg), 0, error);
  if (chunks.scale == NULL)
    return FALSE;
  o->pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
  if (!_cleave_edit_read_begin (g, &began, error))
    return FALSE;
  found = find_pieces (g, &chunks, t, root, sources, sinks, edges, o->pieces, error);
  _cleave_edit_read_end (g, began);
  if (!found)
    return FALSE;
  if (o->pieces->len == 0)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_NO_MASK,
                   "splitting supervoxel %" G_GUINT64_FORMAT ": The supervoxel mask is empty", t->rep);
      return FALSE;
    }
  for (guint i = 0; i < o->pieces->len; i++)
    g_hash_table_insert (piece_of, &g_array_index (o->pieces, Piece, i).sv, GUINT_TO_POINTER (i + 1));

  if (!pieces_box (g, &chunks, o->pieces, piece_of, o->blo, o->bhi, error))
    return FALSE;
  if (o->blo[0] >= o->bhi[0])
    return postcondition (error, "supervoxel %" G_GUINT64_FORMAT " has no voxels in the chunks its pieces name", t->rep);
  for (guint d = 0; d < 3; d++)
    {
      o->rlo[d] = MAX (o->blo[d] - 1, m->voxel_offset[d]);
      o->rhi[d] = MIN (o->bhi[d] + 1, m->voxel_offset[d] + m->size[d]);
      o->rsize[d] = (gsize) (o->rhi[d] - o->rlo[d]);
      size[d] = (gsize) (o->bhi[d] - o->blo[d]);
    }
  rn = o->rsize[0] * o->rsize[1] * o->rsize[2];
  n = size[0] * size[1] * size[2];
  old_block = g_new (guint64, rn);
  if (!chunks_read (&chunks, o->rlo, o->rhi, old_block, error))
    return FALSE;

  /* The geodesic cut over the pieces' box. */
  mask = g_new (guint8, n);
  labels = g_new0 (guint8, n);
  {
    guint64 last = 0;
    gboolean last_in = FALSE;
    gsize i = 0;

    for (gint64 z = o->blo[2]; z < o->bhi[2]; z++)
      for (gint64 y = o->blo[1]; y < o->bhi[1]; y++)
        {
          const guint64 *row = old_block + _cleave_sv_split_at (o, o->blo[0], y, z);

          for (gsize x = 0; x < size[0]; x++, i++)
            {
              if (row[x] != last)
                {
                  last = row[x];
                  last_in = last != 0 && g_hash_table_contains (piece_of, &last);
                }
              mask[i] = last_in;
            }
        }
  }
  src_seeds = g_new (gint64, 3 * t->src->len);
  snk_seeds = g_new (gint64, 3 * t->snk->len);
  for (guint a = 0; a < t->src->len; a++)
    for (guint d = 0; d < 3; d++)
      src_seeds[3 * a + d] = sxyz[3 * g_array_index (t->src, guint, a) + d] - o->blo[d];
  for (guint a = 0; a < t->snk->len; a++)
    for (guint d = 0; d < 3; d++)
      snk_seeds[3 * a + d] = kxyz[3 * g_array_index (t->snk, guint, a) + d] - o->blo[d];
  cleave_svsplit_params_init (&params);
  if (!cleave_svsplit (mask, size, m->resolution, src_seeds, t->src->len, snk_seeds, t->snk->len, &params, labels, error))
    {
      g_prefix_error (error, "splitting supervoxel %" G_GUINT64_FORMAT ": ", t->rep);
      return FALSE;
    }

  /* Which labels each piece got. */
  {
    gsize i = 0;

    for (gint64 z = o->blo[2]; z < o->bhi[2]; z++)
      for (gint64 y = o->blo[1]; y < o->bhi[1]; y++)
        {
          const guint64 *row = old_block + _cleave_sv_split_at (o, o->blo[0], y, z);
          guint64 last = 0;
          Piece *p = NULL;

          for (gsize x = 0; x < size[0]; x++, i++)
            {
              if (!mask[i])
                continue;
              if (row[x] != last)
                {
                  last = row[x];
                  p = &g_array_index (o->pieces, Piece, GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, &last)) - 1);
                }
              p->labels |= 1u << labels[i];
              p->uniform = labels[i];
            }
        }
  }

  /* Minting: one fresh id per label per piece, in the piece's own chunk
   * (so in the chunk it came from); a piece with one label keeps its id. */
  o->fresh = g_array_new (FALSE, FALSE, sizeof (guint64));
  o->former = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (guint i = 0; i < o->pieces->len; i++)
    {
      Piece *p = &g_array_index (o->pieces, Piece, i);
      guint64 chunk = p->sv & ~cleave_node_id_segment_limit (cleave_graph_chunk_bits (g, 1));

      if (!piece_split (p))
        continue;
      for (guint l = 1; l < 4; l++)
        {
          if (!(p->labels & (1u << l)))
            continue;
          if (!_cleave_hierarchy_allocate_id (g, chunk, &p->fresh[l], error))
            {
              _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
              return FALSE;
            }
          g_array_append_val (o->fresh, p->fresh[l]);
          g_hash_table_insert (o->former, g_memdup2 (&p->fresh[l], 8), g_memdup2 (&p->sv, 8));
        }
    }
  if (!_cleave_graph_exec (g->db, g->path, "COMMIT", error))
    {
      _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
      return FALSE;
    }
  if (o->fresh->len == 0)
    return postcondition (error, "the cut of supervoxel %" G_GUINT64_FORMAT " left every piece on one side", t->rep);

  /* The new labels over the shelled box. */
  o->block = g_steal_pointer (&old_block);
  {
    gsize i = 0;

    for (gint64 z = o->blo[2]; z < o->bhi[2]; z++)
      for (gint64 y = o->blo[1]; y < o->bhi[1]; y++)
        {
          guint64 *row = o->block + _cleave_sv_split_at (o, o->blo[0], y, z);
          guint64 last = 0;
          Piece *p = NULL;

          for (gsize x = 0; x < size[0]; x++, i++)
            {
              if (!mask[i])
                continue;
              if (row[x] != last)
                {
                  last = row[x];
                  p = &g_array_index (o->pieces, Piece, GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, &last)) - 1);
                }
              if (p->fresh[labels[i]])
                row[x] = p->fresh[labels[i]];
            }
        }
  }

  /* §2.2 step 7: the old edges onto the fragments, by the faces they
   * actually share in the new labels. */
  cleave_contacts_find (o->block, NULL, o->rsize, o->rsize, contacts);
  for (guint i = 0; i < contacts->len; i++)
    {
      const CleaveContact *c = &g_array_index (contacts, CleaveContact, i);

      if (g_hash_table_contains (o->former, &c->a) || g_hash_table_contains (o->former, &c->b))
        g_hash_table_insert (touching, g_memdup2 (c, 16), GSIZE_TO_POINTER ((gsize) c->area));
    }
  o->changes = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  {
    g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (EdgeChange));

    g_hash_table_iter_init (&it, edges);
    while (g_hash_table_iter_next (&it, &k, &v))
      {
        const EdgeChange *e = v;
        guint pa = GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, &e->a));
        guint pb = GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, &e->b));
        gboolean split_a = pa && piece_split (&g_array_index (o->pieces, Piece, pa - 1));
        gboolean split_b = pb && piece_split (&g_array_index (o->pieces, Piece, pb - 1));

        if (split_a || split_b)
          g_array_append_val (old, *e);
      }
    /* Hash order is arbitrary; fresh ids and rows must not be. */
    g_array_sort (old, cmp_edge);
    for (guint i = 0; i < old->len; i++)
      {
        const EdgeChange *e = &g_array_index (old, EdgeChange, i);
        guint64 ends[2] = { e->a, e->b };
        GArray *side[2];
        guint8 side_label[2][4];
        guint n_side[2];
        guint made = 0;

        /* Each end: its fragments with their labels, or itself with the
         * one label it has in the box (0: outside the box, unknown). */
        for (guint s = 0; s < 2; s++)
          {
            guint pi = GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, &ends[s]));
            Piece *p = pi ? &g_array_index (o->pieces, Piece, pi - 1) : NULL;

            side[s] = g_array_new (FALSE, FALSE, sizeof (guint64));
            n_side[s] = 0;
            if (p && piece_split (p))
              {
                for (guint l = 1; l < 4; l++)
                  if (p->fresh[l])
                    {
                      g_array_append_val (side[s], p->fresh[l]);
                      side_label[s][n_side[s]++] = (guint8) l;
                    }
              }
            else
              {
                g_array_append_val (side[s], ends[s]);
                side_label[s][n_side[s]++] = p ? p->uniform : 0;
              }
          }
        if (isinf (e->affinity) && e->active)
          {
            /* One physical supervoxel: same labels join for good, different
             * labels by a cuttable bridge; an end of unknown label joins its
             * best-touching fragment only, so it cannot bridge the cut. */
            for (guint s = 0; s < 2; s++)
              if (n_side[s] == 1 && side_label[s][0] == 0)
                {
                  guint other = 1 - s;
                  guint64 best = 0, best_area = 0;

                  for (guint f = 0; f < n_side[other]; f++)
                    {
                      guint64 key[2] = { MIN (g_array_index (side[other], guint64, f), ends[s]),
                                         MAX (g_array_index (side[other], guint64, f), ends[s]) };
                      guint64 area = GPOINTER_TO_SIZE (g_hash_table_lookup (touching, key));

                      if (area > best_area)
                        best_area = area, best = g_array_index (side[other], guint64, f);
                    }
                  for (guint f = 0; f < n_side[other]; f++)
                    {
                      guint64 fr = g_array_index (side[other], guint64, f);
                      guint64 key[2] = { MIN (fr, ends[s]), MAX (fr, ends[s]) };
                      guint64 area = GPOINTER_TO_SIZE (g_hash_table_lookup (touching, key));

                      if (area == 0 && best != 0)
                        continue;
                      add_change (o->changes, seen, fr, ends[s], fr == best || best == 0 ? e->kind : CLEAVE_EDGE_SPLIT,
                                  fr == best ? INFINITY : CLEAVE_SV_SPLIT_BRIDGE_AFFINITY, area, TRUE);
                      made++;
                    }
                  goto next;
                }
            for (guint fa = 0; fa < n_side[0]; fa++)
              for (guint fb = 0; fb < n_side[1]; fb++)
                {
                  guint64 x = g_array_index (side[0], guint64, fa), y = g_array_index (side[1], guint64, fb);
                  guint64 key[2] = { MIN (x, y), MAX (x, y) };
                  guint64 area = GPOINTER_TO_SIZE (g_hash_table_lookup (touching, key));
                  gboolean same = side_label[0][fa] == side_label[1][fb];

                  if (area == 0)
                    continue;
                  add_change (o->changes, seen, x, y, same ? e->kind : CLEAVE_EDGE_SPLIT,
                              same ? INFINITY : CLEAVE_SV_SPLIT_BRIDGE_AFFINITY, area, TRUE);
                  made++;
                }
          }
        else
          {
            /* A finite edge goes to the fragments that touch the partner;
             * if none does (a merge edge, say), to all of them. */
            for (guint pass = 0; pass < 2 && made == 0; pass++)
              for (guint fa = 0; fa < n_side[0]; fa++)
                for (guint fb = 0; fb < n_side[1]; fb++)
                  {
                    guint64 x = g_array_index (side[0], guint64, fa), y = g_array_index (side[1], guint64, fb);
                    guint64 key[2] = { MIN (x, y), MAX (x, y) };
                    guint64 area = GPOINTER_TO_SIZE (g_hash_table_lookup (touching, key));

                    if (pass == 0 && area == 0)
                      continue;
                    add_change (o->changes, seen, x, y, e->kind, e->affinity, pass == 0 ? area : e->area, e->active);
                    made++;
                  }
          }
next:
        g_array_unref (side[0]);
        g_array_unref (side[1]);
        if (made == 0)
          return postcondition (error, "edge %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " of a split supervoxel found "
                                "no fragment to go to", e->a, e->b);
      }
  }
  /* Cuttable bridges between the fragments of each piece. */
  for (guint i = 0; i < o->pieces->len; i++)
    {
      Piece *p = &g_array_index (o->pieces, Piece, i);

      for (guint a = 1; a < 4; a++)
        for (guint b = a + 1; b < 4; b++)
          if (p->fresh[a] && p->fresh[b])
            {
              guint64 key[2] = { MIN (p->fresh[a], p->fresh[b]), MAX (p->fresh[a], p->fresh[b]) };

              add_change (o->changes, seen, p->fresh[a], p->fresh[b], CLEAVE_EDGE_SPLIT, CLEAVE_SV_SPLIT_BRIDGE_AFFINITY,
                          GPOINTER_TO_SIZE (g_hash_table_lookup (touching, key)), TRUE);
            }
    }

  /* The reference's checks, before any write: no self loop, no infinite
   * join across the cut (directly, or through one unsplit end), a bridge
   * for every pair of fragments of one piece. */
  {
    g_autoptr(GHashTable) inf_sides = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

    for (guint i = 0; i < o->changes->len; i++)
      {
        const EdgeChange *c = &g_array_index (o->changes, EdgeChange, i);
        guint64 *fa = g_hash_table_lookup (o->former, &c->a), *fb = g_hash_table_lookup (o->former, &c->b);
        guint la = 0, lb = 0;

        if (c->a == c->b)
          return postcondition (error, "routing the edges of the split made a self loop on %" G_GUINT64_FORMAT, c->a);
        for (guint l = 1; l < 4 && fa; l++)
          if (g_array_index (o->pieces, Piece, GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, fa)) - 1).fresh[l] == c->a)
            la = l;
        for (guint l = 1; l < 4 && fb; l++)
          if (g_array_index (o->pieces, Piece, GPOINTER_TO_UINT (g_hash_table_lookup (piece_of, fb)) - 1).fresh[l] == c->b)
            lb = l;
        if (!isinf (c->affinity) || !c->active)
          continue;
        if (la && lb && la != lb && la < 3 && lb < 3)
          return postcondition (error, "an infinite edge would join both sides of the cut (%" G_GUINT64_FORMAT "-%"
                                G_GUINT64_FORMAT ")", c->a, c->b);
        /* An unsplit end: which fragment sides it joins for good. */
        if ((la == 0) != (lb == 0))
          {
            guint64 end = la ? c->b : c->a;
            guint l = la ? la : lb;
            gpointer have = g_hash_table_lookup (inf_sides, &end);
            guint bits = GPOINTER_TO_UINT (have) | (l < 3 ? 1u << l : 0);

            if (bits == 6)
              return postcondition (error, "supervoxel %" G_GUINT64_FORMAT " would join both sides of the cut with "
                                    "infinite edges", end);
            g_hash_table_replace (inf_sides, g_memdup2 (&end, 8), GUINT_TO_POINTER (bits));
          }
      }
  }
  return TRUE;
}
