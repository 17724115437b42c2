/* test-maxflow.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Boykov-Kolmogorov max-flow against textbook graphs, against brute force
 * over every cut of small graphs (which also pins down the minimal source
 * side), and against igraph's push-relabel on grids and random geometric
 * graphs. igraph is only an oracle here; without it those cases skip.
 *
 * The solver is BK handing over to the pseudoflow algorithm past a work
 * limit (docs/maxflow.md), so every case runs three times: as callers get
 * it (/maxflow/...), pseudoflow alone (/maxflow/pf/...), and BK handing
 * over after very little work (/maxflow/hybrid/...), which starts
 * pseudoflow from a partial flow. /maxflow/stages-agree checks that all
 * of them give the same minimal source side on larger graphs with exact
 * (integer) capacities.
 */

#include "algo/cleave-maxflow-private.h"
#include "cleave-test.h"

#include <math.h>
#include <string.h>

#ifdef CLEAVE_HAVE_IGRAPH
#include <igraph.h>
#endif

/* The mode under test: BK's work limit, G_MAXSIZE for the default. */
static gsize test_work_limit = G_MAXSIZE;

static CleaveMaxflow *
test_maxflow_new (guint n_nodes,
                  gsize n_edges_hint)
{
  CleaveMaxflow *mf = cleave_maxflow_new (n_nodes, n_edges_hint);

  if (test_work_limit != G_MAXSIZE)
    _cleave_maxflow_set_bk_work_limit (mf, test_work_limit);
  return mf;
}

/* Every case below gets the mode. */
#define cleave_maxflow_new test_maxflow_new

/* Seeds' terminal capacity where igraph must see the same graph: larger
 * than any sum of the random capacities, and finite. */
#define BIG 1e9

/* A graph as the caller builds it, kept to check BK's answer against. */
typedef struct
{
  guint   a, b;
  double  cab, cba;
} TEdge;

typedef struct
{
  guint   n;
  TEdge  *e;
  gsize   m;
  gsize   m_alloc;
  double *src;
  double *snk;
} TGraph;

static TGraph *
tgraph_new (guint n)
{
  TGraph *g = g_new0 (TGraph, 1);

  g->n = n;
  g->src = g_new0 (double, MAX (n, 1));
  g->snk = g_new0 (double, MAX (n, 1));
  return g;
}

static void
tgraph_free (TGraph *g)
{
  g_free (g->e);
  g_free (g->src);
  g_free (g->snk);
  g_free (g);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TGraph, tgraph_free)

static void
tgraph_edge (TGraph *g,
             guint   a,
             guint   b,
             double  cab,
             double  cba)
{
  if (g->m == g->m_alloc)
    {
      g->m_alloc = MAX (2 * g->m_alloc, 64);
      g->e = g_renew (TEdge, g->e, g->m_alloc);
    }
  g->e[g->m++] = (TEdge) { a, b, cab, cba };
}

static CleaveMaxflow *
tgraph_solve (const TGraph *g,
              double       *flow)
{
  CleaveMaxflow *mf = cleave_maxflow_new (g->n, g->m);

  for (gsize k = 0; k < g->m; k++)
    g_assert_cmpuint (cleave_maxflow_add_edge (mf, g->e[k].a, g->e[k].b, g->e[k].cab, g->e[k].cba), ==, k);
  for (guint v = 0; v < g->n; v++)
    if (g->src[v] != 0 || g->snk[v] != 0)
      cleave_maxflow_add_terminal (mf, v, g->src[v], g->snk[v]);
  *flow = cleave_maxflow_solve (mf);
  return mf;
}

/* Capacity of the cut with source side @in_s, terminal links included. */
static double
tgraph_cut_value (const TGraph   *g,
                  const gboolean *in_s)
{
  double sum = 0;

  for (gsize k = 0; k < g->m; k++)
    {
      const TEdge *e = &g->e[k];

      if (in_s[e->a] && !in_s[e->b])
        sum += e->cab;
      else if (in_s[e->b] && !in_s[e->a])
        sum += e->cba;
    }
  for (guint v = 0; v < g->n; v++)
    sum += in_s[v] ? g->snk[v] : g->src[v];
  return sum;
}

static gboolean *
bk_partition (CleaveMaxflow *mf,
              guint          n)
{
  gboolean *in_s = g_new0 (gboolean, MAX (n, 1));

  for (guint v = 0; v < n; v++)
    in_s[v] = cleave_maxflow_is_source_side (mf, v);
  return in_s;
}

static void
assert_close (double got,
              double want)
{
  if (fabs (got - want) > 1e-9 * MAX (1.0, fabs (want)))
    g_error ("flow %.17g, expected %.17g", got, want);
}

