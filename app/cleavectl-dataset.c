/* cleavectl-dataset.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl demo, info, seg read, seg lookup: datasets and their volumes.
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-graph.h"
#include "cleave-ingest.h"
#include "cleave-import.h"
#include "cleave-queue.h"

static char *opt_size;
static char *opt_chunk;
static gint64 opt_seed = 1;
static char *opt_box;
static gint opt_mip;
static gint64 opt_version = -1;
static char *opt_at;
static char *opt_out;

static GOptionEntry demo_entries[] = {
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "Volume size in voxels (default 512,512,128)", "X,Y,Z" },
  { "chunk", 0, 0, G_OPTION_ARG_STRING, &opt_chunk, "Chunk size in voxels (default 64,64,32)", "X,Y,Z" },
  { "seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Seed: the same seed gives the same dataset (default 1)", "N" },
  { NULL }
};

static GOptionEntry read_entries[] = {
  { "box", 0, 0, G_OPTION_ARG_STRING, &opt_box, "The box to read, absolute voxel coordinates, hi exclusive", "X0,Y0,Z0:X1,Y1,Z1" },
  { "mip", 0, 0, G_OPTION_ARG_INT, &opt_mip, "The scale to read (default 0)", "M" },
  { "version", 0, 0, G_OPTION_ARG_INT64, &opt_version, "Read generation N of the segmentation", "N" },
  { "at", 0, 0, G_OPTION_ARG_STRING, &opt_at, "Read the segmentation as it was at this time", "ISO8601" },
  { "out", 0, 0, G_OPTION_ARG_FILENAME, &opt_out, "Write to FILE instead of standard output", "FILE" },
  { NULL }
};

static GOptionEntry lookup_entries[] = {
  { "mip", 0, 0, G_OPTION_ARG_INT, &opt_mip, "The scale to read (default 0)", "M" },
  { "version", 0, 0, G_OPTION_ARG_INT64, &opt_version, "Read generation N of the segmentation", "N" },
  { "at", 0, 0, G_OPTION_ARG_STRING, &opt_at, "Read the segmentation as it was at this time", "ISO8601" },
  { NULL }
};

static void
progress (const char *phase,
          double      fraction,
          gpointer    user_data)
{
  g_printerr ("\r%3d%% %-12s", (int) (fraction * 100), phase);
  if (fraction >= 1)
    g_printerr ("\n");
}

static int
run_demo (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  CleaveDemoParams p;
  gint64 v[3];

  cleave_demo_params_init (&p);
  if (opt_size)
    {
      if (!cleavectl_parse_triple (opt_size, "--size", v, &error))
        return cleavectl_usage_error (command, "%s", error->message);
      memcpy (p.size, v, sizeof v);
    }
  if (opt_chunk)
    {
      if (!cleavectl_parse_triple (opt_chunk, "--chunk", v, &error))
        return cleavectl_usage_error (command, "%s", error->message);
      for (guint i = 0; i < 3; i++)
        p.chunk[i] = (guint) CLAMP (v[i], 0, G_MAXUINT);
    }
  if (opt_seed < 0)
    return cleavectl_usage_error (command, "--seed must not be negative");
  p.seed = (guint64) opt_seed;
  if (!cleave_demo_create (args[0], &p, isatty (STDERR_FILENO) ? progress : NULL, NULL, &error))
    return cleavectl_fail (command, error);
  if (!cleave_ingest (args[0], FALSE, isatty (STDERR_FILENO) ? progress : NULL, NULL, &error))
    return cleavectl_fail (command, error);
  g_printerr ("%s: demo dataset ready (details in %s/demo.json)\n", args[0], args[0]);
  return CLEAVECTL_EXIT_OK;
}

/* The dataset's segmentation, pinned by --version or --at when given. */
static CleaveVolume *
open_seg (CleaveDataset *ds,
          GError       **error)
{
  CleaveVolume *seg = cleave_dataset_get_seg (ds);

  if (opt_version >= 0 && opt_at != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "give --version or --at, not both");
      return NULL;
    }
  if (opt_version >= 0)
    return cleave_volume_pin_generation (seg, opt_version, error);
  if (opt_at != NULL)
    {
      guint64 t = cleave_ocdbt_parse_time (opt_at, error);
      return t ? cleave_volume_pin_time (seg, t, error) : NULL;
    }
  return cleave_volume_ref (seg);
}

