/* cleave-version.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-version"

#include "cleave-config.h"
#include "cleave-version.h"

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <zstd.h>

const char *
cleave_version (void)
{
  return CLEAVE_VERSION;
}

/* Versions of the libraries linked at run time (not the headers built
 * against), so a bug report names what was really loaded. */
char *
cleave_version_dependencies (void)
{
  return g_strdup_printf ("glib %u.%u.%u, sqlite %s, zstd %s, json-glib %d.%d.%d",
                          glib_major_version, glib_minor_version, glib_micro_version,
                          sqlite3_libversion (), ZSTD_versionString (),
                          JSON_MAJOR_VERSION, JSON_MINOR_VERSION, JSON_MICRO_VERSION);
}
