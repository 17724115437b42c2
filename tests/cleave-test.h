/* cleave-test.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Helpers shared by the test binaries.
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cleave-ocdbt-encode.h"

G_BEGIN_DECLS

typedef struct
{
  int    status;      /* exit status, or 128 + signal */
  char  *out;
  gsize  out_len;
  char  *err;
} CleaveTestRun;

void   cleave_test_init         (int            *argc,
                                 char         ***argv);
char  *cleave_test_tmpdir       (void);
void   cleave_test_rm_rf        (const char     *path);
char  *cleave_test_shared_path  (const char     *first,
                                 ...) G_GNUC_NULL_TERMINATED;
void   cleave_test_run          (CleaveTestRun  *run,
                                 const char     *stdin_text,
                                 const char     *program,
                                 ...) G_GNUC_NULL_TERMINATED;
void   cleave_test_run_clear    (CleaveTestRun  *run);
const char *cleave_test_env     (const char     *name);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveTestRun, cleave_test_run_clear)

/* For scenarios driving cleavectl (the program in $CLEAVECTL): its JSON
 * output parsed (a test error if it is not JSON); member @name of @e, an
 * [x, y, z] array, as "X,Y,Z"; the roots at two points. */
JsonNode *cleave_test_parse_json (const char  *text);
char     *cleave_test_point      (JsonObject  *e,
                                  const char  *name);
void      cleave_test_roots      (const char  *dir,
                                  const char  *p,
                                  const char  *q,
                                  gint64       out[2]);

/* An OCDBT data file in memory: a CleaveOcdbtWriteFunc appends to @data
 * and answers with locations in @file (an interned relative path). */
typedef struct
{
  GByteArray *data;
  const char *file;
  guint8      arity_log2;   /* for reading version nodes back */
} CleaveTestSink;

gboolean cleave_test_sink_write (GBytes              *bytes,
                                 CleaveOcdbtLocation *location,
                                 gpointer             sink,
                                 GError             **error);

G_END_DECLS