/* The partition is a cut whose capacity is the flow, with every seed
 * (a node with a terminal capacity of BIG or more) on its own side. */
static void
assert_valid_cut (const TGraph  *g,
                  CleaveMaxflow *mf,
                  double         flow)
{
  g_autofree gboolean *in_s = bk_partition (mf, g->n);

  assert_close (tgraph_cut_value (g, in_s), flow);
  for (guint v = 0; v < g->n; v++)
    {
      if (g->src[v] >= BIG && g->snk[v] < BIG)
        g_assert_true (in_s[v]);
      if (g->snk[v] >= BIG && g->src[v] < BIG)
        g_assert_false (in_s[v]);
    }
}

/* Deterministic generator, so a failure names a seed that reproduces it. */
typedef struct
{
  guint64 s;
} TRng;

static guint64
rng_next (TRng *r)
{
  guint64 z = (r->s += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double
rng_unit (TRng *r)
{
  return ((rng_next (r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static guint
rng_below (TRng  *r,
           guint  n)
{
  return (guint) (rng_next (r) % n);
}

/* An nx*ny*nz 6-neighbour grid, seeds on the faces z = 0 (source) and
 * z = nz - 1 (sink). @int_caps: capacities 0..4 instead of (0, 1]. */
static TGraph *
make_grid (guint     nx,
           guint     ny,
           guint     nz,
           gboolean  int_caps,
           TRng     *r)
{
  TGraph *g = tgraph_new (nx * ny * nz);

  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      for (guint x = 0; x < nx; x++)
        {
          guint v = (z * ny + y) * nx + x;
          guint nb[3] = { x + 1 < nx ? v + 1 : G_MAXUINT,
                          y + 1 < ny ? v + nx : G_MAXUINT,
                          z + 1 < nz ? v + nx * ny : G_MAXUINT };

          for (guint k = 0; k < 3; k++)
            if (nb[k] != G_MAXUINT)
              {
                double c = int_caps ? rng_below (r, 5) : rng_unit (r);
                tgraph_edge (g, v, nb[k], c, c);
              }
          if (z == 0)
            g->src[v] = BIG;
          if (z == nz - 1)
            g->snk[v] = BIG;
        }
  return g;
}

/* Random geometric graph on [0,2]x[0,1]x[0,1], average degree about 12,
 * as two objects falsely merged at x = 1: capacities in (0.3, 1] inside
 * each half, in (0, 0.1] across. @neck > 0 keeps only the crossing edges
 * within that radius of the plane's centre (a false merge through a
 * neck); 0 keeps the whole plane of contact. Seeds: the points within
 * 0.15 of (0.3, .5, .5) and of (1.7, .5, .5), at least the nearest one. */
static TGraph *
make_geometric (guint   n,
                double  neck,
                TRng   *r)
{
  TGraph *g = tgraph_new (n);
  g_autofree double *p = g_new (double, 3 * (gsize) n);
  double radius = cbrt (3.0 * 12.0 / (4.0 * G_PI * (n / 2.0)));
  guint cx = MAX (1, (guint) (2.0 / radius)), cy = MAX (1, (guint) (1.0 / radius));
  g_autofree guint *cell_start = g_new0 (guint, (gsize) cx * cy * cy + 1);
  g_autofree guint *order = g_new (guint, MAX (n, 1));
  g_autofree guint *cell_of = g_new (guint, MAX (n, 1));
  guint best[2] = { 0, 0 };
  double best_d[2] = { G_MAXDOUBLE, G_MAXDOUBLE };
  static const double centre_x[2] = { 0.3, 1.7 };

  for (guint v = 0; v < n; v++)
    {
      guint ix, iy, iz;

      p[3 * v] = 2.0 * rng_unit (r);
      p[3 * v + 1] = rng_unit (r);
      p[3 * v + 2] = rng_unit (r);
      ix = MIN ((guint) (p[3 * v] / 2.0 * cx), cx - 1);
      iy = MIN ((guint) (p[3 * v + 1] * cy), cy - 1);
      iz = MIN ((guint) (p[3 * v + 2] * cy), cy - 1);
      cell_of[v] = (iz * cy + iy) * cx + ix;
      cell_start[cell_of[v] + 1]++;
    }
  for (gsize c = 0; c < (gsize) cx * cy * cy; c++)
    cell_start[c + 1] += cell_start[c];
  {
    g_autofree guint *fill = g_memdup2 (cell_start, sizeof (guint) * ((gsize) cx * cy * cy + 1));
    for (guint v = 0; v < n; v++)
      order[fill[cell_of[v]]++] = v;
  }

  for (guint v = 0; v < n; v++)
    {
      guint c = cell_of[v], ix = c % cx, iy = c / cx % cy, iz = c / cx / cy;

      for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              int jx = (int) ix + dx, jy = (int) iy + dy, jz = (int) iz + dz;
              guint cc;

              if (jx < 0 || jy < 0 || jz < 0 || jx >= (int) cx || jy >= (int) cy || jz >= (int) cy)
                continue;
              cc = ((guint) jz * cy + (guint) jy) * cx + (guint) jx;
              for (guint k = cell_start[cc]; k < cell_start[cc + 1]; k++)
                {
                  guint w = order[k];
                  double ddx = p[3 * w] - p[3 * v], ddy = p[3 * w + 1] - p[3 * v + 1],
                         ddz = p[3 * w + 2] - p[3 * v + 2];
                  gboolean cross = (p[3 * v] < 1.0) != (p[3 * w] < 1.0);
                  double c_cap;

                  if (w <= v || ddx * ddx + ddy * ddy + ddz * ddz > radius * radius)
                    continue;
                  if (cross && neck > 0)
                    {
                      double my = (p[3 * v + 1] + p[3 * w + 1]) / 2 - 0.5;
                      double mz = (p[3 * v + 2] + p[3 * w + 2]) / 2 - 0.5;

                      if (my * my + mz * mz > neck * neck)
                        continue;
                    }
                  c_cap = cross ? 0.1 * rng_unit (r) : 0.3 + 0.7 * rng_unit (r);
                  tgraph_edge (g, v, w, c_cap, c_cap);
                }
            }
    }

  for (guint v = 0; v < n; v++)
    for (guint side = 0; side < 2; side++)
      {
        double dx = p[3 * v] - centre_x[side], dy = p[3 * v + 1] - 0.5, dz = p[3 * v + 2] - 0.5;
        double d2 = dx * dx + dy * dy + dz * dz;

        if (d2 < best_d[side])
          {
            best_d[side] = d2;
            best[side] = v;
          }
        if (d2 < 0.15 * 0.15)
          *(side == 0 ? &g->src[v] : &g->snk[v]) = BIG;
      }
  g->src[best[0]] = BIG;
  g->snk[best[1]] = BIG;
  return g;
}

/* Random graph with asymmetric capacities (some zero), random finite
 * terminals (some nodes with both), self loops and parallel edges. */
static TGraph *
make_random (guint     n,
             guint     m,
             gboolean  int_caps,
             TRng     *r)
{
  TGraph *g = tgraph_new (n);

  for (guint k = 0; k < m; k++)
    {
      guint a = rng_below (r, n), b = rng_below (r, n);
      double cab = int_caps ? rng_below (r, 5) : (rng_below (r, 5) == 0 ? 0 : rng_unit (r));
      double cba = int_caps ? rng_below (r, 5) : (rng_below (r, 5) == 0 ? 0 : rng_unit (r));

      tgraph_edge (g, a, b, cab, cba);
    }
  for (guint v = 0; v < n; v++)
    {
      guint kind = rng_below (r, 6);

      if (kind == 0 || kind == 2)
        g->src[v] = int_caps ? 1 + rng_below (r, 6) : 3 * rng_unit (r);
      if (kind == 1 || kind == 2)
        g->snk[v] = int_caps ? 1 + rng_below (r, 6) : 3 * rng_unit (r);
    }
  return g;
}

static void
assert_partition (CleaveMaxflow *mf,
                  guint          n,
                  const char    *expected)
{
  g_autoptr(GString) got = g_string_new (NULL);

  for (guint v = 0; v < n; v++)
    g_string_append_c (got, cleave_maxflow_is_source_side (mf, v) ? 'S' : 'T');
  g_assert_cmpstr (got->str, ==, expected);
}

static void
test_maxflow_clrs (void)
{
  /* CLRS 3rd ed., figure 26.6: s, v1..v4, t; max flow 23 through the cut
   * {s, v1, v2, v4} | {v3, t}. */
  enum { S, V1, V2, V3, V4, T };
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (6, 9);

  cleave_maxflow_add_edge (mf, S, V1, 16, 0);
  cleave_maxflow_add_edge (mf, S, V2, 13, 0);
  cleave_maxflow_add_edge (mf, V1, V3, 12, 0);
  cleave_maxflow_add_edge (mf, V2, V1, 4, 0);
  cleave_maxflow_add_edge (mf, V2, V4, 14, 0);
  cleave_maxflow_add_edge (mf, V3, V2, 9, 0);
  cleave_maxflow_add_edge (mf, V3, T, 20, 0);
  cleave_maxflow_add_edge (mf, V4, V3, 7, 0);
  g_assert_cmpuint (cleave_maxflow_add_edge (mf, V4, T, 4, 0), ==, 8);
  cleave_maxflow_add_terminal (mf, S, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, T, 0, INFINITY);

  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 23);
  assert_partition (mf, 6, "SSSTST");
  /* Solving again changes nothing. */
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 23);
  g_assert_cmpuint (cleave_maxflow_get_n_nodes (mf), ==, 6);
  g_assert_cmpuint (cleave_maxflow_get_n_edges (mf), ==, 9);
}

static void
test_maxflow_bridge (void)
{
  /* Two undirected triangles joined by a bridge of capacity 1. */
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (6, 7);

  cleave_maxflow_add_edge (mf, 0, 1, 3, 3);
  cleave_maxflow_add_edge (mf, 1, 2, 3, 3);
  cleave_maxflow_add_edge (mf, 2, 0, 3, 3);
  cleave_maxflow_add_edge (mf, 2, 3, 1, 1);
  cleave_maxflow_add_edge (mf, 3, 4, 3, 3);
  cleave_maxflow_add_edge (mf, 4, 5, 3, 3);
  cleave_maxflow_add_edge (mf, 5, 3, 3, 3);
  cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, 5, 0, INFINITY);

  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 1);
  assert_partition (mf, 6, "SSSTTT");
}

static void
test_maxflow_minimal_side (void)
{
  /* A chain whose every link is a minimum cut, the terminal links too:
   * the minimal source side is empty. */
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (4, 3);

  for (guint i = 0; i < 3; i++)
    cleave_maxflow_add_edge (mf, i, i + 1, 1, 1);
  cleave_maxflow_add_terminal (mf, 0, 1, 0);
  cleave_maxflow_add_terminal (mf, 3, 0, 1);
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 1);
  assert_partition (mf, 4, "TTTT");
}

