/* bench-maxflow.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Multicut splits run a min cut on the supervoxel graph around the edit
 * while the user waits. Reference: igraph's st_mincut (push-relabel) on
 * the same graph in the same run. Both are timed as a caller pays them:
 * igraph_create + capacity vector + st_mincut with its partition, against
 * new + add_edge + add_terminal + solve + reading the partition.
 *
 * Families, at about 1e3..1e6 edges:
 *   grid   3D 6-neighbour grid, capacities in (0, 1], seeds on two
 *          opposite faces;
 *   plane  random geometric graph (degree ~12) of two halves falsely
 *          merged over a whole plane: (0.3, 1] inside, (0, 0.1] across;
 *          seeds in a ball deep in each half;
 *   neck   the same with the halves touching only through a neck of
 *          radius 0.05 (or an edge's length, if longer).
 *   demo   the local graphs cleave_multicut_compute builds for the demo
 *          dataset's false merges (demo.json "merge_errors": a source and
 *          a sink point each), through cleave_multicut_build_flow_problem;
 *          the demo is made in a temporary directory, or taken from
 *          $CLEAVE_BENCH_DEMO.
 * Besides Cleave's solver as callers get it (BK, handing over to the
 * pseudoflow algorithm past a work limit: docs/maxflow.md), a column
 * times its pseudoflow stage alone.
 * Each (family, size) runs in its own process (the binary re-executes
 * itself with --one FAMILY EDGES, or --one demo DIR INDEX) so that one
 * run's heap does not skew the next. Prints ratios; never fails on time.
 *
 * Timing on a shared machine. The machine this runs on has two cores
 * and other people's builds and benches: wall times swing by 2x within
 * a run. So each solve is timed twice, by the wall clock and by the
 * thread's CPU clock (CLOCK_THREAD_CPUTIME_ID, which stops while another
 * process has the core); the solvers take turns round after round, in a
 * rotating order, so that a burst of load falls on all of them alike;
 * and the table gives the minimum and the median over the rounds. The
 * goals are judged on the CPU minimum.
 */

#include "algo/cleave-maxflow-private.h"
#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-graph.h"
#include "cleave-ingest.h"
#include "cleave-multicut.h"
#include "cleave-test.h"

#include <json-glib/json-glib.h>

#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef CLEAVE_HAVE_IGRAPH
#include <igraph.h>

#define BIG 1e9

/* BK's worst case is not polynomial; past this the row says so instead
 * of holding up the bench. */
#define BK_LIMIT_S 60

typedef struct
{
  guint    n;
  gsize    m;
  gsize    m_alloc;
  guint32 *ea;
  guint32 *eb;
  double  *cap;
  GArray  *src_seeds;   /* guint32 */
  GArray  *snk_seeds;
  double   terminal_cap;  /* of every seed */
} Graph;

static Graph *
graph_new (guint n)
{
  Graph *g = g_new0 (Graph, 1);

  g->n = n;
  g->terminal_cap = BIG;
  g->src_seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
  g->snk_seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
  return g;
}

static void
graph_free (Graph *g)
{
  g_free (g->ea);
  g_free (g->eb);
  g_free (g->cap);
  g_array_unref (g->src_seeds);
  g_array_unref (g->snk_seeds);
  g_free (g);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Graph, graph_free)

static void
graph_edge (Graph   *g,
            guint32  a,
            guint32  b,
            double   c)
{
  if (g->m == g->m_alloc)
    {
      g->m_alloc = MAX (2 * g->m_alloc, 1024);
      g->ea = g_renew (guint32, g->ea, g->m_alloc);
      g->eb = g_renew (guint32, g->eb, g->m_alloc);
      g->cap = g_renew (double, g->cap, g->m_alloc);
    }
  g->ea[g->m] = a;
  g->eb[g->m] = b;
  g->cap[g->m++] = c;
}

static guint64 rng_state = 12345;

