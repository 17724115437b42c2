/* cleave-parallel.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A parallel for-loop over one process-wide GThreadPool (one worker per
 * processor). The calling thread works too, so a loop started from a
 * worker never waits on itself.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @func for every index in [0, @n), in any order, on any thread.
 * After the first failure no new index starts; its error is returned. */
typedef gboolean (*CleaveParallelFunc) (gsize     index,
                                        gpointer  user_data,
                                        GError  **error);

gboolean cleave_parallel_for (gsize               n,
                              CleaveParallelFunc  func,
                              gpointer            user_data,
                              GError            **error);

G_END_DECLS
