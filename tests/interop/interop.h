/* interop.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the interop test's two halves share: the stores libcleave writes,
 * with their model (test-interop.c), and ngocdbt's reading of them,
 * compared with that model (interop-ngocdbt.c).
 */

#pragma once

#include "cleave-ocdbt-writer.h"

G_BEGIN_DECLS

#define MAX_PROBLEMS 20

/* The model: what every generation of a store should hold. */
typedef struct
{
  GBytes *key;
  guint64 size;
  char   *sha256;
} Entry;

typedef struct
{
  guint64  generation;
  guint64  commit_time;
  GArray  *entries;  /* Entry, in key order */
} Generation;

/* A store to write, and the writer that writes it with libcleave and
 * keeps its model. */
typedef struct
{
  const char *name;
  /* A tensorstore-written store under shared testdata/ocdbt/ to commit on
   * top of, instead of a new one with the settings below. */
  const char *golden;
  guint32     max_inline_value_bytes;
  guint32     max_decoded_node_bytes;
  guint8      arity_log2;
  guint32     compression;           /* 0 none, 1 zstd */
  gint32      zstd_level;
  guint       n_commits;
  guint       grid;                  /* grid^3 chunks of 64^3 */
  gboolean    big_value;             /* one value past the writer's 4 MiB buffer */
  /* What the store must reach, so the test shows it covers it. */
  guint       min_btree_height;
  guint       min_vtree_height;
} StoreCase;

typedef struct
{
  const StoreCase *c;
  CleaveOcdbtConfig config;
  char            *dir;
  CleaveOcdbt     *store;
  CleaveOcdbtTxn  *txn;
  GTree           *model;        /* GBytes key -> GBytes value */
  GPtrArray       *generations;  /* Generation, [i] is generation i + 1 */
  GRand           *rand;
  guint            max_btree_height;
  guint            n_ops;        /* in the open transaction */
} Writer;

/* Where ngocdbt's reading differs from the model: the first
 * MAX_PROBLEMS, and how many in all. */
typedef struct
{
  const char *store;
  GString    *report;
  guint       n;
} Problems;

/* The model's key order: GBytes keys, compared as OCDBT orders them. */
int      interop_bytes_cmp            (gconstpointer  a,
                                       gconstpointer  b,
                                       gpointer       user_data);

gboolean interop_require_ngocdbt      (void);
/* ngocdbt's listing of every generation of @w's store, against the model. */
void     interop_compare_with_ngocdbt (Writer        *w,
                                       Problems      *p);

G_END_DECLS