static double
rng_unit (void)
{
  guint64 z = (rng_state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  z ^= z >> 31;
  return ((z >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static Graph *
make_grid (gsize target_edges)
{
  guint nx = MAX (2, (guint) lround (cbrt (target_edges / 3.0)));
  guint ny = nx;
  guint nz = MAX (2, (guint) lround (target_edges / (3.0 * nx * ny)));
  Graph *g = graph_new (nx * ny * nz);

  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      for (guint x = 0; x < nx; x++)
        {
          guint32 v = (z * ny + y) * nx + x;

          if (x + 1 < nx)
            graph_edge (g, v, v + 1, rng_unit ());
          if (y + 1 < ny)
            graph_edge (g, v, v + nx, rng_unit ());
          if (z + 1 < nz)
            graph_edge (g, v, v + nx * ny, rng_unit ());
          if (z == 0)
            g_array_append_val (g->src_seeds, v);
          if (z == nz - 1)
            g_array_append_val (g->snk_seeds, v);
        }
  return g;
}

static Graph *
make_geometric_n (guint    n,
                  gboolean with_neck)
{
  Graph *g = graph_new (n);
  g_autofree double *p = g_new (double, 3 * (gsize) n);
  double radius = cbrt (3.0 * 12.0 / (4.0 * G_PI * (n / 2.0)));
  guint cx = MAX (1, (guint) (2.0 / radius)), cy = MAX (1, (guint) (1.0 / radius));
  gsize n_cells = (gsize) cx * cy * cy;
  g_autofree guint *cell_start = g_new0 (guint, n_cells + 1);
  g_autofree guint *order = g_new (guint, n);
  g_autofree guint *cell_of = g_new (guint, n);
  static const double centre_x[2] = { 0.3, 1.7 };
  guint best[2] = { 0, 0 };
  double best_d[2] = { G_MAXDOUBLE, G_MAXDOUBLE };
  /* At least an edge's reach, so that small graphs keep a neck at all. */
  double neck = with_neck ? MAX (0.05, radius) : 0;

  for (guint v = 0; v < n; v++)
    {
      guint ix, iy, iz;

      p[3 * v] = 2.0 * rng_unit ();
      p[3 * v + 1] = rng_unit ();
      p[3 * v + 2] = rng_unit ();
      ix = MIN ((guint) (p[3 * v] / 2.0 * cx), cx - 1);
      iy = MIN ((guint) (p[3 * v + 1] * cy), cy - 1);
      iz = MIN ((guint) (p[3 * v + 2] * cy), cy - 1);
      cell_of[v] = (iz * cy + iy) * cx + ix;
      cell_start[cell_of[v] + 1]++;
    }
  for (gsize c = 0; c < n_cells; c++)
    cell_start[c + 1] += cell_start[c];
  {
    g_autofree guint *fill = g_memdup2 (cell_start, sizeof (guint) * (n_cells + 1));
    for (guint v = 0; v < n; v++)
      order[fill[cell_of[v]]++] = v;
  }

  /* Nodes numbered in cell order, as an ingest that walks chunks would. */
  for (guint k0 = 0; k0 < n; k0++)
    {
      guint v = order[k0];
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

                  if (k <= k0 || ddx * ddx + ddy * ddy + ddz * ddz > radius * radius)
                    continue;
                  if (cross && neck > 0)
                    {
                      double my = (p[3 * v + 1] + p[3 * w + 1]) / 2 - 0.5;
                      double mz = (p[3 * v + 2] + p[3 * w + 2]) / 2 - 0.5;

                      if (my * my + mz * mz > neck * neck)
                        continue;
                    }
                  graph_edge (g, k0, k, cross ? 0.1 * rng_unit () : 0.3 + 0.7 * rng_unit ());
                }
            }
    }

  for (guint k = 0; k < n; k++)
    for (guint side = 0; side < 2; side++)
      {
        guint v = order[k];
        double dx = p[3 * v] - centre_x[side], dy = p[3 * v + 1] - 0.5, dz = p[3 * v + 2] - 0.5;
        double d2 = dx * dx + dy * dy + dz * dz;
        guint32 id = k;

        if (d2 < best_d[side])
          {
            best_d[side] = d2;
            best[side] = k;
          }
        if (d2 < 0.15 * 0.15)
          g_array_append_val (side == 0 ? g->src_seeds : g->snk_seeds, id);
      }
  if (g->src_seeds->len == 0)
    g_array_append_val (g->src_seeds, best[0]);
  if (g->snk_seeds->len == 0)
    g_array_append_val (g->snk_seeds, best[1]);
  return g;
}

/* Node count for about @target_edges: guess from the mean degree, then
 * correct once for what the box's boundary takes off. */
static Graph *
make_geometric (gsize    target_edges,
                gboolean with_neck)
{
  guint64 saved = rng_state;
  guint n = MAX (16, (guint) (target_edges / 6));
  Graph *g = make_geometric_n (n, with_neck);

  n = MAX (16, (guint) ((double) n * target_edges / MAX (g->m, 1)));
  graph_free (g);
  rng_state = saved;
  return make_geometric_n (n, with_neck);
}

/* The local max-flow problem of the @index-th false merge of the demo in
 * @dir, or NULL when there is none. */
static Graph *
make_demo (const char *dir,
           guint       index)
{
  g_autofree char *path = g_build_filename (dir, "demo.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_autoptr(CleaveMaxflow) mf = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *errors;
  JsonObject *o;
  gint64 xyz[2][3];
  guint64 sv[2];
  Graph *g;
  double src, snk;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s", error->message);
  errors = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "merge_errors");
  if (index >= json_array_get_length (errors))
    return NULL;
  o = json_array_get_object_element (errors, index);
  for (guint d = 0; d < 3; d++)
    {
      xyz[0][d] = json_array_get_int_element (json_object_get_array_member (o, "source"), d);
      xyz[1][d] = json_array_get_int_element (json_object_get_array_member (o, "sink"), d);
    }
  if ((ds = cleave_dataset_open (dir, &error)) == NULL ||
      (graph = cleave_graph_open (dir, &error)) == NULL ||
      !cleave_volume_lookup (cleave_dataset_get_seg (ds), 0, xyz[0], 1, &sv[0], &error) ||
      !cleave_volume_lookup (cleave_dataset_get_seg (ds), 0, xyz[1], 1, &sv[1], &error) ||
      (mf = cleave_multicut_build_flow_problem (graph, &sv[0], xyz[0], 1, &sv[1], xyz[1], 1, &error)) == NULL)
    g_error ("demo merge error %u: %s", index, error->message);

  g = graph_new (cleave_maxflow_get_n_nodes (mf));
  for (gsize e = 0; e < cleave_maxflow_get_n_edges (mf); e++)
    {
      guint a, b;
      double cab, cba;

      cleave_maxflow_get_edge (mf, e, &a, &b, &cab, &cba);
      g_assert (cab == cba);
      graph_edge (g, a, b, cab);
    }
  g_assert (cleave_maxflow_get_through_flow (mf) == 0);
  for (guint32 v = 0; v < g->n; v++)
    {
      cleave_maxflow_get_terminal (mf, v, &src, &snk);
      if (src > 0)
        g_array_append_val (g->src_seeds, v);
      if (snk > 0)
        g_array_append_val (g->snk_seeds, v);
      if (src > 0 || snk > 0)
        g->terminal_cap = MAX (src, snk);
    }
  return g;
}

/* What one solve cost: wall time and this thread's CPU time, in ms. On
 * the shared 2-core machine other processes stretch wall times by up to
 * 2x; the thread's CPU time only counts while it runs (caches and the
 * memory bus are still shared, so it moves too, but far less). */
typedef struct
{
  double wall;
  double cpu;
} Cost;

typedef struct
{
  gint64          wall;
  struct timespec cpu;
} Stamp;

static Stamp
stamp_now (void)
{
  Stamp s;

  s.wall = g_get_monotonic_time ();
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &s.cpu);
  return s;
}

static Cost
cost_since (Stamp t0)
{
  Stamp t1 = stamp_now ();
  Cost c;

  c.wall = (t1.wall - t0.wall) / 1e3;
  c.cpu = (t1.cpu.tv_sec - t0.cpu.tv_sec) * 1e3 + (t1.cpu.tv_nsec - t0.cpu.tv_nsec) / 1e6;
  return c;
}

/* @limit: BK's work limit, or G_MAXSIZE for the default. */
static Cost
run_bk (const Graph *g,
        gsize        limit,
        double      *flow,
        guint       *n_source_side)
{
  Stamp t0 = stamp_now ();
  g_autoptr(CleaveMaxflow) mf = cleave_maxflow_new (g->n, g->m);
  guint count = 0;

  if (limit != G_MAXSIZE)
    _cleave_maxflow_set_bk_work_limit (mf, limit);

  for (gsize k = 0; k < g->m; k++)
    cleave_maxflow_add_edge (mf, g->ea[k], g->eb[k], g->cap[k], g->cap[k]);
  for (guint k = 0; k < g->src_seeds->len; k++)
    cleave_maxflow_add_terminal (mf, g_array_index (g->src_seeds, guint32, k), g->terminal_cap, 0);
  for (guint k = 0; k < g->snk_seeds->len; k++)
    cleave_maxflow_add_terminal (mf, g_array_index (g->snk_seeds, guint32, k), 0, g->terminal_cap);
  *flow = cleave_maxflow_solve (mf);
  for (guint v = 0; v < g->n; v++)
    count += cleave_maxflow_is_source_side (mf, v);
  g_clear_pointer (&mf, cleave_maxflow_free);
  *n_source_side = count;
  return cost_since (t0);
}

static Cost
run_igraph (const Graph *g,
            double      *flow)
{
  Stamp t0 = stamp_now ();
  gsize n_seeds = g->src_seeds->len + g->snk_seeds->len;
  gsize m = g->m + n_seeds, k = 0;
  igraph_integer_t s = g->n, t = g->n + 1;
  igraph_vector_int_t edges, part, part2;
  igraph_vector_t cap;
  igraph_real_t value;
  igraph_t ig;

  igraph_vector_int_init (&edges, 2 * m);
  igraph_vector_init (&cap, m);
  for (gsize i = 0; i < g->m; i++, k++)
    {
      VECTOR (edges)[2 * k] = g->ea[i];
      VECTOR (edges)[2 * k + 1] = g->eb[i];
      VECTOR (cap)[k] = g->cap[i];
    }
  for (guint i = 0; i < g->src_seeds->len; i++, k++)
    {
      VECTOR (edges)[2 * k] = s;
      VECTOR (edges)[2 * k + 1] = g_array_index (g->src_seeds, guint32, i);
      VECTOR (cap)[k] = g->terminal_cap;
    }
  for (guint i = 0; i < g->snk_seeds->len; i++, k++)
    {
      VECTOR (edges)[2 * k] = g_array_index (g->snk_seeds, guint32, i);
      VECTOR (edges)[2 * k + 1] = t;
      VECTOR (cap)[k] = g->terminal_cap;
    }
  igraph_create (&ig, &edges, g->n + 2, IGRAPH_UNDIRECTED);
  igraph_vector_int_init (&part, 0);
  igraph_vector_int_init (&part2, 0);
  igraph_st_mincut (&ig, &value, NULL, &part, &part2, s, t, &cap);
  igraph_vector_int_destroy (&part);
  igraph_vector_int_destroy (&part2);
  igraph_vector_destroy (&cap);
  igraph_vector_int_destroy (&edges);
  igraph_destroy (&ig);
  *flow = value;
  return cost_since (t0);
}

static void
on_alarm (int sig)
{
  static const char msg[] = "timeout\n";

  /* Only async-signal-safe calls here. */
  if (write (STDOUT_FILENO, msg, sizeof msg - 1) < 0)
    _exit (1);
  _exit (0);
}

/* Minimum and median of @n values (reorders them). */
static void
min_median (double *v,
            guint   n,
            double *min,
            double *median)
{
  *median = cleave_test_median (v, n);
  *min = v[0];
}

/* The solvers of a row: igraph, Cleave as callers get it, Cleave's
 * pseudoflow stage alone. */
enum { SOLVER_IGRAPH, SOLVER_CLEAVE, SOLVER_PF, N_SOLVERS };

static const char *const solver_tag[N_SOLVERS] = { "igraph", "cleave", "pf" };

/* One (family, size) in this process. Rounds interleave the solvers,
 * in an order that rotates from round to round, so that a burst of load
 * from other processes hits all of them alike. Prints tagged lines:
 * "row family edges nodes seeds", "first igraph_wall_ms" once igraph's
 * first round is done (what is left to report when Cleave times out),
 * then per solver "TAG cpu_min cpu_median wall_min wall_median flow
 * source_side", or "timeout" when one Cleave solve passes BK_LIMIT_S.
 * @arg: the target edge count, or the demo's directory. */
static int
run_one (const char *family,
         const char *arg,
         guint       index)
{
  g_autoptr(Graph) g = NULL;
  gsize target_edges = g_ascii_strtoull (arg, NULL, 10);
  guint rounds, min_rounds, done;
  double budget_ms, spent = 0;
  double flow[N_SOLVERS] = { 0 };
  guint side[N_SOLVERS] = { 0 };
  g_autofree double *wall[N_SOLVERS] = { NULL };
  g_autofree double *cpu[N_SOLVERS] = { NULL };

  if (g_str_equal (family, "grid"))
    g = make_grid (target_edges);
  else if (g_str_equal (family, "plane"))
    g = make_geometric (target_edges, FALSE);
  else if (g_str_equal (family, "neck"))
    g = make_geometric (target_edges, TRUE);
  else if (g_str_equal (family, "demo"))
    {
      if ((g = make_demo (arg, index)) == NULL)
        return 3;
      target_edges = g->m;
    }
  else
    {
      g_printerr ("bench-maxflow: unknown family %s\n", family);
      return 2;
    }
  /* Fewer rounds as graphs grow; past the budget (all solvers together)
   * only up to the minimum. Odd counts, for a true median. */
  rounds = target_edges <= 1000 ? 51 : target_edges <= 10000 ? 21 : target_edges <= 100000 ? 11 : 3;
  min_rounds = MIN (rounds, 3);
  budget_ms = 8000;
  for (guint s = 0; s < N_SOLVERS; s++)
    {
      wall[s] = g_new (double, rounds);
      cpu[s] = g_new (double, rounds);
    }
  g_print ("row %s %" G_GSIZE_FORMAT " %u %u\n", family, g->m, g->n,
           g->src_seeds->len + g->snk_seeds->len);
  fflush (stdout);

  signal (SIGALRM, on_alarm);
  for (done = 0; done < rounds && (done < min_rounds || spent < budget_ms); done++)
    for (guint k = 0; k < N_SOLVERS; k++)
      {
        guint s = (done + k) % N_SOLVERS;
        Cost c;

        if (s == SOLVER_IGRAPH)
          c = run_igraph (g, &flow[s]);
        else
          {
            alarm (BK_LIMIT_S);
            c = run_bk (g, s == SOLVER_PF ? 0 : G_MAXSIZE, &flow[s], &side[s]);
            alarm (0);
          }
        wall[s][done] = c.wall;
        cpu[s][done] = c.cpu;
        spent += c.wall;
        if (done == 0 && s == SOLVER_IGRAPH)
          {
            g_print ("first %.6f\n", c.wall);
            fflush (stdout);
          }
      }

  for (guint s = 0; s < N_SOLVERS; s++)
    {
      double cmin, cmed, wmin, wmed;

      min_median (cpu[s], done, &cmin, &cmed);
      min_median (wall[s], done, &wmin, &wmed);
      g_print ("%s %.6f %.6f %.6f %.6f %.17g %u\n", solver_tag[s], cmin, cmed, wmin, wmed,
               flow[s], side[s]);
    }
  g_print ("rounds %u\n", done);
  return 0;
}

typedef struct
{
  double cpu_min, cpu_med, wall_min, wall_med, flow;
  guint  side;
  gboolean seen;
} Timing;

/* What report_one hands back: ratios igraph / Cleave, 0 when the row
 * failed. */
typedef struct
{
  double cpu_min;
  double cpu_med;
  double wall_min;
} Ratio;

/* Runs one (family, size) in a child and prints its row. */
static Ratio
report_one (const char *self,
            const char *family,
            const char *arg,
            const char *index,
            gboolean   *all_agree,
            gboolean   *none)
{
  const char *child[] = { self, "--one", family, arg, index, NULL };
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  char name[16] = "";
  gsize m = 0;
  guint n = 0, seeds = 0, rounds = 0;
  double first_ms = 0;
  gboolean timeout = FALSE, agree, have_row = FALSE;
  Timing t[N_SOLVERS] = { { 0 } };
  Ratio ratio = { 0 };
  int status = 0;
  const char *label = g_str_equal (family, "demo") ? index : arg;
  const Timing *ig = &t[SOLVER_IGRAPH], *cl = &t[SOLVER_CLEAVE], *pf = &t[SOLVER_PF];

  *none = FALSE;
  if (!g_spawn_sync (NULL, (char **) child, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, NULL, &status, &error))
    {
      g_print ("%-6s %9s  failed: %s\n", family, label, error->message);
      *all_agree = FALSE;
      return ratio;
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 3)
    {
      *none = TRUE;
      return ratio;
    }
  if (!g_spawn_check_wait_status (status, &error))
    {
      g_print ("%-6s %9s  failed: %s\n", family, label, error->message);
      *all_agree = FALSE;
      return ratio;
    }

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char tag[16];
      Timing x = { 0 };

      if (sscanf (lines[i], "row %15s %zu %u %u", name, &m, &n, &seeds) == 4)
        have_row = TRUE;
      else if (sscanf (lines[i], "first %lf", &first_ms) == 1)
        ;
      else if (g_str_equal (lines[i], "timeout"))
        timeout = TRUE;
      else if (sscanf (lines[i], "rounds %u", &rounds) == 1)
        ;
      else if (sscanf (lines[i], "%15s %lf %lf %lf %lf %lf %u", tag, &x.cpu_min, &x.cpu_med,
                       &x.wall_min, &x.wall_med, &x.flow, &x.side) == 7)
        for (guint s = 0; s < N_SOLVERS; s++)
          if (g_str_equal (tag, solver_tag[s]))
            {
              t[s] = x;
              t[s].seen = TRUE;
            }
    }
  if (have_row && timeout)
    {
      g_print ("%-6s %9zu %8u %6u  Cleave stopped after %d s; igraph's first round %.3f ms wall\n",
               name, m, n, seeds, BK_LIMIT_S, first_ms);
      ratio.cpu_min = ratio.cpu_med = ratio.wall_min = first_ms / (BK_LIMIT_S * 1e3);
      return ratio;
    }
  if (!have_row || !ig->seen || !cl->seen || !pf->seen)
    {
      g_print ("%-6s %9s  unreadable: %s\n", family, label, out);
      *all_agree = FALSE;
      return ratio;
    }

  agree = fabs (cl->flow - ig->flow) <= 1e-9 * MAX (1.0, fabs (ig->flow)) &&
          fabs (pf->flow - ig->flow) <= 1e-9 * MAX (1.0, fabs (ig->flow)) &&
          cl->side == pf->side;
  *all_agree &= agree;
  ratio.cpu_min = ig->cpu_min / cl->cpu_min;
  ratio.cpu_med = ig->cpu_med / cl->cpu_med;
  ratio.wall_min = ig->wall_min / cl->wall_min;
  g_print ("%-6s %8zu %7u %5u %3u %9.3f %9.3f %9.3f %9.3f %7.1fx %7.1fx %7.1fx %9.3f %7.1fx %11.6g %s\n",
           name, m, n, seeds, rounds, cl->cpu_min, cl->cpu_med, ig->cpu_min, ig->cpu_med,
           ratio.cpu_min, ratio.cpu_med, ratio.wall_min, pf->cpu_min, ig->cpu_min / pf->cpu_min,
           cl->flow, agree ? "yes" : "NO");
  return ratio;
}

