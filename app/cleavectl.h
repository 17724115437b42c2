/* cleavectl.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What every cleavectl command shares: its table entry, the exit codes and
 * the output conventions (one JSON document on stdout with --json; errors as
 * one "cleavectl: " line on stderr).
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cleave-edit.h"

G_BEGIN_DECLS

enum {
  CLEAVECTL_EXIT_OK = 0,
  CLEAVECTL_EXIT_ERROR = 1,   /* the command could not do what was asked */
  CLEAVECTL_EXIT_USAGE = 2,   /* the command line itself is wrong */
};

typedef struct _CleavectlCommand CleavectlCommand;

struct _CleavectlCommand
{
  const char   *name;         /* one or more words: "version", "kv ls" */
  const char   *synopsis;     /* the arguments after the name */
  const char   *summary;      /* one line for the command list */
  const char   *description;  /* paragraphs for "cleavectl help NAME", or NULL */
  GOptionEntry *entries;      /* options, NULL-terminated, or NULL */
  gboolean      json;         /* accepts --json */
  guint         min_args;     /* positional arguments after the options */
  guint         max_args;     /* G_MAXUINT: any number */
  int         (*run)          (const CleavectlCommand *command,
                               char                  **args,
                               guint                   n_args);
};

/* Set by --json on commands that accept it. */
extern gboolean cleavectl_json;

int  cleavectl_fail        (const CleavectlCommand *command,
                            const GError           *error);
int  cleavectl_usage_error (const CleavectlCommand *command,
                            const char             *format,
                            ...) G_GNUC_PRINTF (2, 3);
void cleavectl_print_json  (JsonNode               *node);
/* Member @name: the guint64 ids of @ids (NULL: none) as a JSON array. */
void cleavectl_add_ids      (JsonBuilder            *b,
                             const char             *name,
                             GArray                 *ids);
/* The members every edit prints: op_id, status, new_roots. */
void cleavectl_add_op_result (JsonBuilder           *b,
                              const CleaveEditResult *r);
/* "X,Y,Z" integers (negative allowed); @what names it in the error. */
gboolean cleavectl_parse_triple (const char        *text,
                                 const char        *what,
                                 gint64             out[3],
                                 GError           **error);

extern const CleavectlCommand cleavectl_cmd_version;
extern const CleavectlCommand cleavectl_cmd_kv_ls;
extern const CleavectlCommand cleavectl_cmd_kv_get;
extern const CleavectlCommand cleavectl_cmd_kv_versions;
extern const CleavectlCommand cleavectl_cmd_kv_check;
extern const CleavectlCommand cleavectl_cmd_kv_put;
extern const CleavectlCommand cleavectl_cmd_kv_rm;
extern const CleavectlCommand cleavectl_cmd_kv_fork;
extern const CleavectlCommand cleavectl_cmd_demo;
extern const CleavectlCommand cleavectl_cmd_info;
extern const CleavectlCommand cleavectl_cmd_seg_read;
extern const CleavectlCommand cleavectl_cmd_seg_lookup;
extern const CleavectlCommand cleavectl_cmd_import;
extern const CleavectlCommand cleavectl_cmd_ingest;
extern const CleavectlCommand cleavectl_cmd_merge;
extern const CleavectlCommand cleavectl_cmd_split;
extern const CleavectlCommand cleavectl_cmd_undo;
extern const CleavectlCommand cleavectl_cmd_redo;
extern const CleavectlCommand cleavectl_cmd_ops;
extern const CleavectlCommand cleavectl_cmd_locks;
extern const CleavectlCommand cleavectl_cmd_verify;
extern const CleavectlCommand cleavectl_cmd_worker;
extern const CleavectlCommand cleavectl_cmd_stuck_list;
extern const CleavectlCommand cleavectl_cmd_stuck_replay;
extern const CleavectlCommand cleavectl_cmd_errors;
extern const CleavectlCommand cleavectl_cmd_faults;

G_END_DECLS
