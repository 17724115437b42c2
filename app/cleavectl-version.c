/* cleavectl-version.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include "cleave-version.h"

static int
run_version (const CleavectlCommand *command,
             char                  **args,
             guint                   n_args)
{
  g_autofree char *deps = cleave_version_dependencies ();

  if (cleavectl_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "version");
      json_builder_add_string_value (builder, cleave_version ());
      json_builder_set_member_name (builder, "libraries");
      json_builder_add_string_value (builder, deps);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cleavectl_print_json (root);
    }
  else
    {
      g_print ("cleavectl %s (%s)\n", cleave_version (), deps);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_version = {
  .name = "version",
  .synopsis = "[--json]",
  .summary = "Print the version of cleavectl and of the libraries it runs on",
  .json = TRUE,
  .run = run_version,
};