static void
add_volume (JsonBuilder  *b,
            const char   *name,
            CleaveVolume *v)
{
  const CleaveVolumeInfo *info = cleave_volume_get_info (v);
  CleaveOcdbtVersion version = cleave_ocdbt_get_version (cleave_volume_get_store (v));

  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data_type");
  json_builder_add_string_value (b, cleave_data_type_to_name (info->data_type));
  json_builder_set_member_name (b, "generation");
  json_builder_add_int_value (b, version.generation);
  json_builder_set_member_name (b, "downsampling");
  if (info->downsampling != NULL)
    json_builder_add_string_value (b, info->downsampling);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "scales");
  json_builder_begin_array (b);
  for (guint m = 0; m < info->scales->len; m++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, m);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "key");
      json_builder_add_string_value (b, s->key);
      json_builder_set_member_name (b, "encoding");
      json_builder_add_string_value (b, cleave_encoding_to_name (s->encoding));
#define TRIPLE(name, a) \
      json_builder_set_member_name (b, name); \
      json_builder_begin_array (b); \
      for (guint k = 0; k < 3; k++) \
        json_builder_add_int_value (b, (gint64) (a)[k]); \
      json_builder_end_array (b);
      TRIPLE ("size", s->size)
      TRIPLE ("voxel_offset", s->voxel_offset)
      TRIPLE ("chunk_size", s->chunk)
#undef TRIPLE
      json_builder_set_member_name (b, "resolution");
      json_builder_begin_array (b);
      for (guint k = 0; k < 3; k++)
        json_builder_add_double_value (b, s->resolution[k]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  if (!cleavectl_json)
    {
      printf ("%s: %s, generation %" G_GUINT64_FORMAT "%s%s\n", name, cleave_data_type_to_name (info->data_type),
              version.generation, info->downsampling != NULL ? ", mips by " : "",
              info->downsampling != NULL ? info->downsampling : "");
      for (guint m = 0; m < info->scales->len; m++)
        {
          const CleaveScale *s = &g_array_index (info->scales, CleaveScale, m);

          printf ("  mip %u  %-14s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                  " at %g x %g x %g nm, offset %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                  ", chunks %ux%ux%u, %s\n",
                  m, s->key, s->size[0], s->size[1], s->size[2], s->resolution[0], s->resolution[1],
                  s->resolution[2], s->voxel_offset[0], s->voxel_offset[1], s->voxel_offset[2],
                  s->chunk[0], s->chunk[1], s->chunk[2], cleave_encoding_to_name (s->encoding));
        }
    }
}

/* The downsample worker's backlog, when the dataset has a graph. */
static void
add_backlog (JsonBuilder *b,
             const char  *dir)
{
  g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, NULL);
  CleaveQueueBacklog q;

  if (graph == NULL || !cleave_queue_get_backlog (graph, &q, NULL))
    return;
  json_builder_set_member_name (b, "downsample_queue");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pending");
  json_builder_add_int_value (b, q.pending);
  json_builder_set_member_name (b, "claimed");
  json_builder_add_int_value (b, q.claimed);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, q.failed);
  json_builder_end_object (b);
  if (!cleavectl_json)
    printf ("downsample queue: %" G_GUINT64_FORMAT " pending, %" G_GUINT64_FORMAT " claimed, %" G_GUINT64_FORMAT
            " failed%s\n", q.pending, q.claimed, q.failed,
            q.pending + q.claimed > 0 ? " (coarser mips lag behind mip 0; run `cleavectl worker`)" : "");
}

