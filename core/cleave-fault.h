/* cleave-fault.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Crash points for tests. With CLEAVE_FAULT=POINT[,POINT...] in the
 * environment, the process ends with _exit(CLEAVE_FAULT_EXIT_STATUS) the
 * moment it reaches a named point: no cleanup, no flushing, as if killed.
 * Crash tests run a real writer this way and check what it left behind.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_FAULT_EXIT_STATUS 86

/* The names of every fault point, NULL-terminated. */
const char * const *cleave_fault_list (void);
gboolean cleave_fault_armed (const char *point);
void     cleave_fault_point (const char *point);

G_END_DECLS
