/* cleave-fault.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-fault.h"

#include <stdlib.h>
#include <unistd.h>

/* Every point the code has, so `cleavectl faults` can list them and a
 * test can check the code names no other. */
static const char * const known[] = {
  "commit-locked", "commit-data-partial", "commit-data-synced", "commit-manifest-partial",
  "commit-manifest-synced", "commit-renamed",
  "ingest-chunk-written",
  "edit-created", "edit-written",
  "svsplit-scope-written", "svsplit-seg-committed", "svsplit-graph-txn", "svsplit-graph-committed",
  "svsplit-before-release", "svsplit-before-retry",
  "downsample-claimed", "downsample-read", "downsample-tile", "downsample-before-commit",
  "downsample-after-commit",
  NULL
};

const char * const *
cleave_fault_list (void)
{
  return known;
}

static char **
armed_points (void)
{
  static gsize once;
  static char **points;

  if (g_once_init_enter (&once))
    {
      const char *env = g_getenv ("CLEAVE_FAULT");

      points = g_strsplit (env ? env : "", ",", -1);
      g_once_init_leave (&once, 1);
    }
  return points;
}

gboolean
cleave_fault_armed (const char *point)
{
  return g_strv_contains ((const char * const *) armed_points (), point);
}

void
cleave_fault_point (const char *point)
{
  if (cleave_fault_armed (point))
    _exit (CLEAVE_FAULT_EXIT_STATUS);
}
