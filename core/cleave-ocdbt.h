/* cleave-ocdbt.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An OCDBT store in a local directory, as tensorstore writes it: open,
 * list its versions, read any version (latest, by generation, or as of a
 * time), get one key, list keys in order.
 */

#pragma once

#include <glib.h>

#include "cleave-ocdbt-format.h"

G_BEGIN_DECLS

typedef struct _CleaveOcdbt CleaveOcdbt;

/* Decoded B+tree nodes kept per store (shared with its pinned handles). */
#define CLEAVE_OCDBT_DEFAULT_CACHE_BYTES (64u << 20)

/* Called for each key in order; return FALSE to stop early. */
typedef gboolean (*CleaveOcdbtListFunc) (const guint8 *key,
                                         gsize         key_len,
                                         guint64       value_len,
                                         gpointer      user_data);

CleaveOcdbt *cleave_ocdbt_open              (const char          *dir,
                                             GError             **error);
CleaveOcdbt *cleave_ocdbt_open_fork         (const char          *base_dir,
                                             const char          *fork_dir,
                                             GError             **error);
/* "DIR", or "BASE+FORK" for a fork (a directory named with a '+' wins). */
CleaveOcdbt *cleave_ocdbt_open_spec         (const char          *spec,
                                             GError             **error);
/* Reads the newest manifest, to see other writers' commits. */
gboolean     cleave_ocdbt_refresh           (CleaveOcdbt         *store,
                                             GError             **error);
CleaveOcdbt *cleave_ocdbt_pin_generation    (CleaveOcdbt         *store,
                                             guint64              generation,
                                             GError             **error);
CleaveOcdbt *cleave_ocdbt_pin_time          (CleaveOcdbt         *store,
                                             guint64              commit_time_ns,
                                             GError             **error);
CleaveOcdbt *cleave_ocdbt_ref               (CleaveOcdbt         *store);
void         cleave_ocdbt_unref             (CleaveOcdbt         *store);

const char  *cleave_ocdbt_get_dir           (CleaveOcdbt         *store);
const char  *cleave_ocdbt_get_base_dir      (CleaveOcdbt         *store);
gboolean     cleave_ocdbt_is_pinned         (CleaveOcdbt         *store);
const CleaveOcdbtConfig  *cleave_ocdbt_get_config  (CleaveOcdbt  *store);
CleaveOcdbtVersion        cleave_ocdbt_get_version  (CleaveOcdbt  *store);
/* Valid until the next commit or refresh through @store. */
const CleaveOcdbtManifest *cleave_ocdbt_get_manifest (CleaveOcdbt *store);

GArray      *cleave_ocdbt_list_versions     (CleaveOcdbt         *store,
                                             GError             **error);
gboolean     cleave_ocdbt_get               (CleaveOcdbt         *store,
                                             const guint8        *key,
                                             gsize                key_len,
                                             GBytes             **value_out,
                                             GError             **error);
/* Where a value is: out of line at (@file, @offset) in a data file, which
 * identifies its content for good (data files never change), or inline. */
typedef struct
{
  gboolean    found;
  guint64     length;
  const char *file;           /* interned; NULL when inline */
  guint64     offset;
  GBytes     *inline_value;   /* the bytes, when inline */
} CleaveOcdbtValueRef;

gboolean     cleave_ocdbt_get_ref           (CleaveOcdbt         *store,
                                             const guint8        *key,
                                             gsize                key_len,
                                             CleaveOcdbtValueRef *ref,
                                             GError             **error);
GBytes      *cleave_ocdbt_read_ref          (CleaveOcdbt               *store,
                                             const CleaveOcdbtValueRef *ref,
                                             GError                   **error);
void         cleave_ocdbt_value_ref_clear   (CleaveOcdbtValueRef *ref);
gboolean     cleave_ocdbt_list              (CleaveOcdbt         *store,
                                             const guint8        *lo,
                                             gsize                lo_len,
                                             const guint8        *hi,
                                             gsize                hi_len,
                                             CleaveOcdbtListFunc  func,
                                             gpointer             user_data,
                                             GError             **error);

/* Reports one damaged generation of a check. */
typedef void (*CleaveOcdbtProblemFunc) (guint64       generation,
                                        const GError *problem,
                                        gpointer      user_data);

gboolean     cleave_ocdbt_check             (CleaveOcdbt            *store,
                                             CleaveOcdbtProblemFunc  func,
                                             gpointer                user_data,
                                             guint64                *n_versions,
                                             guint64                *n_keys,
                                             GError                **error);

void         cleave_ocdbt_set_cache_budget  (CleaveOcdbt         *store,
                                             gsize                bytes);
void         cleave_ocdbt_get_cache_stats   (CleaveOcdbt         *store,
                                             gsize               *bytes,
                                             guint64             *hits,
                                             guint64             *misses);

guint64      cleave_ocdbt_parse_time        (const char          *iso8601,
                                             GError             **error);
char        *cleave_ocdbt_format_time       (guint64              commit_time_ns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveOcdbt, cleave_ocdbt_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveOcdbtValueRef, cleave_ocdbt_value_ref_clear)

G_END_DECLS