int
main (int   argc,
      char *argv[])
{
  static const char *families[] = { "grid", "plane", "neck" };
  static const gsize sizes[] = { 1000, 10000, 100000, 1000000 };
  Ratio ratio[G_N_ELEMENTS (families)][G_N_ELEMENTS (sizes)] = { { { 0 } } };
  g_autofree char *self = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *demo = NULL;
  gboolean all_agree = TRUE, none;
  gint64 t_start = g_get_monotonic_time ();

  if (argc == 4 && g_str_equal (argv[1], "--one"))
    return run_one (argv[2], argv[3], 0);
  if (argc == 5 && g_str_equal (argv[1], "--one"))
    return run_one (argv[2], argv[3], (guint) g_ascii_strtoull (argv[4], NULL, 10));

  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self == NULL)
    self = g_strdup (argv[0]);

  g_print ("max-flow / min-cut, build + cut as a caller pays it; Cleave (Boykov-Kolmogorov,\n"
           "pseudoflow past a work limit) vs igraph_st_mincut (push-relabel). The solvers take\n"
           "turns, round after round; times are this thread's CPU time in ms, min and median over\n"
           "the rounds (\"rnd\"); ratios igraph / Cleave from the CPU min, the CPU median and the\n"
           "wall min; \"PF\": Cleave's pseudoflow stage alone (CPU min)\n\n");
  g_print ("%-6s %8s %7s %5s %3s %9s %9s %9s %9s %8s %8s %8s %9s %8s %11s %s\n",
           "family", "edges", "nodes", "seeds", "rnd", "C min", "C med", "ig min", "ig med",
           "cpu min", "cpu med", "wall", "PF min", "ig/PF", "flow", "agree");

  for (guint f = 0; f < G_N_ELEMENTS (families); f++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        g_autofree char *size = g_strdup_printf ("%" G_GSIZE_FORMAT, sizes[s]);

        ratio[f][s] = report_one (self, families[f], size, NULL, &all_agree, &none);
      }

  /* The multicut's own graphs, on the demo dataset. */
  demo = g_strdup (g_getenv ("CLEAVE_BENCH_DEMO"));
  if (demo == NULL)
    {
      g_autoptr(GError) error = NULL;
      CleaveDemoParams p;

      tmp = cleave_test_tmpdir ();
      demo = g_build_filename (tmp, "bench.cleave", NULL);
      cleave_demo_params_init (&p);
      if (!cleave_demo_create (demo, &p, NULL, NULL, &error))
        g_error ("%s", error->message);
    }
  {
    g_autoptr(CleaveGraph) graph = cleave_graph_open (demo, NULL);
    g_autoptr(GError) error = NULL;

    if (graph == NULL && !cleave_ingest (demo, FALSE, NULL, NULL, &error))
      g_error ("%s", error->message);
  }
  for (guint i = 0;; i++)
    {
      g_autofree char *index = g_strdup_printf ("%u", i);

      report_one (self, "demo", demo, index, &all_agree, &none);
      if (none)
        break;
    }
  if (tmp != NULL)
    cleave_test_rm_rf (tmp);

  /* The goals of the issue, reported, not asserted; judged on CPU time
   * (the min over the rounds, as the other benches here), with the
   * median's verdict beside it. */
  {
    gboolean at_1e5 = TRUE, at_1e5_med = TRUE, neck_1e5, at_1e3 = TRUE;

    for (guint f = 0; f < G_N_ELEMENTS (families); f++)
      {
        at_1e5 &= ratio[f][2].cpu_min >= 5;
        at_1e5_med &= ratio[f][2].cpu_med >= 5;
        at_1e3 &= ratio[f][0].cpu_min >= 2;
      }
    neck_1e5 = ratio[2][2].cpu_min >= 10;
    g_print ("\ngoals (CPU min): >= 5x at 1e5 on every family: %s (by the median: %s); "
             ">= 10x on neck at 1e5: %s; >= 2x at 1e3: %s\n",
             at_1e5 ? "met" : "NOT met", at_1e5_med ? "met" : "NOT met",
             neck_1e5 ? "met" : "NOT met", at_1e3 ? "met" : "NOT met");
    g_print ("flow values (and, between Cleave's two, source sides) agree everywhere: %s\n",
             all_agree ? "yes" : "NO");
    g_print ("(whole bench: %.1f s)\n", (g_get_monotonic_time () - t_start) / 1e6);
  }
  return 0;
}

#else

int
main (int   argc,
      char *argv[])
{
  g_print ("bench-maxflow: igraph (libigraph-dev) was not found at configure time; "
           "nothing to compare with, skipped\n");
  return 0;
}

#endif
