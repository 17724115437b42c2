/* cleavectl-recover.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl stuck list, stuck replay: ops that died during a supervoxel
 * split, and bringing them to a clean end.
 */

#include "cleavectl.h"

#include <stdio.h>
#include <string.h>

#include "cleave-dataset.h"
#include "cleave-fault.h"
#include "cleave-graph.h"
#include "cleave-node-id.h"
#include "cleave-ocdbt.h"
#include "cleave-recover.h"

static double opt_min_age = 600;

static GOptionEntry list_entries[] = {
  { "min-age", 0, 0, G_OPTION_ARG_DOUBLE, &opt_min_age,
    "Leave out ops younger than this: they may still be running (default 600)", "SECONDS" },
  { NULL }
};

static int
run_stuck_list (const CleavectlCommand *command,
                char                  **args,
                guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_autoptr(GArray) ops = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (opt_min_age < 0)
    return cleavectl_usage_error (command, "--min-age must not be negative");
  graph = cleave_graph_open (args[0], &error);
  if (graph == NULL || (ops = cleave_recover_list (graph, (gint64) (opt_min_age * 1e9), &error)) == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_array (b);
  for (guint i = 0; i < ops->len; i++)
    {
      const CleaveStuckOp *op = &g_array_index (ops, CleaveStuckOp, i);
      g_autofree char *when = cleave_ocdbt_format_time ((guint64) op->ts);

      if (!cleavectl_json)
        {
          printf ("op %" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\tage %.0f s\t%u L2 chunks\n", op->op_id, op->kind, op->user,
                  cleave_op_status_name (op->status), when, op->age_ns / 1e9, op->scope->len);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "op_id");
      json_builder_add_int_value (b, (gint64) op->op_id);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, op->kind);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, op->user);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, cleave_op_status_name (op->status));
      json_builder_set_member_name (b, "time");
      json_builder_add_string_value (b, when);
      json_builder_set_member_name (b, "age_s");
      json_builder_add_double_value (b, op->age_ns / 1e9);
      cleavectl_add_ids (b, "scope", op->scope);
      json_builder_set_member_name (b, "chunks");
      json_builder_begin_array (b);
      for (guint c = 0; c < op->scope->len; c++)
        {
          guint64 xyz[3];

          cleave_node_id_chunk (g_array_index (op->scope, guint64, c), cleave_graph_chunk_bits (graph, 2), xyz);
          json_builder_begin_array (b);
          for (guint d = 0; d < 3; d++)
            json_builder_add_int_value (b, (gint64) xyz[d]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  else if (ops->len == 0)
    printf ("no stuck ops\n");
  return CLEAVECTL_EXIT_OK;
}

static int
run_stuck_replay (const CleavectlCommand *command,
                  char                  **args,
                  guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(CleaveGraph) graph = NULL;
  g_auto(CleaveEditResult) r = { 0 };
  guint n_reverted = 0;
  guint64 op;

  if (!g_ascii_string_to_unsigned (args[1], 10, 1, G_MAXINT64, &op, NULL))
    return cleavectl_usage_error (command, "'%s' is not an op id", args[1]);
  ds = cleave_dataset_open (args[0], &error);
  if (ds == NULL || (graph = cleave_graph_open (args[0], &error)) == NULL)
    return cleavectl_fail (command, error);
  if (!cleave_recover_replay (graph, ds, op, &n_reverted, &r, &error))
    return cleavectl_fail (command, error);
  if (cleavectl_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      cleavectl_add_op_result (b, &r);
      json_builder_set_member_name (b, "reverted_chunks");
      json_builder_add_int_value (b, n_reverted);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  else
    printf ("op %" G_GUINT64_FORMAT ": replayed, %s (%u chunks put back first)\n", r.op_id,
            cleave_op_status_name (r.status), n_reverted);
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_stuck_list = {
  .name = "stuck list",
  .synopsis = "DIR [--min-age SECONDS] [--json]",
  .summary = "Ops that stopped during a supervoxel split, with their L2 chunk lock scope",
  .description = "An op is stuck when its log row still has an L2 chunk scope and it did not succeed; its chunks\n"
                 "stay locked (see `cleavectl locks`) until `cleavectl stuck replay`.\n"
                 "--json: [{\"op_id\": N, \"kind\": \"split\", \"user\": U, \"status\": S, \"time\": ISO,\n"
                 "          \"age_s\": F, \"scope\": [L2 chunk ids], \"chunks\": [[x,y,z], ...]}]",
  .entries = list_entries,
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_stuck_list,
};

const CleavectlCommand cleavectl_cmd_stuck_replay = {
  .name = "stuck replay",
  .synopsis = "DIR OP_ID [--json]",
  .summary = "Bring a stuck op to a clean end: its chunks put back, the op run again",
  .description = "Refused, changing nothing, unless every chunk of the op's scope is still locked by it (so a\n"
                 "second replay is refused). Puts each scoped chunk back as it was at the op's time, takes the\n"
                 "op's partial graph rows out, and runs the op again with its own id and time (fresh\n"
                 "supervoxel ids); its locks are released and it ends SUCCESS.",
  .json = TRUE,
  .min_args = 2,
  .max_args = 2,
  .run = run_stuck_replay,
};

static int
run_faults (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  const char * const *names = cleave_fault_list ();
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; names[i]; i++)
    {
      if (cleavectl_json)
        json_builder_add_string_value (b, names[i]);
      else
        printf ("%s\n", names[i]);
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_faults = {
  .name = "faults",
  .synopsis = "[--json]",
  .summary = "The fault points: CLEAVE_FAULT=NAME[,NAME] makes the process exit (status 86) there",
  .description = "For trying crash recovery by hand, as the tests do: for example\n"
                 "CLEAVE_FAULT=svsplit-seg-committed cleavectl split ..., then cleavectl stuck list.",
  .json = TRUE,
  .max_args = 0,
  .run = run_faults,
};

/* By op id, not as text: 9.json before 10.json. */
static int
cmp_name (gconstpointer a,
          gconstpointer b)
{
  guint64 x = g_ascii_strtoull (*(char * const *) a, NULL, 10), y = g_ascii_strtoull (*(char * const *) b, NULL, 10);

  return x < y ? -1 : x > y;
}

/* DIR/errors/OPID.json, one or all. */
static int
run_errors (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (args[0], "errors", NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  guint64 only = 0;

  if (n_args > 1 && !g_ascii_string_to_unsigned (args[1], 10, 1, G_MAXINT64, &only, NULL))
    return cleavectl_usage_error (command, "'%s' is not an op id", args[1]);
  if (!g_file_test (args[0], G_FILE_TEST_IS_DIR))
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such directory", args[0]);
      return cleavectl_fail (command, error);
    }
  if (only)
    g_ptr_array_add (names, g_strdup_printf ("%" G_GUINT64_FORMAT ".json", only));
  else
    {
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;

      while (d && (name = g_dir_read_name (d)))
        if (g_str_has_suffix (name, ".json"))
          g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, cmp_name);
    }
  json_builder_begin_array (b);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree char *text = NULL;
      g_autoptr(JsonNode) node = NULL;
      JsonObject *o;

      if (!g_file_get_contents (path, &text, NULL, &error) || (node = json_from_string (text, &error)) == NULL ||
          !JSON_NODE_HOLDS_OBJECT (node))
        {
          if (error == NULL)
            g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "not a JSON object");
          g_prefix_error (&error, "%s: ", path);
          return cleavectl_fail (command, error);
        }
      o = json_node_get_object (node);
      if (cleavectl_json)
        json_builder_add_value (b, json_node_copy (node));
      else
        printf ("op %" G_GINT64_FORMAT "\t%s\t%s\tfailed in %s: %s\n", json_object_get_int_member (o, "op_id"),
                json_object_get_string_member (o, "op_type"), json_object_get_string_member (o, "user"),
                json_object_get_string_member (o, "failed_in"), json_object_get_string_member (o, "error_message"));
    }
  json_builder_end_array (b);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_errors = {
  .name = "errors",
  .synopsis = "DIR [OP_ID] [--json]",
  .summary = "The error artifacts failed ops left in DIR/errors/",
  .description = "Each holds the op's kind, user, inputs, the error's class and message, and the stage it failed in.",
  .json = TRUE,
  .min_args = 1,
  .max_args = 2,
  .run = run_errors,
};
