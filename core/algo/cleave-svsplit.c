/* cleave-svsplit.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The geodesic supervoxel splitter, after CAVEconnectome/
 * supervoxel-splitter's GeodesicSplitter with the MCP metric. The stages,
 * and where this port departs from the reference, are in docs/svsplit.md.
 */

#define G_LOG_DOMAIN "cleave-svsplit"

#include "cleave-svsplit.h"
#include "cleave-svsplit-private.h"
#include "cleave-components.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

G_DEFINE_QUARK (cleave-svsplit-error-quark, cleave_svsplit_error)

#define BAND_MIN_VOXELS 64

void
cleave_svsplit_params_init (CleaveSvSplitParams *params)
{
  g_return_if_fail (params != NULL);

  params->gamma_neck = 1.6;
  params->narrow_band_rel = 0.08;
  params->nb_dilate = 1;
  params->k_prox = 2.0;
  params->lambda_prox = 1.0;
}

/* ------------------------------------------------------------------ */
/* Distance transform                                                  */

/* One line of the squared EDT: d[p] = min_q s2 (p - q)^2 + f[q], the
 * lower envelope of parabolas (Felzenszwalb and Huttenlocher 2012).
 * Sites with f = +inf carry no parabola. */
static void
edt_line (const double *f,
          double       *d,
          gsize         n,
          double        s2,
          gsize        *v,
          double       *z)
{
  gsize k = 0, q;
  gboolean any = FALSE;

  for (q = 0; q < n; q++)
    {
      double s;

      if (isinf (f[q]))
        continue;
      if (!any)
        {
          any = TRUE;
          v[0] = q;
          z[0] = -INFINITY;
          z[1] = INFINITY;
          continue;
        }
      for (;;)
        {
          gsize p = v[k];

          s = ((f[q] + s2 * (double) q * q) - (f[p] + s2 * (double) p * p))
              / (2.0 * s2 * (double) (q - p));
          if (s > z[k] || k == 0)
            break;
          k--;
        }
      /* z[0] is -inf, so k == 0 always breaks; keep s > z[0] true. */
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = INFINITY;
    }

  if (!any)
    {
      for (q = 0; q < n; q++)
        d[q] = INFINITY;
      return;
    }
  k = 0;
  for (q = 0; q < n; q++)
    {
      double dq;

      while (z[k + 1] < (double) q)
        k++;
      dq = (double) q - (double) v[k];
      d[q] = s2 * dq * dq + f[v[k]];
    }
}

void
_cleave_svsplit_edt_sq (const guint8 *mask,
                        const gsize   size[3],
                        const double  resolution[3],
                        float        *out)
{
  gsize nx = size[0], ny = size[1], nz = size[2];
  gsize stride[3] = { 1, nx, nx * ny };
  gsize nmax = MAX (nx, MAX (ny, nz));
  g_autofree double *f = g_new (double, nmax);
  g_autofree double *d = g_new (double, nmax);
  g_autofree double *z = g_new (double, nmax + 1);
  g_autofree gsize *v = g_new (gsize, nmax);

  if (nx == 0 || ny == 0 || nz == 0)
    return;

  /* Along x a binary row needs no envelope: two sweeps for the distance
   * to the nearest background voxel of the row. */
  for (gsize row = 0; row < ny * nz; row++)
    {
      const guint8 *m = mask + row * nx;
      float *o = out + row * nx;
      double s2 = resolution[0] * resolution[0];
      gssize last = -1;

      for (gsize x = 0; x < nx; x++)
        {
          if (m[x] == 0)
            last = (gssize) x;
          d[x] = last < 0 ? INFINITY : (double) ((gssize) x - last);
        }
      last = -1;
      for (gsize x = nx; x-- > 0;)
        {
          double dx;

          if (m[x] == 0)
            last = (gssize) x;
          dx = last < 0 ? INFINITY : (double) (last - (gssize) x);
          dx = MIN (dx, d[x]);
          o[x] = isinf (dx) ? INFINITY : (float) (s2 * dx * dx);
        }
    }

  for (guint axis = 1; axis < 3; axis++)
    {
      gsize n = size[axis], st = stride[axis];
      double s2 = resolution[axis] * resolution[axis];

      if (n == 1)
        continue;
      for (gsize zz = 0; zz < (axis == 2 ? 1 : nz); zz++)
        for (gsize yy = 0; yy < (axis == 2 ? ny : 1); yy++)
          for (gsize x = 0; x < nx; x++)
            {
              float *o = out + (axis == 2 ? yy * nx : zz * stride[2]) + x;
              gboolean all_zero = TRUE, all_inf = TRUE;

              for (gsize q = 0; q < n; q++)
                {
                  f[q] = o[q * st];
                  all_zero &= f[q] == 0;
                  all_inf &= isinf (f[q]);
                }
              /* A line all background stays 0, one with no background
               * stays +inf: most of a crop's lines miss the mask. */
              if (all_zero || all_inf)
                continue;
              edt_line (f, d, n, s2, v, z);
              for (gsize q = 0; q < n; q++)
                o[q * st] = (float) d[q];
            }
    }
}

