/* cleavectl-edit.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl merge, undo, redo, ops, locks: edits and what they leave.
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include <stdio.h>
#include <string.h>

#include "cleave-dataset.h"
#include "cleave-edit.h"
#include "cleave-graph.h"
#include "cleave-lock.h"
#include "cleave-multicut.h"
#include "cleave-node-id.h"
#include "cleave-recover.h"
#include "cleave-verify.h"

static char *opt_user;
static gboolean opt_verbose;

static GOptionEntry edit_entries[] = {
  { "user", 0, 0, G_OPTION_ARG_STRING, &opt_user, "Who makes the edit (default: the login name)", "U" },
  { "verbose", 0, 0, G_OPTION_ARG_NONE, &opt_verbose, "A timing line per stage on standard error", NULL },
  { NULL }
};

static char **opt_sources;
static char **opt_sinks;
static gboolean opt_preview;

static GOptionEntry split_entries[] = {
  { "source", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_sources, "A point on the part to keep apart (repeat for more)", "X,Y,Z" },
  { "sink", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_sinks, "A point on the other part (repeat for more)", "X,Y,Z" },
  { "preview", 0, 0, G_OPTION_ARG_NONE, &opt_preview, "Show the two sides; change nothing", NULL },
  { "user", 0, 0, G_OPTION_ARG_STRING, &opt_user, "Who makes the edit (default: the login name)", "U" },
  { "verbose", 0, 0, G_OPTION_ARG_NONE, &opt_verbose, "A timing line per stage on standard error", NULL },
  { NULL }
};

static const char *
user (void)
{
  return opt_user ? opt_user : g_get_user_name ();
}

/* --verbose: where an edit's time went, also when it failed. */
static void
print_stages (const CleaveEditResult *r)
{
  if (!opt_verbose)
    return;
  for (guint s = 0; s < CLEAVE_EDIT_N_STAGES; s++)
    g_printerr ("%-15s %9.1f ms\n", cleave_edit_stage_name (s), r->stage_ms[s]);
}


static void
print_result (const CleaveEditResult  *r,
              gboolean                 split,
              const CleaveSplitReport *report)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  if (!cleavectl_json)
    {
      printf ("op %" G_GUINT64_FORMAT ": %s; new roots:", r->op_id, cleave_op_status_name (r->status));
      for (guint i = 0; i < r->new_roots->len; i++)
        printf (" %" G_GUINT64_FORMAT, g_array_index (r->new_roots, guint64, i));
      if (split && report->sv_split)
        printf ("; %u supervoxel split(s)", report->seg_bboxes->len / 6);
      printf ("\n");
      return;
    }
  json_builder_begin_object (b);
  cleavectl_add_op_result (b, r);
  if (split)
    {
      json_builder_set_member_name (b, "removed_edges");
      json_builder_add_int_value (b, r->n_deactivated);
      json_builder_set_member_name (b, "sv_split");
      json_builder_add_boolean_value (b, report->sv_split);
      if (report->sv_split)
        {
          json_builder_set_member_name (b, "seg_bboxes");
          json_builder_begin_array (b);
          for (guint i = 0; i + 5 < report->seg_bboxes->len; i += 6)
            {
              json_builder_begin_array (b);
              for (guint k = 0; k < 6; k++)
                json_builder_add_int_value (b, g_array_index (report->seg_bboxes, gint64, i + k));
              json_builder_end_array (b);
            }
          json_builder_end_array (b);
        }
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  cleavectl_print_json (root);
}

