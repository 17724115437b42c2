/* cleave-lock.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Locks in the graph's lock table (shared spec/reference-pcg.md §3): one
 * row per key — a root id, an L2 chunk, a downsample block — with a
 * temporal cell (the op holding it and an expiry, renewable) and an
 * indefinite cell (an op, never expires). Acquisition is sorted and
 * all-or-nothing, in one SQLite transaction, retried with back-off; release
 * only removes cells the releasing op holds.
 */

#pragma once

#include "cleave-graph.h"

G_BEGIN_DECLS

#define CLEAVE_LOCK_ERROR (cleave_lock_error_quark ())

typedef enum
{
  CLEAVE_LOCK_ERROR_LOCKED,     /* another op holds a cell */
} CleaveLockError;

GQuark cleave_lock_error_quark (void);

/* Temporal cells expire after this long (the reference's 3 minutes). */
#define CLEAVE_LOCK_EXPIRY_NS (G_GINT64_CONSTANT (180) * 1000000000)

typedef struct
{
  char    *key;
  char    *kind;          /* "root", "l2chunk", "downsample" */
  guint64  op;            /* temporal holder, 0 if none (or expired) */
  gint64   expires;       /* ns since the epoch, 0 if none */
  guint64  indefinite_op; /* 0 if none */
} CleaveLockInfo;

void     cleave_lock_info_clear   (CleaveLockInfo *info);

/* Row keys, kept apart by namespace as the reference's (§3): a root id;
 * an L2 chunk id behind a 2-byte hash of it (so neighbouring chunks do not
 * sort together); a downsample block's coordinates behind a 2-byte hash.
 * Bytes are written in hex so `cleavectl locks` and sqlite3 can show them. */
char    *cleave_lock_root_key     (guint64          root);
char    *cleave_lock_l2chunk_key  (guint64          chunk_id);
char    *cleave_lock_downsample_key (const gint64   block[3]);
/* The chunk id of an l2chunk key, or the block of a downsample key; FALSE
 * for any other key. */
gboolean cleave_lock_key_l2chunk  (const char      *key,
                                   guint64         *chunk_id);
gboolean cleave_lock_key_downsample (const char    *key,
                                   gint64           block[3]);

/* Takes the temporal cells of @keys for @op; fails (LOCKED, naming the key
 * and its holder) if another op holds either cell of any of them, after
 * @tries attempts with back-off. */
gboolean cleave_lock_acquire      (CleaveGraph     *graph,
                                   const char      *kind,
                                   char           **keys,
                                   guint            n_keys,
                                   guint64          op,
                                   guint            tries,
                                   GError         **error);
/* Extends the expiry of cells @op holds; fails if it no longer holds one. */
gboolean cleave_lock_renew        (CleaveGraph     *graph,
                                   char           **keys,
                                   guint            n_keys,
                                   guint64          op,
                                   GError         **error);
gboolean cleave_lock_acquire_indefinite (CleaveGraph *graph,
                                   const char      *kind,
                                   char           **keys,
                                   guint            n_keys,
                                   guint64          op,
                                   GError         **error);
/* Value-matched: only cells held by @op go. */
gboolean cleave_lock_release      (CleaveGraph     *graph,
                                   char           **keys,
                                   guint            n_keys,
                                   guint64          op,
                                   gboolean         indefinite,
                                   GError         **error);
/* Every cell @op holds, of either kind, everywhere: the end of a replay. */
gboolean cleave_lock_release_op   (CleaveGraph     *graph,
                                   guint64          op,
                                   GError         **error);
/* Every held cell (expired temporal cells left out). */
GArray  *cleave_lock_list         (CleaveGraph     *graph,
                                   GError         **error);

G_END_DECLS