static int
run_info (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = cleave_dataset_open (args[0], &error);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (ds == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "dir");
  json_builder_add_string_value (b, args[0]);
  add_volume (b, "segmentation", cleave_dataset_get_seg (ds));
  if (cleave_dataset_get_image (ds))
    add_volume (b, "image", cleave_dataset_get_image (ds));
  add_backlog (b, args[0]);
  json_builder_end_object (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

static int
run_seg_read (const CleavectlCommand *command,
              char                  **args,
              guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveVolume) seg = NULL;
  g_auto(GStrv) halves = NULL;
  g_autofree guint64 *buf = NULL;
  gint64 lo[3], hi[3];
  gsize n = 1;
  FILE *out = stdout;

  if (opt_box == NULL)
    return cleavectl_usage_error (command, "--box is required");
  halves = g_strsplit (opt_box, ":", -1);
  if (g_strv_length (halves) != 2)
    return cleavectl_usage_error (command, "--box '%s': expected X0,Y0,Z0:X1,Y1,Z1", opt_box);
  if (!cleavectl_parse_triple (halves[0], "--box", lo, &error) || !cleavectl_parse_triple (halves[1], "--box", hi, &error))
    return cleavectl_usage_error (command, "%s", error->message);
  if (opt_mip < 0)
    return cleavectl_usage_error (command, "--mip must not be negative");

  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (seg = open_seg (ds, &error)) == NULL)
    return cleavectl_fail (command, error);
  for (guint k = 0; k < 3; k++)
    if (hi[k] > lo[k])
      n *= (gsize) (hi[k] - lo[k]);
  /* A box beyond memory is refused before anything is allocated. */
  if (n > ((gsize) 1 << 32))
    {
      g_set_error (&error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                   "--box of %" G_GSIZE_FORMAT " voxels is too large to read at once", n);
      return cleavectl_fail (command, error);
    }
  buf = g_try_new (guint64, n);
  if (buf == NULL)
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "not enough memory for %" G_GSIZE_FORMAT " voxels", n);
      return cleavectl_fail (command, error);
    }
  if (!cleave_volume_read (seg, (guint) opt_mip, lo, hi, buf, &error))
    return cleavectl_fail (command, error);
  if (cleave_volume_get_info (seg)->data_type != CLEAVE_DATA_TYPE_UINT64)
    {
      /* Output is uint64 whatever the stored type: widen in place, from the end. */
      guint32 *narrow = (guint32 *) buf;
      for (gsize i = n; i > 0; i--)
        buf[i - 1] = narrow[i - 1];
    }
  for (gsize i = 0; i < n; i++)
    buf[i] = GUINT64_TO_LE (buf[i]);
  if (opt_out && (out = fopen (opt_out, "wb")) == NULL)
    {
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", opt_out, g_strerror (errno));
      return cleavectl_fail (command, error);
    }
  if (fwrite (buf, 8, n, out) != n || (out != stdout && fclose (out) != 0))
    {
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot write: %s",
                   opt_out ? opt_out : "standard output", g_strerror (errno));
      return cleavectl_fail (command, error);
    }
  return CLEAVECTL_EXIT_OK;
}

static int
run_seg_lookup (const CleavectlCommand *command,
                char                  **args,
                guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveVolume) seg = NULL;
  g_autofree gint64 *xyz = g_new (gint64, 3 * (n_args - 1));
  g_autofree guint64 *sv = g_new (guint64, n_args - 1);
  g_autofree guint64 *roots = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  for (guint i = 1; i < n_args; i++)
    if (!cleavectl_parse_triple (args[i], "coordinate", xyz + 3 * (i - 1), &error))
      return cleavectl_usage_error (command, "%s", error->message);
  if (opt_mip < 0)
    return cleavectl_usage_error (command, "--mip must not be negative");
  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (seg = open_seg (ds, &error)) == NULL)
    return cleavectl_fail (command, error);
  if (!cleave_volume_lookup (seg, (guint) opt_mip, xyz, n_args - 1, sv, &error))
    return cleavectl_fail (command, error);
  /* Roots once the dataset has a graph (mip 0 ids are supervoxels). */
  if (opt_mip == 0)
    {
      g_autoptr(GError) graph_error = NULL;
      g_autoptr(CleaveGraph) graph = cleave_graph_open (args[0], &graph_error);
      gint64 ts = CLEAVE_GRAPH_LATEST;

      if (opt_at != NULL)
        ts = (gint64) cleave_ocdbt_parse_time (opt_at, NULL);
      if (graph != NULL)
        {
          roots = g_new (guint64, n_args - 1);
          if (!cleave_graph_get_roots (graph, sv, n_args - 1, ts, roots, &error))
            return cleavectl_fail (command, error);
        }
      else if (!g_error_matches (graph_error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND))
        return cleavectl_fail (command, graph_error);
    }

  json_builder_begin_array (b);
  for (guint i = 0; i < n_args - 1; i++)
    {
      const gint64 *p = xyz + 3 * i;

      if (cleavectl_json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "xyz");
          json_builder_begin_array (b);
          for (guint k = 0; k < 3; k++)
            json_builder_add_int_value (b, p[k]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "sv");
          /* JSON numbers above 2^53 lose digits in most readers; ids are
           * written as integers all the same, as the format says. */
          json_builder_add_int_value (b, (gint64) sv[i]);
          if (roots)
            {
              json_builder_set_member_name (b, "root");
              json_builder_add_int_value (b, (gint64) roots[i]);
            }
          json_builder_end_object (b);
        }
      else if (roots)
        printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n",
                p[0], p[1], p[2], sv[i], roots[i]);
      else
        printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n",
                p[0], p[1], p[2], sv[i]);
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_demo = {
  .name = "demo",
  .synopsis = "DIR [--size X,Y,Z] [--chunk X,Y,Z] [--seed N]",
  .summary = "Create the demo dataset: neurite-like objects, an EM-like image, deliberate errors",
  .description = "DIR must not exist or be empty. The same options give the same contents. The errors to fix\n"
                 "and the files the graph is built from are listed in DIR/demo.json.",
  .entries = demo_entries,
  .min_args = 1,
  .max_args = 1,
  .run = run_demo,
};