static int
run_merge (const CleavectlCommand *command,
           char                  **args,
           guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_auto(CleaveEditResult) r = { 0 };
  gint64 xyz[6];
  guint64 sv[2];
  gboolean ok;

  if (!cleavectl_parse_triple (args[1], "point", xyz, &error) || !cleavectl_parse_triple (args[2], "point", xyz + 3, &error))
    return cleavectl_usage_error (command, "%s", error->message);
  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (graph = cleave_graph_open (args[0], &error)) == NULL)
    return cleavectl_fail (command, error);
  if (!cleave_volume_lookup (cleave_dataset_get_seg (ds), 0, xyz, 2, sv, &error))
    return cleavectl_fail (command, error);
  ok = cleave_edit_merge (graph, sv[0], sv[1], xyz, xyz + 3, user (), &r, &error);
  print_stages (&r);
  if (!ok)
    return cleavectl_fail (command, error);
  print_result (&r, FALSE, NULL);
  return CLEAVECTL_EXIT_OK;
}

static int
run_revert (const CleavectlCommand *command,
            char                  **args,
            gboolean                undo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_auto(CleaveEditResult) r = { 0 };
  guint64 op;
  gboolean ok;

  if (!g_ascii_string_to_unsigned (args[1], 10, 1, G_MAXINT64, &op, NULL))
    return cleavectl_usage_error (command, "'%s' is not an op id", args[1]);
  graph = cleave_graph_open (args[0], &error);
  if (graph == NULL)
    return cleavectl_fail (command, error);
  ok = (undo ? cleave_edit_undo : cleave_edit_redo) (graph, op, user (), &r, &error);
  print_stages (&r);
  if (!ok)
    return cleavectl_fail (command, error);
  print_result (&r, FALSE, NULL);
  return CLEAVECTL_EXIT_OK;
}

static int
run_undo (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  return run_revert (command, args, TRUE);
}

static int
run_redo (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  return run_revert (command, args, FALSE);
}

static void
add_opt_id (JsonBuilder *b,
            const char  *name,
            guint64      id)
{
  json_builder_set_member_name (b, name);
  if (id)
    json_builder_add_int_value (b, (gint64) id);
  else
    json_builder_add_null_value (b);
}

static int
run_ops (const CleavectlCommand *command,
         char                  **args,
         guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = cleave_graph_open (args[0], &error);
  g_autoptr(GArray) ops = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (graph == NULL || (ops = cleave_edit_list_ops (graph, &error)) == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_array (b);
  for (guint i = 0; i < ops->len; i++)
    {
      const CleaveOpInfo *o = &g_array_index (ops, CleaveOpInfo, i);
      g_autofree char *when = cleave_ocdbt_format_time ((guint64) o->ts);

      if (!cleavectl_json)
        {
          printf ("%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\n", o->id, when, o->kind, o->user,
                  cleave_op_status_name (o->status), o->inputs);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "op_id");
      json_builder_add_int_value (b, (gint64) o->id);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, o->kind);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, o->user);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, cleave_op_status_name (o->status));
      json_builder_set_member_name (b, "time");
      json_builder_add_string_value (b, when);
      json_builder_set_member_name (b, "time_ns");
      json_builder_add_int_value (b, o->ts);
      json_builder_set_member_name (b, "inputs");
      {
        g_autoptr(JsonParser) p = json_parser_new ();

        if (json_parser_load_from_data (p, o->inputs, -1, NULL))
          json_builder_add_value (b, json_node_copy (json_parser_get_root (p)));
        else
          json_builder_add_string_value (b, o->inputs);
      }
      cleavectl_add_ids (b, "new_roots", o->new_roots);
      json_builder_set_member_name (b, "added_edges");
      json_builder_add_int_value (b, o->n_activated);
      json_builder_set_member_name (b, "removed_edges");
      json_builder_add_int_value (b, o->n_deactivated);
      add_opt_id (b, "undo_of", o->undo_of);
      add_opt_id (b, "redo_of", o->redo_of);
      add_opt_id (b, "undone_by", o->undone_by);
      json_builder_set_member_name (b, "exception");
      if (o->exception)
        json_builder_add_string_value (b, o->exception);
      else
        json_builder_add_null_value (b);
      cleavectl_add_ids (b, "l2_scope", o->l2_scope);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