static void
test_maxflow_multi_seed (void)
{
  /* Sources 0, 1; sinks 4, 5. Cutting {2-3} costs 3, {0-2, 1-2} 4, and
   * {3-4, 3-5} 2. */
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (6, 0);

  cleave_maxflow_add_edge (mf, 0, 2, 2, 2);
  cleave_maxflow_add_edge (mf, 1, 2, 2, 2);
  cleave_maxflow_add_edge (mf, 2, 3, 3, 3);
  cleave_maxflow_add_edge (mf, 3, 4, 1, 1);
  cleave_maxflow_add_edge (mf, 3, 5, 1, 1);
  cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, 1, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, 4, 0, INFINITY);
  cleave_maxflow_add_terminal (mf, 5, 0, 1e30);

  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 2);
  assert_partition (mf, 6, "SSSSTT");
}

static void
test_maxflow_both_terminals (void)
{
  /* Node 0: 5 from the source, 3 to the sink; 3 flow through at once and
   * 2 are left for the edge to node 1, which takes 1. */
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (2, 1);

  cleave_maxflow_add_edge (mf, 0, 1, 1, 1);
  cleave_maxflow_add_terminal (mf, 0, 2, 3);
  cleave_maxflow_add_terminal (mf, 0, 3, 0);   /* terminals add up */
  cleave_maxflow_add_terminal (mf, 1, 0, 4);
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 4);
  assert_partition (mf, 2, "ST");
}

