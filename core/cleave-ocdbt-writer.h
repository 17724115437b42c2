/* cleave-ocdbt-writer.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Writing an OCDBT store: creating one, forking one, and transactions
 * that commit a batch of puts and deletes as one new generation.
 *
 * A commit is crash-safe: its data file is written and fsynced before a
 * new manifest is written to a temporary file, fsynced and renamed over
 * manifest.ocdbt, and the directory fsynced. Until the rename the previous
 * generation is what every reader sees. Commits from several threads and
 * processes are serialized by an OFD lock on manifest.ocdbt.cleave-lock;
 * under it the writer reads the newest manifest and applies its batch on
 * top, so no writer loses another's commit. Readers never take the lock.
 */

#pragma once

#include "cleave-ocdbt.h"

G_BEGIN_DECLS

typedef struct _CleaveOcdbtTxn CleaveOcdbtTxn;

/* tensorstore's defaults: 100-byte inline values, 8 MiB nodes, version
 * tree arity 16, zstd level 0; a fresh random uuid. */
void            cleave_ocdbt_config_init_default (CleaveOcdbtConfig       *config);

/* A new store in @dir (created if needed) whose generation 1 is empty.
 * @config NULL: the defaults. */
CleaveOcdbt    *cleave_ocdbt_create       (const char              *dir,
                                           const CleaveOcdbtConfig *config,
                                           GError                 **error);

/* A fork of the store in @base_dir: @fork_dir gets a copy of the base's
 * manifest and nothing else. With @wipe an existing fork is replaced
 * (its commits are lost); without, an existing fork is an error. */
gboolean        cleave_ocdbt_fork         (const char              *base_dir,
                                           const char              *fork_dir,
                                           gboolean                 wipe,
                                           GError                 **error);

/* fsync data files, manifest and directory (the default). Benchmarks
 * turn it off to see what the sync costs. */
void            cleave_ocdbt_set_sync     (CleaveOcdbt             *store,
                                           gboolean                 sync);

CleaveOcdbtTxn *cleave_ocdbt_txn_new      (CleaveOcdbt             *store);
void            cleave_ocdbt_txn_free     (CleaveOcdbtTxn          *txn);

/* The last operation on a key wins; a delete_range removes the puts
 * before it. Keys and values are copied (put_bytes takes a reference). */
void            cleave_ocdbt_txn_put      (CleaveOcdbtTxn          *txn,
                                           const guint8            *key,
                                           gsize                    key_len,
                                           const guint8            *value,
                                           gsize                    value_len);
void            cleave_ocdbt_txn_put_bytes (CleaveOcdbtTxn         *txn,
                                           const guint8            *key,
                                           gsize                    key_len,
                                           GBytes                  *value);
void            cleave_ocdbt_txn_delete   (CleaveOcdbtTxn          *txn,
                                           const guint8            *key,
                                           gsize                    key_len);
/* Keys in [lo, hi); @hi NULL: every key from @lo on. */
void            cleave_ocdbt_txn_delete_range (CleaveOcdbtTxn      *txn,
                                           const guint8            *lo,
                                           gsize                    lo_len,
                                           const guint8            *hi,
                                           gsize                    hi_len);
guint           cleave_ocdbt_txn_get_n_ops (CleaveOcdbtTxn         *txn);

/* Commits as one new generation (an empty transaction commits nothing and
 * reports the current one). The store handle then reads the new
 * generation. A pinned handle refuses (CLEAVE_OCDBT_ERROR_READ_ONLY). */
gboolean        cleave_ocdbt_txn_commit   (CleaveOcdbtTxn          *txn,
                                           guint64                 *generation_out,
                                           GError                 **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveOcdbtTxn, cleave_ocdbt_txn_free)

G_END_DECLS