static int
run_locks (const CleavectlCommand *command,
           char                  **args,
           guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = cleave_graph_open (args[0], &error);
  g_autoptr(GArray) locks = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (graph == NULL || (locks = cleave_lock_list (graph, &error)) == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_array (b);
  for (guint i = 0; i < locks->len; i++)
    {
      const CleaveLockInfo *l = &g_array_index (locks, CleaveLockInfo, i);
      g_autofree char *expires = l->expires ? cleave_ocdbt_format_time ((guint64) l->expires) : NULL;
      const char *key = strchr (l->key, ':') ? strchr (l->key, ':') + 1 : l->key;
      gint64 coords[3] = { 0 };
      guint64 chunk_id;
      gboolean have_coords = FALSE;

      if (cleave_lock_key_l2chunk (l->key, &chunk_id))
        {
          guint64 c[3];

          cleave_node_id_chunk (chunk_id, cleave_graph_chunk_bits (graph, 2), c);
          for (guint a = 0; a < 3; a++)
            coords[a] = (gint64) c[a];
          have_coords = TRUE;
        }
      else
        have_coords = cleave_lock_key_downsample (l->key, coords);

      /* One entry per held cell: temporal, then indefinite. */
      for (guint cell = 0; cell < 2; cell++)
        {
          guint64 op = cell == 0 ? l->op : l->indefinite_op;

          if (op == 0)
            continue;
          if (!cleavectl_json)
            {
              g_autofree char *where = have_coords
                ? g_strdup_printf ("\t%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                                   coords[0], coords[1], coords[2])
                : NULL;

              printf ("%s\t%s\top %" G_GUINT64_FORMAT "\t%s%s\n", l->kind, key, op,
                      cell == 0 ? expires : "indefinite", where ? where : "");
              continue;
            }
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "kind");
          json_builder_add_string_value (b, l->kind);
          json_builder_set_member_name (b, "key");
          json_builder_add_string_value (b, key);
          json_builder_set_member_name (b, "op_id");
          json_builder_add_int_value (b, (gint64) op);
          json_builder_set_member_name (b, "indefinite");
          json_builder_add_boolean_value (b, cell == 1);
          json_builder_set_member_name (b, "expires");
          if (cell == 0 && expires)
            json_builder_add_string_value (b, expires);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "chunk");
          if (have_coords)
            {
              json_builder_begin_array (b);
              for (guint a = 0; a < 3; a++)
                json_builder_add_int_value (b, coords[a]);
              json_builder_end_array (b);
            }
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_merge = {
  .name = "merge",
  .synopsis = "DIR X,Y,Z X,Y,Z [--user U] [--verbose] [--json]",
  .summary = "Join the objects at two points into one",
  .description = "--json: {\"op_id\": N, \"status\": \"SUCCESS\", \"new_roots\": [...]}\n"
                 "--verbose: a timing line per stage on standard error.",
  .entries = edit_entries,
  .json = TRUE,
  .min_args = 3,
  .max_args = 3,
  .run = run_merge,
};

const CleavectlCommand cleavectl_cmd_undo = {
  .name = "undo",
  .synopsis = "DIR OP_ID [--user U] [--verbose] [--json]",
  .summary = "Revert an op with a new op linked to it",
  .entries = edit_entries,
  .json = TRUE,
  .min_args = 2,
  .max_args = 2,
  .run = run_undo,
};

const CleavectlCommand cleavectl_cmd_redo = {
  .name = "redo",
  .synopsis = "DIR OP_ID [--user U] [--verbose] [--json]",
  .summary = "Make an undone op again, as a new op linked to it",
  .entries = edit_entries,
  .json = TRUE,
  .min_args = 2,
  .max_args = 2,
  .run = run_redo,
};

const CleavectlCommand cleavectl_cmd_ops = {
  .name = "ops",
  .synopsis = "DIR [--json]",
  .summary = "The op log, oldest first, every field",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_ops,
};

const CleavectlCommand cleavectl_cmd_locks = {
  .name = "locks",
  .synopsis = "DIR [--json]",
  .summary = "The locks held now (expired temporal locks left out)",
  .description = "--json: [{\"kind\": \"root\"|\"l2chunk\"|\"downsample\", \"key\": \"...\", \"op_id\": N,\n"
                 "\"indefinite\": bool, \"expires\": ISO|null, \"chunk\": [x,y,z]|null}]",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_locks,
};

/* A point whose supervoxel has no root is often inside a stuck split
 * (its new ids are in the segmentation, not yet in the graph): say so. */
static int
fail_with_stuck_hint (const CleavectlCommand *command,
                      CleaveGraph            *graph,
                      const char             *dir,
                      GError                 *error)
{
  g_autoptr(GArray) stuck = NULL;

  if (!g_error_matches (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND) &&
      !g_error_matches (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT))
    return cleavectl_fail (command, error);
  stuck = cleave_recover_list (graph, 0, NULL);
  if (stuck != NULL && stuck->len > 0)
    {
      guint64 op = g_array_index (stuck, CleaveStuckOp, 0).op_id;

      g_prefix_error (&error, "op %" G_GUINT64_FORMAT " is stuck (`cleavectl stuck replay %s %" G_GUINT64_FORMAT "`): ",
                      op, dir, op);
    }
  return cleavectl_fail (command, error);
}

static int
run_split (const CleavectlCommand *command,
           char                  **args,
           guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_auto(CleaveEditResult) r = { 0 };
  g_auto(CleaveMulticutResult) cut = { 0 };
  g_auto(CleaveSplitReport) report = { 0 };
  gboolean ok;
  guint n_src = opt_sources ? g_strv_length (opt_sources) : 0, n_snk = opt_sinks ? g_strv_length (opt_sinks) : 0;
  g_autofree gint64 *src = g_new (gint64, 3 * MAX (n_src, 1));
  g_autofree gint64 *snk = g_new (gint64, 3 * MAX (n_snk, 1));
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (n_src == 0 || n_snk == 0)
    return cleavectl_usage_error (command, "give at least one --source and one --sink");
  for (guint i = 0; i < n_src; i++)
    if (!cleavectl_parse_triple (opt_sources[i], "--source", src + 3 * i, &error))
      return cleavectl_usage_error (command, "%s", error->message);
  for (guint i = 0; i < n_snk; i++)
    if (!cleavectl_parse_triple (opt_sinks[i], "--sink", snk + 3 * i, &error))
      return cleavectl_usage_error (command, "%s", error->message);
  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (graph = cleave_graph_open (args[0], &error)) == NULL)
    return cleavectl_fail (command, error);
  ok = cleave_edit_split (graph, cleave_dataset_get_seg (ds), src, n_src, snk, n_snk, opt_preview, user (), &cut, &report,
                          &r, &error);
  /* Where the time went, also when it failed. */
  if (opt_verbose && !opt_preview)
    for (guint s = 0; s < CLEAVE_SPLIT_N_STAGES; s++)
      g_printerr ("%-15s %9.1f ms\n", cleave_split_stage_name (s), report.stage_ms[s]);
  if (!ok)
    return fail_with_stuck_hint (command, graph, args[0], error);

  if (!opt_preview)
    {
      print_result (&r, TRUE, &report);
      return CLEAVECTL_EXIT_OK;
    }
  if (cut.kind == CLEAVE_MULTICUT_SV_SPLIT_REQUIRED)
    {
      if (!cleavectl_json)
        printf ("the cut must pass through a supervoxel: the split would split it first\n");
      else
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "sv_split_required");
          json_builder_add_boolean_value (b, TRUE);
          json_builder_end_object (b);
          {
            g_autoptr(JsonNode) root = json_builder_get_root (b);
            cleavectl_print_json (root);
          }
        }
      return CLEAVECTL_EXIT_OK;
    }
  if (!cleavectl_json)
    {
      printf ("source side: %u supervoxels; sink side: %u supervoxels; cut value %.4f%s\n",
              cut.source_svs->len, cut.sink_svs->len, cut.cut_value, cut.illegal ? "; illegal (it only isolates the points)" : "");
      return CLEAVECTL_EXIT_OK;
    }
  json_builder_begin_object (b);
  cleavectl_add_ids (b, "source_svs", cut.source_svs);
  cleavectl_add_ids (b, "sink_svs", cut.sink_svs);
  json_builder_set_member_name (b, "illegal");
  json_builder_add_boolean_value (b, cut.illegal);
  json_builder_end_object (b);
  {
    g_autoptr(JsonNode) root = json_builder_get_root (b);
    cleavectl_print_json (root);
  }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_split = {
  .name = "split",
  .synopsis = "DIR --source X,Y,Z [--source ...] --sink X,Y,Z [--sink ...] [--preview] [--user U] [--verbose] [--json]",
  .summary = "Split an object between source and sink points with a multicut",
  .description = "When the cut must pass through a supervoxel (a source and a sink in one), that supervoxel is split\n"
                 "first along its thinnest section, under L2 chunk locks, then the object is cut.\n"
                 "--json: {\"op_id\": N, \"status\": \"SUCCESS\", \"new_roots\": [...], \"removed_edges\": N,\n"
                 "         \"sv_split\": true, \"seg_bboxes\": [[x0,y0,z0,x1,y1,z1], ...]}\n"
                 "--preview --json: {\"source_svs\": [...], \"sink_svs\": [...], \"illegal\": false}, or\n"
                 "                  {\"sv_split_required\": true}\n"
                 "--verbose: a timing line per stage on standard error.",
  .entries = split_entries,
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_split,
};

typedef struct
{
  JsonBuilder *problems;
} VerifyReport;

static void
verify_problem (const char *problem,
                gpointer    user_data)
{
  VerifyReport *vr = user_data;

  json_builder_add_string_value (vr->problems, problem);
  if (!cleavectl_json)
    g_printerr ("cleavectl: verify: %s\n", problem);
}

static int
run_verify (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  VerifyReport vr = { b };
  CleaveVerifyStats stats;

  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (graph = cleave_graph_open (args[0], &error)) == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  if (!cleave_verify (graph, cleave_dataset_get_seg (ds), verify_problem, &vr, &stats, &error))
    return cleavectl_fail (command, error);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "supervoxels");
  json_builder_add_int_value (b, stats.supervoxels);
  json_builder_set_member_name (b, "roots");
  json_builder_add_int_value (b, stats.roots);
  json_builder_set_member_name (b, "nodes");
  json_builder_add_int_value (b, stats.nodes);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, stats.problems == 0);
  json_builder_end_object (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  else if (stats.problems == 0)
    printf ("ok: %" G_GUINT64_FORMAT " supervoxels, %" G_GUINT64_FORMAT " objects, %" G_GUINT64_FORMAT " nodes\n",
            stats.supervoxels, stats.roots, stats.nodes);
  else
    g_printerr ("cleavectl: verify: %s: %" G_GUINT64_FORMAT " problems\n", args[0], stats.problems);
  return stats.problems == 0 ? CLEAVECTL_EXIT_OK : CLEAVECTL_EXIT_ERROR;
}

const CleavectlCommand cleavectl_cmd_verify = {
  .name = "verify",
  .synopsis = "DIR [--json]",
  .summary = "Check the graph's invariants and that it agrees with the segmentation; exit 1 on any problem",
  .description = "--json: {\"problems\": [\"...\"], \"supervoxels\": N, \"roots\": N, \"nodes\": N, \"ok\": bool}",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_verify,
};