static void
test_maxflow_single_node (void)
{
  static const struct { double src, snk, flow; gboolean source_side; } cases[] = {
    { 0, 0, 0, FALSE },
    { 3, 0, 0, TRUE },
    { 0, 3, 0, FALSE },
    { 3, 5, 3, FALSE },
    { 5, 3, 3, TRUE },
    { 5, 5, 5, FALSE },   /* both saturated: minimal side is the sink's */
    { INFINITY, 2, 2, TRUE },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (1, 0);

      cleave_maxflow_add_terminal (mf, 0, cases[k].src, cases[k].snk);
      g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, cases[k].flow);
      g_assert_cmpint (cleave_maxflow_is_source_side (mf, 0), ==, cases[k].source_side);
    }

  {
    g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (0, 0);
    g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 0);
  }
}

static void
test_maxflow_degenerate (void)
{
  /* 0 -(0)- 1: seeds with nothing between them. 2 -(4)- 3 with only a
   * source link: both on the source side. 4: alone, no terminals. 5:
   * alone with a source link. 6: zero terminal capacities. 7 -(2)- 8,
   * a component with only a sink link. */
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (9, 3);

  cleave_maxflow_add_edge (mf, 0, 1, 0, 0);
  cleave_maxflow_add_edge (mf, 2, 3, 4, 4);
  cleave_maxflow_add_edge (mf, 7, 8, 2, 2);
  cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, 1, 0, INFINITY);
  cleave_maxflow_add_terminal (mf, 2, 2, 0);
  cleave_maxflow_add_terminal (mf, 5, 1, 0);
  cleave_maxflow_add_terminal (mf, 6, 0, 0);
  cleave_maxflow_add_terminal (mf, 8, 0, 7);
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 0);
  assert_partition (mf, 9, "STSSTSTTT");
}