/* ------------------------------------------------------------------ */
/* Arrival fields                                                      */

/* The arrival and the cost of a voxel side by side: a relaxation reads
 * both, so each neighbour costs one cache line instead of two. */
typedef struct
{
  float t;
  float c;
} Cell;

/* A large scratch array, on huge pages where the kernel offers them:
 * 26-neighbour steps span three planes, which otherwise miss the TLB. */
static gpointer
big_alloc (gsize bytes)
{
  gpointer p = NULL;

  if (bytes >= (gsize) 4 << 20 && posix_memalign (&p, (gsize) 2 << 20, bytes) == 0)
    {
#ifdef MADV_HUGEPAGE
      madvise (p, bytes, MADV_HUGEPAGE);
#endif
      return p;
    }
  return g_malloc (bytes);
}

#define MAX_BUCKETS (1u << 16)

/* Multi-source Dijkstra with a bucket queue (Dial's algorithm, widened
 * as Dinitz showed): buckets as wide as the cheapest edge hold nodes
 * whose arrivals are all final, since nothing in the same bucket can
 * improve on them. So the fields are exact, not quantised, and a pop is
 * O(1). Buckets are intrusive doubly-linked lists through the voxels
 * (decrease-key is unlink + link, no stale entries), on a circular window
 * of at most MAX_BUCKETS; keys beyond it wait in an overflow list. */
void
_cleave_svsplit_arrival (const float   *cost,
                         const gsize    size[3],
                         const double   resolution[3],
                         const guint32 *seeds,
                         guint          n_seeds,
                         float         *out)
{
  gsize nx = size[0], ny = size[1], n_vox = size[0] * size[1] * size[2];
  gssize off[26];
  float half_len[26];
  double min_half = G_MAXDOUBLE, max_half = 0, c_min = INFINITY, c_max = 0, width, inv_width;
  guint32 (*link)[2];   /* next, prev; sentinels at n_vox + slot */
  guint32 nb, over;
  gsize cur = 0, n_live = 0, over_min = G_MAXSIZE;
  Cell *cell;
  guint k = 0;

  if (n_seeds == 0 || n_vox == 0)
    {
      for (gsize i = 0; i < n_vox; i++)
        out[i] = INFINITY;
      return;
    }

  for (int dz = -1; dz <= 1; dz++)
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++)
        {
          double lx = dx * resolution[0], ly = dy * resolution[1], lz = dz * resolution[2];

          if (dx == 0 && dy == 0 && dz == 0)
            continue;
          off[k] = dx + dy * (gssize) nx + dz * (gssize) (nx * ny);
          half_len[k] = (float) (0.5 * sqrt (lx * lx + ly * ly + lz * lz));
          min_half = MIN (min_half, half_len[k]);
          max_half = MAX (max_half, half_len[k]);
          k++;
        }

  cell = big_alloc (n_vox * sizeof (Cell));
  for (gsize i = 0; i < n_vox; i++)
    {
      cell[i] = (Cell) { INFINITY, cost[i] };
      if (!isinf (cost[i]))
        {
          c_min = MIN (c_min, cost[i]);
          c_max = MAX (c_max, cost[i]);
        }
    }
  if (isinf (c_min))
    {
      for (gsize i = 0; i < n_vox; i++)
        out[i] = INFINITY;
      free (cell);
      return;
    }
  /* A hair under the cheapest edge, for the rounding of du + edge. */
  width = 2.0 * min_half * c_min * (1.0 - 1e-4);
  inv_width = 1.0 / width;
  nb = (guint32) MIN ((double) MAX_BUCKETS, ceil (2.0 * max_half * c_max / width) + 2);
  over = (guint32) n_vox + nb;
  link = big_alloc ((n_vox + nb + 1) * sizeof *link);
  for (guint32 sl = 0; sl <= nb; sl++)
    link[n_vox + sl][0] = link[n_vox + sl][1] = (guint32) (n_vox + sl);

