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

#include "cleave-demo.h"
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

/* The default main context, for tests of the application: runs it for
 * @ms; or until @condition (@data) holds, FALSE if @seconds pass first. */
void     cleave_test_spin       (guint            ms);
gboolean cleave_test_wait       (gboolean       (*condition) (gpointer data),
                                 gpointer         data,
                                 guint            seconds);

/* Benchmark statistics over @n values, which they sort in place: the
 * median (the mean of the middle two for an even @n), and the nearest-rank
 * @q quantile (0 < @q <= 1; the smallest value at or above a @q share). */
double   cleave_test_median     (double          *v,
                                 guint            n);
double   cleave_test_percentile (double          *v,
                                 guint            n,
                                 double           q);

/* A demo dataset built through the core (cleave_demo_create, then the
 * graph ingested), as DIR/NAME; its path. */
char  *cleave_test_make_demo    (const char             *dir,
                                 const char             *name,
                                 const CleaveDemoParams *params);

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

/* Objects compared as objects, whatever their ids: the mip-0
 * segmentation of the box [@lo, @hi) of dataset @dir (absolute voxels, x
 * fastest), read with `cleavectl seg read`; each supervoxel id in @ids
 * replaced by its latest root, read through libcleave's graph; and a test
 * failure unless @a and @b (one label per voxel, @n voxels) cut the
 * voxels into the same parts, i.e. their labels map one to one (0, no
 * object, only to 0). @what names the comparison in the failure. */
guint64  *cleave_test_seg_read   (const char    *dir,
                                  const gint64   lo[3],
                                  const gint64   hi[3]);
void      cleave_test_to_roots   (const char    *dir,
                                  guint64       *ids,
                                  gsize          n);
void      cleave_test_assert_same_partition (const guint64 *a,
                                  const guint64 *b,
                                  gsize          n,
                                  const char    *what);

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
