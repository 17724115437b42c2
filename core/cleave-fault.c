/* cleave-fault.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-fault.h"

#include <stdlib.h>
#include <unistd.h>

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