#define UNLINK(v) G_STMT_START {                        \
    guint32 nx_ = link[v][0], pv_ = link[v][1];         \
    link[pv_][0] = nx_;                                 \
    link[nx_][1] = pv_;                                 \
  } G_STMT_END
#define LINK(v, head) G_STMT_START {                    \
    guint32 h_ = (head), f_ = link[h_][0];              \
    link[v][0] = f_;                                    \
    link[v][1] = h_;                                    \
    link[f_][1] = (v);                                  \
    link[h_][0] = (v);                                  \
  } G_STMT_END

  for (guint s = 0; s < n_seeds; s++)
    {
      guint32 v = seeds[s];

      if (v >= n_vox || isinf (cost[v]))
        {
          g_critical ("%s: seed %u is blocked or off the box", G_STRFUNC, v);
          continue;
        }
      if (cell[v].t == 0.0f)
        continue;
      cell[v].t = 0.0f;
      LINK (v, (guint32) n_vox);
      n_live++;
    }

  /* over_min bounds the overflow's bucket indices from below (removals
   * can leave it low, which costs a needless scan at most). */
  while (n_live > 0)
    {
      guint32 head;

      if (over_min < cur + nb && link[over][0] != over)
        {
          guint32 v = link[over][0];

          /* The window has reached the overflow: take in what fits. */
          over_min = G_MAXSIZE;
          while (v != over)
            {
              guint32 next = link[v][0];
              gsize idx = MAX ((gsize) (cell[v].t * inv_width), cur);

              if (idx < cur + nb)
                {
                  UNLINK (v);
                  LINK (v, (guint32) (n_vox + idx % nb));
                }
              else
                over_min = MIN (over_min, idx);
              v = next;
            }
        }

      head = (guint32) (n_vox + cur % nb);
      while (link[head][0] != head)
        {
          guint32 u = link[head][0];
          float du = cell[u].t, cu = cell[u].c;

          UNLINK (u);
          n_live--;
          /* Blocked neighbours have cost +inf, so nd is +inf and fails
           * the test; settled ones already hold no more than du < nd. */
          for (k = 0; k < 26; k++)
            {
              Cell *w = cell + (gssize) u + off[k];
              float nd = du + half_len[k] * (cu + w->c);

              if (nd < w->t)
                {
                  guint32 wi = (guint32) (w - cell);
                  gsize idx = MAX ((gsize) (nd * inv_width), cur);

                  if (!isinf (w->t))
                    UNLINK (wi);
                  else
                    n_live++;
                  w->t = nd;
                  if (idx < cur + nb)
                    LINK (wi, (guint32) (n_vox + idx % nb));
                  else
                    {
                      LINK (wi, over);
                      over_min = MIN (over_min, idx);
                    }
                }
            }
        }
      cur++;
    }
#undef LINK
#undef UNLINK

  for (gsize i = 0; i < n_vox; i++)
    out[i] = cell[i].t;
  free (link);
  free (cell);
}

typedef struct
{
  const float   *cost;
  const gsize   *size;
  const double  *resolution;
  const guint32 *seeds;
  guint          n_seeds;
  float         *out;
} ArrivalJob;