const CleavectlCommand cleavectl_cmd_info = {
  .name = "info",
  .synopsis = "DIR [--json]",
  .summary = "Show a dataset's volumes: scales, sizes, offsets, chunk sizes, generations",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_info,
};

const CleavectlCommand cleavectl_cmd_seg_read = {
  .name = "seg read",
  .synopsis = "DIR --box X0,Y0,Z0:X1,Y1,Z1 [--mip M] [--version N | --at ISO8601] [--out FILE]",
  .summary = "Read a box of the segmentation: raw little-endian uint64, x fastest",
  .description = "Coordinates are absolute (they include the volume's voxel_offset); the upper corner is exclusive.",
  .entries = read_entries,
  .min_args = 1,
  .max_args = 1,
  .run = run_seg_read,
};

const CleavectlCommand cleavectl_cmd_seg_lookup = {
  .name = "seg lookup",
  .synopsis = "DIR X,Y,Z [X,Y,Z ...] [--mip M] [--version N | --at ISO8601] [--json]",
  .summary = "The supervoxel id at each coordinate",
  .description = "Text output: 'X,Y,Z<TAB>ID' per coordinate. --json: [{\"xyz\": [x, y, z], \"sv\": N}, ...]",
  .entries = lookup_entries,
  .json = TRUE,
  .min_args = 2,
  .max_args = G_MAXUINT,
  .run = run_seg_lookup,
};

static char *opt_image;

static GOptionEntry import_entries[] = {
  { "image", 0, 0, G_OPTION_ARG_FILENAME, &opt_image, "A plain-file precomputed uint8 image to import with it", "SRC_IMAGE" },
  { NULL }
};

static void
import_progress (const char *what,
                 guint64     done,
                 guint64     total,
                 gpointer    user_data)
{
  g_printerr ("\r%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " chunks", what, done, total);
  if (done == total)
    g_printerr ("\n");
}

static int
run_import (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  g_autoptr(GError) error = NULL;

  if (!cleave_import (args[0], opt_image, args[1], import_progress, NULL, &error))
    return cleavectl_fail (command, error);
  /* The labels are the initial objects; the dataset is ready to edit. A
   * failed graph leaves the imported volumes, and `cleavectl ingest`
   * picks up from there. */
  if (!cleave_ingest (args[1], FALSE, isatty (STDERR_FILENO) ? progress : NULL, NULL, &error) ||
      !cleave_import_build_pyramid (args[1], &error))
    return cleavectl_fail (command, error);
  g_printerr ("%s: imported; graph and mips ready\n", args[1]);
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_import = {
  .name = "import",
  .synopsis = "SRC_SEG DIR [--image SRC_IMAGE]",
  .summary = "Create a dataset from a plain-file precomputed segmentation (and image)",
  .description = "SRC_SEG is a directory with an info file and unsharded raw or compressed_segmentation chunks,\n"
                 "as neuroglancer and cloud-volume write them (NAME.gz chunk files are read too). Every scale is\n"
                 "copied, keeping its voxel_offset (the segmentation's coarser mips are rebuilt from its mip 0). Each label's piece in each chunk becomes a supervoxel with its\n"
                 "own layer-1 id (agglomeration.tsv maps them back), and the graph is built: contact edges from\n"
                 "6-connected faces, affinities from the image's intensity on them (from contact area without an\n"
                 "image), the labels as the initial objects. Progress goes to standard error.",
  .entries = import_entries,
  .min_args = 2,
  .max_args = 2,
  .run = run_import,
};

static gboolean opt_force;

static GOptionEntry ingest_entries[] = {
  { "force", 0, 0, G_OPTION_ARG_NONE, &opt_force, "Rebuild a finished graph (every edit is lost)", NULL },
  { NULL }
};

static int
run_ingest (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  g_autoptr(GError) error = NULL;

  if (!cleave_ingest (args[0], opt_force, isatty (STDERR_FILENO) ? progress : NULL, NULL, &error))
    return cleavectl_fail (command, error);
  g_printerr ("%s: graph ready\n", args[0]);
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_ingest = {
  .name = "ingest",
  .synopsis = "DIR [--force]",
  .summary = "Build the dataset's supervoxel graph (graph.sqlite); resumes an ingest that was stopped",
  .description = "Works chunk by chunk, each chunk committed and marked done, so running it again after it was\n"
                 "killed continues where it stopped. A finished graph is kept unless --force.",
  .entries = ingest_entries,
  .min_args = 1,
  .max_args = 1,
  .run = run_ingest,
};
