/* cleave-main.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave"

#include "cleave-config.h"

#include <locale.h>

#include "cleave-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CleaveApplication) app = NULL;
  int status;

  setlocale (LC_ALL, "");
  g_set_prgname ("cleave");
  g_set_application_name ("Cleave");

  app = cleave_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  if (status == 0)
    status = cleave_application_get_exit_status (app);
  return status;
}
