/* cleave-ui.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ui"

#include "cleave-ui.h"
#include "cleave-resources.h"

/* The resources are registered by hand: a static library's constructor
 * would be dropped by the linker when nothing references it. */
void
cleave_ui_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      cleave_register_resource ();
      g_type_ensure (CLEAVE_TYPE_WINDOW);
      g_once_init_leave (&initialized, 1);
    }
}