static void
test_maxflow_loops_and_parallel (void)
{
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (2, 1);

  g_assert_cmpuint (cleave_maxflow_add_edge (mf, 0, 1, 1, 1), ==, 0);
  g_assert_cmpuint (cleave_maxflow_add_edge (mf, 1, 1, 5, 5), ==, 1);
  g_assert_cmpuint (cleave_maxflow_add_edge (mf, 1, 0, 0, 1.5), ==, 2);
  cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
  cleave_maxflow_add_terminal (mf, 1, 0, INFINITY);
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 2.5);
  assert_partition (mf, 2, "ST");
}

static void
test_maxflow_infinite (void)
{
  /* An infinite edge is never cut... */
  {
    g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (4, 3);

    cleave_maxflow_add_edge (mf, 0, 1, 2, 2);
    cleave_maxflow_add_edge (mf, 1, 2, INFINITY, INFINITY);
    cleave_maxflow_add_edge (mf, 2, 3, 3, 3);
    cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
    cleave_maxflow_add_terminal (mf, 3, 0, INFINITY);
    g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 2);
    assert_partition (mf, 4, "STTT");
  }
  /* ...so seeds joined by infinite edges only cannot be separated... */
  {
    g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (4, 4);

    cleave_maxflow_add_edge (mf, 0, 1, INFINITY, INFINITY);
    cleave_maxflow_add_edge (mf, 0, 2, 1, 1);
    cleave_maxflow_add_edge (mf, 1, 2, INFINITY, INFINITY);
    cleave_maxflow_add_edge (mf, 2, 3, INFINITY, INFINITY);
    cleave_maxflow_add_terminal (mf, 0, INFINITY, 0);
    cleave_maxflow_add_terminal (mf, 3, 0, INFINITY);
    g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, INFINITY);
  }
  /* ...nor a node seeded for both sides. */
  {
    g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (2, 1);

    cleave_maxflow_add_edge (mf, 0, 1, 1, 1);
    cleave_maxflow_add_terminal (mf, 1, INFINITY, 0);
    cleave_maxflow_add_terminal (mf, 1, 0, INFINITY);
    g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, INFINITY);
  }
}

