/* cleave-util.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Small pieces several core modules need alike: the wall clock in
 * nanoseconds (commit times, op times, lock expiries), ordering of uint64
 * arrays, and union-find over dense indices.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Nanoseconds since the Unix epoch. */
gint64   cleave_now_ns   (void);

/* A GCompareFunc for guint64 elements. */
int      cleave_cmp_u64  (gconstpointer a,
                          gconstpointer b);

/* Union-find over indices 0..n-1 (@parent[i] = i to start). The smaller
 * index is always the root, so results do not depend on the order of the
 * unions. union returns whether two sets were joined. */
guint    cleave_uf_find  (guint        *parent,
                          guint         x);
gboolean cleave_uf_union (guint        *parent,
                          guint         a,
                          guint         b);

G_END_DECLS