static gpointer
arrival_thread (gpointer data)
{
  ArrivalJob *job = data;

  _cleave_svsplit_arrival (job->cost, job->size, job->resolution, job->seeds, job->n_seeds,
                           job->out);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Seeds                                                               */

static inline double
dist2_nm (const gint64  a[3],
          const gint64  b[3],
          const double  resolution[3])
{
  double s = 0;

  for (guint i = 0; i < 3; i++)
    {
      double d = (double) (a[i] - b[i]) * resolution[i];

      s += d * d;
    }
  return s;
}

/* The nearest mask voxel to @seed in nm, the lowest linear index on a
 * tie; a seed on the mask stays. Slices and rows are visited outward from
 * the seed and skipped once they cannot beat the best so far. */
static void
snap_seed (const guint8  *mask,
           const gsize    size[3],
           const gsize    lo[3],
           const gsize    hi[3],
           const double   resolution[3],
           const gint64   seed[3],
           gint64         snapped[3])
{
  double best = INFINITY;
  gsize best_i = G_MAXSIZE;
  gint64 z_near, y_near;

  if (seed[0] >= 0 && seed[1] >= 0 && seed[2] >= 0
      && (guint64) seed[0] < size[0] && (guint64) seed[1] < size[1] && (guint64) seed[2] < size[2]
      && mask[((gsize) seed[2] * size[1] + (gsize) seed[1]) * size[0] + (gsize) seed[0]])
    {
      memcpy (snapped, seed, 3 * sizeof (gint64));
      return;
    }

  z_near = CLAMP (seed[2], (gint64) lo[2], (gint64) hi[2]);
  y_near = CLAMP (seed[1], (gint64) lo[1], (gint64) hi[1]);
  for (gint64 dzs = 0; ; dzs++)
    {
      gboolean any_z = FALSE;

      for (int zside = 0; zside < (dzs == 0 ? 1 : 2); zside++)
        {
          gint64 z = zside ? z_near - dzs : z_near + dzs;
          double cz = (double) (z - seed[2]) * resolution[2];

          if (z < (gint64) lo[2] || z > (gint64) hi[2])
            continue;
          any_z = TRUE;
          if (cz * cz > best)
            continue;
          for (gint64 dys = 0; ; dys++)
            {
              gboolean any_y = FALSE;

              for (int yside = 0; yside < (dys == 0 ? 1 : 2); yside++)
                {
                  gint64 y = yside ? y_near - dys : y_near + dys;
                  double cy = (double) (y - seed[1]) * resolution[1];
                  const guint8 *row;

                  if (y < (gint64) lo[1] || y > (gint64) hi[1])
                    continue;
                  any_y = TRUE;
                  if (cz * cz + cy * cy > best)
                    continue;
                  row = mask + ((gsize) z * size[1] + (gsize) y) * size[0];
                  for (gsize x = lo[0]; x <= hi[0]; x++)
                    {
                      double cx, d2;
                      gsize i;

                      if (!row[x])
                        continue;
                      cx = (double) ((gint64) x - seed[0]) * resolution[0];
                      d2 = cz * cz + cy * cy + cx * cx;
                      i = ((gsize) z * size[1] + (gsize) y) * size[0] + x;
                      if (d2 < best || (d2 == best && i < best_i))
                        {
                          best = d2;
                          best_i = i;
                          snapped[0] = (gint64) x;
                          snapped[1] = y;
                          snapped[2] = z;
                        }
                    }
                }
              if (!any_y)
                break;
            }
        }
      if (!any_z)
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Labels                                                              */

typedef struct
{
  gsize          size[3];       /* the crop */
  gsize          n;
  const guint8  *mask;
  guint8        *labels;
  guint32       *cc;
  const gint64  *seeds[2];      /* crop coordinates, n x 3: SOURCE, SINK */
  const guint32 *seed_idx[2];
  guint          n_seeds[2];
  const double  *resolution;
  gssize         off[26];
} Crop;

/* Step 9: keep the components of @side that hold one of its seeds (the
 * largest if none does), demote the rest to STRAY. Returns how many voxels
 * it demoted. */
static gsize
enforce_single (Crop  *c,
                guint  side)
{
  guint32 n_comp = cleave_components_label26_value (c->labels, c->size, (guint8) side, c->cc);
  g_autofree guint8 *keep = NULL;
  gsize demoted = 0;
  gboolean any = FALSE;

  if (n_comp <= 1)
    return 0;
  keep = g_new0 (guint8, n_comp + 1);
  for (guint s = 0; s < c->n_seeds[side - 1]; s++)
    {
      guint32 l = c->cc[c->seed_idx[side - 1][s]];

      if (l != 0)
        {
          keep[l] = 1;
          any = TRUE;
        }
    }
  if (!any)
    {
      g_autofree gsize *count = g_new0 (gsize, n_comp + 1);
      guint32 largest = 1;

      for (gsize i = 0; i < c->n; i++)
        count[c->cc[i]]++;
      for (guint32 l = 2; l <= n_comp; l++)
        if (count[l] > count[largest])
          largest = l;
      keep[largest] = 1;
    }
  for (gsize i = 0; i < c->n; i++)
    if (c->cc[i] != 0 && !keep[c->cc[i]])
      {
        c->labels[i] = CLEAVE_SVSPLIT_STRAY;
        demoted++;
      }
  return demoted;
}

static double
nearest_seed2 (const Crop   *c,
               guint         team,
               const gint64  p[3])
{
  double best = INFINITY;

  for (guint s = 0; s < c->n_seeds[team]; s++)
    best = MIN (best, dist2_nm (p, c->seeds[team] + 3 * s, c->resolution));
  return best;
}

/* Step 10: each 26-component of STRAY goes to the side more of its voxels
 * touch; on a tie, to SINK only if strictly more of its voxels lie closer
 * to a sink seed than to a source seed. */
static void
resolve_strays (Crop *c)
{
  guint32 n_comp = cleave_components_label26_value (c->labels, c->size, CLEAVE_SVSPLIT_STRAY, c->cc);
  g_autofree gsize *touch = NULL;
  g_autofree guint8 *verdict = NULL;
  gsize nx = c->size[0], ny = c->size[1];

  if (n_comp == 0)
    return;
  /* Per component: touching SOURCE, touching SINK, closer to a sink, size. */
  touch = g_new0 (gsize, 4 * ((gsize) n_comp + 1));
  verdict = g_new0 (guint8, n_comp + 1);

  for (gsize i = 0; i < c->n; i++)
    {
      guint32 l = c->cc[i];
      gboolean t_src = FALSE, t_snk = FALSE;

      if (l == 0)
        continue;
      for (guint k = 0; k < 26; k++)
        {
          guint8 o = c->labels[(gsize) ((gssize) i + c->off[k])];

          t_src |= o == CLEAVE_SVSPLIT_SOURCE;
          t_snk |= o == CLEAVE_SVSPLIT_SINK;
        }
      touch[4 * l] += t_src;
      touch[4 * l + 1] += t_snk;
      touch[4 * l + 3]++;
    }

  for (guint32 l = 1; l <= n_comp; l++)
    if (touch[4 * l] != touch[4 * l + 1])
      verdict[l] = touch[4 * l] > touch[4 * l + 1] ? CLEAVE_SVSPLIT_SOURCE : CLEAVE_SVSPLIT_SINK;

  for (gsize i = 0; i < c->n; i++)
    {
      guint32 l = c->cc[i];
      gint64 p[3];

      if (l == 0 || verdict[l] != 0)
        continue;
      p[0] = (gint64) (i % nx);
      p[1] = (gint64) (i / nx % ny);
      p[2] = (gint64) (i / nx / ny);
      touch[4 * l + 2] += nearest_seed2 (c, 1, p) < nearest_seed2 (c, 0, p);
    }

  for (guint32 l = 1; l <= n_comp; l++)
    if (verdict[l] == 0)
      verdict[l] = 2 * touch[4 * l + 2] > touch[4 * l + 3] ? CLEAVE_SVSPLIT_SINK : CLEAVE_SVSPLIT_SOURCE;

  for (gsize i = 0; i < c->n; i++)
    if (c->cc[i] != 0)
      c->labels[i] = verdict[c->cc[i]];
}

/* Step 7: the narrow band where the two arrivals are within
 * @narrow_band_rel of each other, dilated by a ball within the mask, or
 * the whole mask if that band is tiny. band[i] = 1 inside. */
static void
narrow_band (const Crop                *c,
             const float               *ta,
             const float               *tb,
             const CleaveSvSplitParams *params,
             guint8                    *band)
{
  gsize nx = c->size[0], ny = c->size[1], nz = c->size[2];
  gint r = (gint) params->nb_dilate;
  gsize count = 0;

  memset (band, 0, c->n);
  for (gsize i = 0; i < c->n; i++)
    {
      double a = ta[i], b = tb[i];

      if (c->mask[i] && !isinf (a) && !isinf (b)
          && fabs (a - b) <= params->narrow_band_rel * (a + b))
        band[i] = 1;
    }

  if (r > 0)
    {
      for (gsize i = 0; i < c->n; i++)
        {
          gint64 x, y, z;

          if (band[i] != 1)
            continue;
          x = (gint64) (i % nx);
          y = (gint64) (i / nx % ny);
          z = (gint64) (i / nx / ny);
          for (gint dz = -r; dz <= r; dz++)
            for (gint dy = -r; dy <= r; dy++)
              for (gint dx = -r; dx <= r; dx++)
                {
                  gint64 xx = x + dx, yy = y + dy, zz = z + dz;
                  gsize j;

                  if (dx * dx + dy * dy + dz * dz > r * r
                      || xx < 0 || yy < 0 || zz < 0
                      || xx >= (gint64) nx || yy >= (gint64) ny || zz >= (gint64) nz)
                    continue;
                  j = ((gsize) zz * ny + (gsize) yy) * nx + (gsize) xx;
                  if (c->mask[j] && band[j] == 0)
                    band[j] = 2;
                }
        }
    }

  for (gsize i = 0; i < c->n; i++)
    {
      band[i] = band[i] != 0;
      count += band[i];
    }
  if (count < BAND_MIN_VOXELS)
    for (gsize i = 0; i < c->n; i++)
      band[i] = c->mask[i] != 0;
}

static void
assign_labels (Crop                      *c,
               const float               *ta,
               const float               *tb,
               const guint8              *band,
               const CleaveSvSplitParams *params)
{
  for (gsize i = 0; i < c->n; i++)
    {
      double a = ta[i], b = tb[i];
      gboolean source;

      if (!c->mask[i])
        {
          c->labels[i] = CLEAVE_SVSPLIT_OUTSIDE;
          continue;
        }
      if (band[i] && !isinf (a) && !isinf (b))
        {
          double ca = a / (1.0 + params->k_prox * exp (-params->lambda_prox * b));
          double cb = b / (1.0 + params->k_prox * exp (-params->lambda_prox * a));

          source = ca <= cb;
        }
      else
        {
          /* Unreachable from both: SOURCE, as the reference's default;
           * the component passes then set it apart. */
          source = a <= b || (isinf (a) && isinf (b));
        }
      c->labels[i] = source ? CLEAVE_SVSPLIT_SOURCE : CLEAVE_SVSPLIT_SINK;
    }
  for (guint t = 0; t < 2; t++)
    for (guint s = 0; s < c->n_seeds[t]; s++)
      c->labels[c->seed_idx[t][s]] = t == 0 ? CLEAVE_SVSPLIT_SOURCE : CLEAVE_SVSPLIT_SINK;
}

/* ------------------------------------------------------------------ */

gboolean
cleave_svsplit (const guint8              *mask,
                const gsize                size[3],
                const double               resolution[3],
                const gint64              *sources,
                guint                      n_sources,
                const gint64              *sinks,
                guint                      n_sinks,
                const CleaveSvSplitParams *params,
                guint8                    *labels_out,
                GError                   **error)
{
  CleaveSvSplitParams defaults;
  gsize n_vox, n_mask = 0, lo[3], hi[3], n_crop;
  const gint64 *team_in[2] = { sources, sinks };
  guint n_team[2] = { n_sources, n_sinks };
  g_autofree gint64 *snapped_src = NULL, *snapped_snk = NULL;
  g_autofree guint32 *idx_src = NULL, *idx_snk = NULL;
  gint64 **snapped[2] = { &snapped_src, &snapped_snk };
  guint32 **seed_idx[2] = { &idx_src, &idx_snk };
  g_autofree guint8 *cmask = NULL, *clabels = NULL, *band = NULL;
  g_autofree float *cost = NULL, *ta = NULL, *tb = NULL;
  g_autofree guint32 *cc = NULL;
  ArrivalJob jobs[2];
  GThread *thread;
  Crop c = { { 0 } };
  gsize counts[4] = { 0 };
  double d2max = 0, half_gamma;
  gsize demoted;
  guint k;

  g_return_val_if_fail (size != NULL, FALSE);
  g_return_val_if_fail (resolution != NULL, FALSE);
  g_return_val_if_fail (resolution[0] > 0 && resolution[1] > 0 && resolution[2] > 0, FALSE);
  g_return_val_if_fail (sources != NULL || n_sources == 0, FALSE);
  g_return_val_if_fail (sinks != NULL || n_sinks == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (params == NULL)
    {
      cleave_svsplit_params_init (&defaults);
      params = &defaults;
    }

  n_vox = size[0] * size[1] * size[2];
  if (n_vox == 0)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_NO_MASK,
                   "The supervoxel mask is empty");
      return FALSE;
    }
  g_return_val_if_fail (mask != NULL && labels_out != NULL, FALSE);
  memset (labels_out, 0, n_vox);

  lo[0] = lo[1] = lo[2] = G_MAXSIZE;
  hi[0] = hi[1] = hi[2] = 0;
  for (gsize z = 0; z < size[2]; z++)
    for (gsize y = 0; y < size[1]; y++)
      {
        const guint8 *row = mask + (z * size[1] + y) * size[0];
        gsize first = G_MAXSIZE, last = 0;

        for (gsize x = 0; x < size[0]; x++)
          if (row[x])
            {
              first = MIN (first, x);
              last = x;
              n_mask++;
            }
        if (first == G_MAXSIZE)
          continue;
        lo[0] = MIN (lo[0], first);
        hi[0] = MAX (hi[0], last);
        lo[1] = MIN (lo[1], y);
        hi[1] = MAX (hi[1], y);
        lo[2] = MIN (lo[2], z);
        hi[2] = MAX (hi[2], z);
      }
  if (n_mask == 0)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_NO_MASK,
                   "The supervoxel mask is empty");
      return FALSE;
    }
  if (n_sources == 0 || n_sinks == 0)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_SEEDS,
                   "A split needs at least one source and one sink seed");
      return FALSE;
    }

  for (guint t = 0; t < 2; t++)
    {
      *snapped[t] = g_new (gint64, 3 * (gsize) n_team[t]);
      for (guint s = 0; s < n_team[t]; s++)
        snap_seed (mask, size, lo, hi, resolution, team_in[t] + 3 * s, *snapped[t] + 3 * s);
    }
  /* The force-labelling would let one team overwrite the other, and a
   * cut between adjacent voxels has nowhere to go. */
  for (guint a = 0; a < n_sources; a++)
    for (guint b = 0; b < n_sinks; b++)
      {
        const gint64 *p = snapped_src + 3 * a, *q = snapped_snk + 3 * b;

        if (ABS (p[0] - q[0]) <= 1 && ABS (p[1] - q[1]) <= 1 && ABS (p[2] - q[2]) <= 1)
          {
            g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_SEEDS,
                         "Source and sink seeds meet at voxel (%" G_GINT64_FORMAT ", %"
                         G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")", q[0], q[1], q[2]);
            return FALSE;
          }
      }

  /* The crop: the mask's box and a one-voxel halo of background, so that
   * every mask voxel has all 26 neighbours inside it. */
  for (k = 0; k < 3; k++)
    c.size[k] = hi[k] - lo[k] + 3;
  n_crop = c.size[0] * c.size[1] * c.size[2];
  if (n_crop >= G_MAXUINT32)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_FAILED,
                   "The supervoxel's box of %" G_GSIZE_FORMAT " voxels is too large to split",
                   n_crop);
      return FALSE;
    }
  c.n = n_crop;
  c.resolution = resolution;
  cmask = g_new0 (guint8, n_crop);
  for (gsize z = lo[2]; z <= hi[2]; z++)
    for (gsize y = lo[1]; y <= hi[1]; y++)
      {
        const guint8 *row = mask + (z * size[1] + y) * size[0];
        guint8 *crow = cmask + ((z - lo[2] + 1) * c.size[1] + (y - lo[1] + 1)) * c.size[0] + 1;

        for (gsize x = lo[0]; x <= hi[0]; x++)
          crow[x - lo[0]] = row[x] != 0;
      }
  c.mask = cmask;

  for (guint t = 0; t < 2; t++)
    {
      *seed_idx[t] = g_new (guint32, n_team[t]);
      for (guint s = 0; s < n_team[t]; s++)
        {
          gint64 *p = *snapped[t] + 3 * s;

          /* Crop coordinates from here on. */
          for (k = 0; k < 3; k++)
            p[k] = p[k] - (gint64) lo[k] + 1;
          (*seed_idx[t])[s] = (guint32) (((gsize) p[2] * c.size[1] + (gsize) p[1]) * c.size[0]
                                      + (gsize) p[0]);
        }
      c.seeds[t] = *snapped[t];
      c.seed_idx[t] = *seed_idx[t];
      c.n_seeds[t] = n_team[t];
    }

  /* Travel cost: cheap on the medial axis, dear at necks and surfaces. */
  cost = g_new (float, n_crop);
  _cleave_svsplit_edt_sq (cmask, c.size, resolution, cost);
  for (gsize i = 0; i < n_crop; i++)
    if (cmask[i])
      d2max = MAX (d2max, cost[i]);
  half_gamma = params->gamma_neck / 2.0;
  for (gsize i = 0; i < n_crop; i++)
    {
      if (cmask[i])
        {
          double speed = pow (cost[i] / d2max, half_gamma);

          cost[i] = (float) (1.0 / CLAMP (speed, 1e-6, 1.0));
        }
      else
        cost[i] = INFINITY;
    }

  ta = g_new (float, n_crop);
  tb = g_new (float, n_crop);
  for (guint t = 0; t < 2; t++)
    jobs[t] = (ArrivalJob) { cost, c.size, resolution, *seed_idx[t], n_team[t], t == 0 ? ta : tb };
  thread = g_thread_try_new ("svsplit-arrival", arrival_thread, &jobs[1], NULL);
  arrival_thread (&jobs[0]);
  if (thread != NULL)
    g_thread_join (thread);
  else
    arrival_thread (&jobs[1]);
  g_clear_pointer (&cost, g_free);

  band = g_new (guint8, n_crop);
  narrow_band (&c, ta, tb, params, band);
  clabels = g_new (guint8, n_crop);
  c.labels = clabels;
  assign_labels (&c, ta, tb, band, params);
  g_clear_pointer (&band, g_free);
  g_clear_pointer (&ta, g_free);
  g_clear_pointer (&tb, g_free);

  k = 0;
  for (int dz = -1; dz <= 1; dz++)
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++)
        if (dx != 0 || dy != 0 || dz != 0)
          c.off[k++] = dx + dy * (gssize) c.size[0] + dz * (gssize) (c.size[0] * c.size[1]);

  cc = g_new (guint32, n_crop);
  c.cc = cc;
  demoted = enforce_single (&c, CLEAVE_SVSPLIT_SOURCE) + enforce_single (&c, CLEAVE_SVSPLIT_SINK);
  if (demoted > 0)
    {
      g_debug ("%" G_GSIZE_FORMAT " voxels cut off their side; resolving", demoted);
      resolve_strays (&c);
      enforce_single (&c, CLEAVE_SVSPLIT_SOURCE);
      enforce_single (&c, CLEAVE_SVSPLIT_SINK);
    }

  for (gsize i = 0; i < n_crop; i++)
    counts[clabels[i]]++;
  if (counts[CLEAVE_SVSPLIT_SOURCE] == 0 || counts[CLEAVE_SVSPLIT_SINK] == 0)
    {
      g_set_error (error, CLEAVE_SVSPLIT_ERROR, CLEAVE_SVSPLIT_ERROR_FAILED,
                   "No cut separates the source and sink seeds");
      return FALSE;
    }
  if (counts[CLEAVE_SVSPLIT_STRAY] > 0)
    g_debug ("%" G_GSIZE_FORMAT " voxels left STRAY", counts[CLEAVE_SVSPLIT_STRAY]);

  for (gsize z = lo[2]; z <= hi[2]; z++)
    for (gsize y = lo[1]; y <= hi[1]; y++)
      memcpy (labels_out + (z * size[1] + y) * size[0] + lo[0],
              clabels + ((z - lo[2] + 1) * c.size[1] + (y - lo[1] + 1)) * c.size[0] + 1,
              hi[0] - lo[0] + 1);
  return TRUE;
}