static void
test_maxflow_bad_input (void)
{
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (2, 1);

  g_test_expect_message ("cleave-maxflow", G_LOG_LEVEL_CRITICAL, "*valid_cap*");
  cleave_maxflow_add_edge (mf, 0, 1, -1, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message ("cleave-maxflow", G_LOG_LEVEL_CRITICAL, "*valid_cap*");
  cleave_maxflow_add_terminal (mf, 0, NAN, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message ("cleave-maxflow", G_LOG_LEVEL_CRITICAL, "*n_nodes*");
  cleave_maxflow_add_edge (mf, 0, 2, 1, 1);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (cleave_maxflow_get_n_edges (mf), ==, 0);
  g_assert_cmpfloat (cleave_maxflow_solve (mf), ==, 0);
}

/* Every cut of a small graph: the minimum is the max flow, and the
 * minimal source side is the intersection of the minimising sides. With
 * integer capacities both comparisons are exact. */
static void
test_maxflow_brute_force (void)
{
  for (guint seed = 1; seed <= 400; seed++)
    {
      TRng r = { seed };
      guint n = 1 + rng_below (&r, 11);
      g_autoptr(TGraph) g = make_random (n, rng_below (&r, 3 * n + 1), TRUE, &r);
      g_autoptr(CleaveMaxflow) mf = NULL;
      g_autofree gboolean *in_s = g_new (gboolean, n);
      guint32 common = G_MAXUINT32, bk_set = 0;
      double best = G_MAXDOUBLE, flow;

      for (guint32 mask = 0; mask < (1u << n); mask++)
        {
          double c;

          for (guint v = 0; v < n; v++)
            in_s[v] = (mask >> v) & 1;
          c = tgraph_cut_value (g, in_s);
          if (c < best)
            {
              best = c;
              common = mask;
            }
          else if (c == best)
            common &= mask;
        }

      mf = tgraph_solve (g, &flow);
      for (guint v = 0; v < n; v++)
        if (cleave_maxflow_is_source_side (mf, v))
          bk_set |= 1u << v;
      if (flow != best || bk_set != common)
        g_error ("seed %u: flow %g, brute force %g; source side %x, expected %x",
                 seed, flow, best, bk_set, common);
    }
}

/* The same input gives the same flow, bit for bit, and the same cut. */
static void
test_maxflow_deterministic (void)
{
  TRng r1 = { 77 }, r2 = { 77 };
  g_autoptr(TGraph) g1 = make_geometric (3000, 0, &r1);
  g_autoptr(TGraph) g2 = make_geometric (3000, 0, &r2);
  g_autoptr(CleaveMaxflow) mf1 = NULL, mf2 = NULL;
  double f1, f2;

  mf1 = tgraph_solve (g1, &f1);
  mf2 = tgraph_solve (g2, &f2);
  g_assert_true (memcmp (&f1, &f2, sizeof f1) == 0);
  for (guint v = 0; v < g1->n; v++)
    g_assert_cmpint (cleave_maxflow_is_source_side (mf1, v), ==, cleave_maxflow_is_source_side (mf2, v));
  assert_valid_cut (g1, mf1, f1);
}

/* Cut validity alone, without an oracle: seeds on their sides and a cut
 * capacity equal to the flow, on the graphs the oracle cases use. */
static void
test_maxflow_cut_valid (void)
{
  for (guint seed = 1; seed <= 6; seed++)
    {
      TRng r = { seed };
      g_autoptr(TGraph) grid = make_grid (9, 8, 7, seed % 2, &r);
      g_autoptr(TGraph) geo = make_geometric (2000, 0, &r);
      g_autoptr(TGraph) neck = make_geometric (2000, 0.15, &r);
      g_autoptr(TGraph) rnd = make_random (300, 1500, FALSE, &r);
      const TGraph *gs[] = { grid, geo, neck, rnd };

      for (guint k = 0; k < G_N_ELEMENTS (gs); k++)
        {
          g_autoptr(CleaveMaxflow) mf = NULL;
          double flow;

          mf = tgraph_solve (gs[k], &flow);
          assert_valid_cut (gs[k], mf, flow);
        }
    }
}

#ifdef CLEAVE_HAVE_IGRAPH

/* igraph's answer on the same graph: directed arcs both ways, a super
 * source and a super sink linked to the seeds. Checks that maxflow_value
 * and st_mincut agree with each other, and returns igraph's source side
 * of the cut (the maximal one: it cuts in front of the sink). */
static double
igraph_oracle (const TGraph *g,
               gboolean     *ig_source_side)
{
  igraph_vector_int_t edges, part, part2;
  igraph_vector_t cap;
  igraph_t ig;
  igraph_real_t v1 = 0, v2 = 0;
  igraph_integer_t s = g->n, t = g->n + 1, k = 0;
  gsize n_arcs = 2 * g->m + 2 * (gsize) g->n;

  igraph_vector_int_init (&edges, 2 * n_arcs);
  igraph_vector_init (&cap, n_arcs);
  for (gsize i = 0; i < g->m; i++)
    {
      VECTOR (edges)[2 * k] = g->e[i].a;
      VECTOR (edges)[2 * k + 1] = g->e[i].b;
      VECTOR (cap)[k++] = g->e[i].cab;
      VECTOR (edges)[2 * k] = g->e[i].b;
      VECTOR (edges)[2 * k + 1] = g->e[i].a;
      VECTOR (cap)[k++] = g->e[i].cba;
    }
  for (guint v = 0; v < g->n; v++)
    {
      VECTOR (edges)[2 * k] = s;
      VECTOR (edges)[2 * k + 1] = v;
      VECTOR (cap)[k++] = g->src[v];
      VECTOR (edges)[2 * k] = v;
      VECTOR (edges)[2 * k + 1] = t;
      VECTOR (cap)[k++] = g->snk[v];
    }
  igraph_create (&ig, &edges, g->n + 2, IGRAPH_DIRECTED);
  igraph_maxflow_value (&ig, &v1, s, t, &cap, NULL);
  igraph_vector_int_init (&part, 0);
  igraph_vector_int_init (&part2, 0);
  igraph_st_mincut (&ig, &v2, NULL, &part, &part2, s, t, &cap);
  assert_close (v1, v2);

  for (guint v = 0; v < g->n; v++)
    ig_source_side[v] = FALSE;
  for (igraph_integer_t i = 0; i < igraph_vector_int_size (&part); i++)
    if (VECTOR (part)[i] < (igraph_integer_t) g->n)
      ig_source_side[VECTOR (part)[i]] = TRUE;
  g_assert_true (igraph_vector_int_contains (&part, s));

  igraph_vector_int_destroy (&part);
  igraph_vector_int_destroy (&part2);
  igraph_vector_destroy (&cap);
  igraph_vector_int_destroy (&edges);
  igraph_destroy (&ig);
  return v1;
}

/* BK's flow equals igraph's; its cut is valid; and with integer
 * capacities (no rounding) BK's minimal source side lies inside igraph's
 * maximal one. */
static void
check_against_igraph (const TGraph *g,
                      gboolean      int_caps)
{
  g_autoptr(CleaveMaxflow) mf = NULL;
  g_autofree gboolean *ig_s = g_new (gboolean, MAX (g->n, 1));
  double flow, want;

  want = igraph_oracle (g, ig_s);
  mf = tgraph_solve (g, &flow);
  assert_close (flow, want);
  assert_valid_cut (g, mf, flow);
  if (int_caps)
    for (guint v = 0; v < g->n; v++)
      if (cleave_maxflow_is_source_side (mf, v))
        g_assert_true (ig_s[v]);
}

static void
test_maxflow_oracle_grid (void)
{
  static const guint dims[][3] = { { 10, 10, 10 }, { 20, 15, 6 }, { 40, 40, 1 }, { 2, 2, 50 } };

  for (guint seed = 1; seed <= 4; seed++)
    for (guint k = 0; k < G_N_ELEMENTS (dims); k++)
      {
        TRng r = { seed * 100 + k };
        gboolean int_caps = seed % 2 == 0;
        g_autoptr(TGraph) g = make_grid (dims[k][0], dims[k][1], dims[k][2], int_caps, &r);

        check_against_igraph (g, int_caps);
      }
}

static void
test_maxflow_oracle_geometric (void)
{
  for (guint seed = 1; seed <= 4; seed++)
    {
      TRng r = { seed };
      g_autoptr(TGraph) g = make_geometric (1000 * seed, 0, &r);

      check_against_igraph (g, FALSE);
    }
}

static void
test_maxflow_oracle_neck (void)
{
  for (guint seed = 1; seed <= 4; seed++)
    {
      TRng r = { seed };
      g_autoptr(TGraph) g = make_geometric (1000 * seed, 0.05 * seed, &r);

      check_against_igraph (g, FALSE);
    }
}

static void
test_maxflow_oracle_random (void)
{
  for (guint seed = 1; seed <= 40; seed++)
    {
      TRng r = { seed };
      guint n = 20 + rng_below (&r, 500);
      gboolean int_caps = seed % 2 == 0;
      g_autoptr(TGraph) g = make_random (n, n * (1 + rng_below (&r, 6)), int_caps, &r);

      check_against_igraph (g, int_caps);
    }
}

#else

static void
test_maxflow_oracle_skip (void)
{
  g_test_skip ("igraph (libigraph-dev) not found at configure time: no oracle to compare with");
}

#endif

typedef struct
{
  gsize          limit;
  GTestFunc      func;
} Mode;

static void
run_in_mode (gconstpointer data)
{
  const Mode *mode = data;

  test_work_limit = mode->limit;
  mode->func ();
  test_work_limit = G_MAXSIZE;
}

/* The pseudoflow stage finishes the hard graphs BK starts; the hand-over
 * must happen on them by default. */
static void
test_maxflow_hands_over (void)
{
  TRng r = { 5 };
  g_autoptr(TGraph) g = make_grid (24, 24, 24, FALSE, &r);
  g_autoptr(CleaveMaxflow) mf = NULL;
  double flow;

  mf = tgraph_solve (g, &flow);
  g_assert_cmpuint (mf->work, >, mf->work_limit);
  assert_valid_cut (g, mf, flow);
}

/* Small graphs and false merges through a neck, which BK solves in about
 * one sweep, stay with BK. */
static void
test_maxflow_keeps_bk (void)
{
  for (guint seed = 1; seed <= 4; seed++)
    {
      TRng r = { seed };
      g_autoptr(TGraph) neck = make_geometric (20000, 0.05, &r);
      g_autoptr(TGraph) small = make_geometric (400, 0, &r);
      const TGraph *gs[] = { neck, small };

      for (guint k = 0; k < G_N_ELEMENTS (gs); k++)
        {
          g_autoptr(CleaveMaxflow) mf = NULL;
          double flow;

          mf = tgraph_solve (gs[k], &flow);
          g_assert_cmpuint (mf->work, <=, mf->work_limit);
          assert_valid_cut (gs[k], mf, flow);
        }
    }
}

/* With integer capacities nothing is rounded, so BK alone, the
 * pseudoflow stage alone and hand-overs at any point must give the same
 * flow and the same (minimal) source side, bit for bit, on graphs far
 * larger than brute force can check. */
static void
test_maxflow_stages_agree (void)
{
  static const gsize limits[] = { 0, 40, 1000, 20000, 200000 };

  for (guint seed = 1; seed <= 6; seed++)
    {
      TRng r = { seed };
      g_autoptr(TGraph) grid = make_grid (14, 13, 12, TRUE, &r);
      g_autoptr(TGraph) flat = make_grid (40, 40, 3, TRUE, &r);
      g_autoptr(TGraph) rnd = make_random (3000, 3000 * (1 + seed), TRUE, &r);
      const TGraph *gs[] = { grid, flat, rnd };

      for (guint k = 0; k < G_N_ELEMENTS (gs); k++)
        {
          const TGraph *g = gs[k];
          g_autofree gboolean *want = NULL;
          double want_flow = 0;

          for (guint l = 0; l <= G_N_ELEMENTS (limits); l++)
            {
              g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (g->n, g->m);
              g_autofree gboolean *got = NULL;
              double flow;

              /* The last round is BK alone. */
              _cleave_maxflow_set_bk_work_limit (mf, l < G_N_ELEMENTS (limits) ? limits[l] : G_MAXSIZE);
              for (gsize e = 0; e < g->m; e++)
                cleave_maxflow_add_edge (mf, g->e[e].a, g->e[e].b, g->e[e].cab, g->e[e].cba);
              for (guint v = 0; v < g->n; v++)
                if (g->src[v] != 0 || g->snk[v] != 0)
                  cleave_maxflow_add_terminal (mf, v, g->src[v], g->snk[v]);
              flow = cleave_maxflow_solve (mf);
              got = bk_partition (mf, g->n);
              if (want == NULL)
                {
                  want = g_steal_pointer (&got);
                  want_flow = flow;
                  assert_valid_cut (g, mf, flow);
                  continue;
                }
              g_assert_cmpfloat (flow, ==, want_flow);
              for (guint v = 0; v < g->n; v++)
                if (got[v] != want[v])
                  g_error ("seed %u, graph %u, limit %u: node %u on the %s side",
                           seed, k, l, v, got[v] ? "source" : "sink");
            }
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  /* BK's work limit per mode: none (the default), pseudoflow alone,
   * and a hand-over after the first augmentations. */
  static const struct
  {
    const char *name;
    gsize       limit;
  } modes[] = { { "", G_MAXSIZE }, { "/pf", 0 }, { "/hybrid", 40 } };

  cleave_test_init (&argc, &argv);

  for (guint k = 0; k < G_N_ELEMENTS (modes); k++)
    {
      g_autofree char *root = g_strconcat ("/maxflow", modes[k].name, NULL);
      gsize limit = modes[k].limit;

#define add(path_, fn_) \
      G_STMT_START { \
        Mode *mode = g_new (Mode, 1); \
        g_autofree char *full = g_strconcat (root, (path_) + strlen ("/maxflow"), NULL); \
        mode->limit = limit; \
        mode->func = (fn_); \
        g_test_add_data_func_full (full, mode, run_in_mode, g_free); \
      } G_STMT_END
    add ("/maxflow/clrs", test_maxflow_clrs);
    add ("/maxflow/bridge", test_maxflow_bridge);
    add ("/maxflow/minimal-side", test_maxflow_minimal_side);
    add ("/maxflow/multi-seed", test_maxflow_multi_seed);
    add ("/maxflow/both-terminals", test_maxflow_both_terminals);
    add ("/maxflow/single-node", test_maxflow_single_node);
    add ("/maxflow/degenerate", test_maxflow_degenerate);
    add ("/maxflow/loops-and-parallel", test_maxflow_loops_and_parallel);
    add ("/maxflow/infinite", test_maxflow_infinite);
    add ("/maxflow/bad-input", test_maxflow_bad_input);
    add ("/maxflow/brute-force", test_maxflow_brute_force);
    add ("/maxflow/deterministic", test_maxflow_deterministic);
    add ("/maxflow/cut-valid", test_maxflow_cut_valid);
#ifdef CLEAVE_HAVE_IGRAPH
    add ("/maxflow/oracle/grid", test_maxflow_oracle_grid);
    add ("/maxflow/oracle/geometric", test_maxflow_oracle_geometric);
    add ("/maxflow/oracle/neck", test_maxflow_oracle_neck);
    add ("/maxflow/oracle/random", test_maxflow_oracle_random);
#else
    add ("/maxflow/oracle/grid", test_maxflow_oracle_skip);
    add ("/maxflow/oracle/geometric", test_maxflow_oracle_skip);
    add ("/maxflow/oracle/neck", test_maxflow_oracle_skip);
    add ("/maxflow/oracle/random", test_maxflow_oracle_skip);
#endif

#undef add
    }
  g_test_add_func ("/maxflow/hands-over", test_maxflow_hands_over);
  g_test_add_func ("/maxflow/keeps-bk", test_maxflow_keeps_bk);
  g_test_add_func ("/maxflow/stages-agree", test_maxflow_stages_agree);

  return g_test_run ();
}
