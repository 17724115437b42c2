/* test-lock.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The lock table (shared spec/reference-pcg.md §3, its tests in §10):
 * acquire and release; disjoint sets coexist, overlapping ones contend
 * all-or-nothing; release is value-matched; temporal cells expire and
 * renew, indefinite ones do not; the op that holds indefinite cells may
 * take them again and nobody else can. Then the locks as a supervoxel
 * split uses them: the scope written once before the data and cleared
 * once on a clean exit; a split killed mid-write leaves its cells and
 * scope for a replay that only that op may run; a merge killed after its
 * write leaves its successor roots locked too. And the row keys: the hash
 * prefix scatters neighbouring chunks, and the namespaces stay apart.
 *
 * Temporal expiry is not waited for (3 minutes): a cell's expiry is moved
 * into the past in the table, as if the time had gone by.
 */

#include "cleave-dataset.h"
#include "cleave-edit.h"
#include "cleave-edit-private.h"
#include "cleave-graph.h"
#include "cleave-lock.h"
#include "cleave-multicut.h"
#include "cleave-node-id.h"
#include "cleave-recover.h"
#include "cleave-test.h"
#include "cleave-util.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Op ids no edit of these tests' datasets ever gets. */
#define OP_A G_GUINT64_CONSTANT (1000001)
#define OP_B G_GUINT64_CONSTANT (1000002)
#define OP_C G_GUINT64_CONSTANT (1000003)

static char *
make_dataset (const char *tmp)
{
  CleaveDemoParams p;

  cleave_demo_params_init (&p);
  p.size[0] = 128, p.size[1] = 128, p.size[2] = 32;
  p.chunk[0] = 32, p.chunk[1] = 32, p.chunk[2] = 16;
  p.seed = 1;
  return cleave_test_make_demo (tmp, "l.cleave", &p);
}

/* The row key of the L2 chunk at chunk coordinates @x, @y, @z. */
static char *
chunk_key (CleaveGraph *g,
           guint64      x,
           guint64      y,
           guint64      z)
{
  return cleave_lock_l2chunk_key (cleave_node_id_make (2, cleave_graph_chunk_bits (g, 2), x, y, z, 0));
}

/* The held cell of @key (op and indefinite op 0 if none); FALSE if the
 * key holds none. */
static gboolean
lookup (CleaveGraph    *g,
        const char     *key,
        CleaveLockInfo *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) held = cleave_lock_list (g, &error);
  gboolean found = FALSE;

  g_assert_no_error (error);
  memset (out, 0, sizeof *out);
  for (guint i = 0; i < held->len; i++)
    {
      CleaveLockInfo *l = &g_array_index (held, CleaveLockInfo, i);

      if (strcmp (l->key, key) == 0)
        {
          g_assert_false (found);
          found = TRUE;
          out->op = l->op;
          out->expires = l->expires;
          out->indefinite_op = l->indefinite_op;
        }
    }
  return found;
}

static guint
n_held (CleaveGraph *g)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) held = cleave_lock_list (g, &error);

  g_assert_no_error (error);
  return held->len;
}

/* Asserts @key's cells: temporal holder @op (0: none), indefinite holder
 * @indefinite_op (0: none). */
static void
assert_cells (CleaveGraph *g,
              const char  *key,
              guint64      op,
              guint64      indefinite_op)
{
  CleaveLockInfo l;

  if (!lookup (g, key, &l))
    {
      if (op != 0 || indefinite_op != 0)
        g_error ("%s holds no cell; expected op %" G_GUINT64_FORMAT ", indefinite op %" G_GUINT64_FORMAT,
                 key, op, indefinite_op);
      return;
    }
  g_assert_cmpuint (l.op, ==, op);
  g_assert_cmpuint (l.indefinite_op, ==, indefinite_op);
  if (op != 0)
    g_assert_cmpint (l.expires, >, 0);
}

static void
sql (const char *dir,
     const char *statement)
{
  g_autofree char *path = g_build_filename (dir, "graph.sqlite", NULL);
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  if (sqlite3_exec (db, statement, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", statement, msg);
  sqlite3_close (db);
}

/* As if the temporal lock's time had gone by: @key's cell expires. */
static void
expire (const char *dir,
        const char *key)
{
  g_autofree char *stmt = g_strdup_printf ("UPDATE lock SET expires = 1 WHERE key = '%s'", key);

  sql (dir, stmt);
}

static int
cmp_strp (gconstpointer a,
          gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* @n keys of distinct chunks, sorted as the lock sorts them (as strings:
 * hash prefix first). */
static GStrv
sorted_keys (CleaveGraph *g,
             guint        n)
{
  char **keys = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    keys[i] = chunk_key (g, i % 4, i / 4, 0);
  qsort (keys, n, sizeof *keys, cmp_strp);
  return keys;
}

/* Held inside, gone after; the holder may take its own cells again. */
static void
test_acquire_release (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;

  g_assert_no_error (error);
  keys = sorted_keys (g, 3);
  g_assert_cmpuint (n_held (g), ==, 0);
  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 3, OP_A, 1, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    assert_cells (g, keys[i], OP_A, 0);
  {
    g_autoptr(GArray) held = cleave_lock_list (g, &error);

    g_assert_cmpuint (held->len, ==, 3);
    for (guint i = 0; i < held->len; i++)
      g_assert_cmpstr (g_array_index (held, CleaveLockInfo, i).kind, ==, "l2chunk");
  }
  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 3, OP_A, 1, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_lock_release (g, keys, 3, OP_A, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 0);
  cleave_test_rm_rf (tmp);
}

/* Disjoint sets coexist; a set overlapping a held one is refused whole:
 * the keys it took before it met the held one are given back, and the
 * holder's cell is left as it was. For temporal and indefinite cells, L2
 * chunk and downsample block keys alike. */
static void
test_overlap (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_autoptr(CleaveGraph) other = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) blocks = g_new0 (char *, 4);
  char *mine[2], *theirs[3];

  g_assert_no_error (error);
  keys = sorted_keys (g, 5);

  /* Disjoint: both held. */
  mine[0] = keys[0], mine[1] = keys[1];
  theirs[0] = keys[3], theirs[1] = keys[4];
  g_assert_true (cleave_lock_acquire (g, "l2chunk", mine, 2, OP_A, 1, &error));
  g_assert_true (cleave_lock_acquire (other, "l2chunk", theirs, 2, OP_B, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 4);
  g_assert_true (cleave_lock_release (g, mine, 2, OP_A, FALSE, &error));
  g_assert_true (cleave_lock_release (other, theirs, 2, OP_B, FALSE, &error));
  g_assert_cmpuint (n_held (g), ==, 0);

  /* Overlapping: A holds the middle key; B asks for the first three, so
   * it takes keys[0] and keys[1] before it meets keys[2]. */
  mine[0] = keys[2];
  theirs[0] = keys[0], theirs[1] = keys[1], theirs[2] = keys[2];
  g_assert_true (cleave_lock_acquire (g, "l2chunk", mine, 1, OP_A, 1, &error));
  g_assert_false (cleave_lock_acquire (other, "l2chunk", theirs, 3, OP_B, 1, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, keys[2]));
  g_assert_nonnull (strstr (error->message, "locked by op 1000001"));
  g_clear_error (&error);
  g_assert_cmpuint (n_held (g), ==, 1);
  assert_cells (g, keys[2], OP_A, 0);
  /* Indefinitely: the same. */
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", mine, 1, OP_A, &error));
  g_assert_false (cleave_lock_acquire_indefinite (other, "l2chunk", theirs, 3, OP_B, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "locked indefinitely by op 1000001"));
  g_clear_error (&error);
  g_assert_cmpuint (n_held (g), ==, 1);
  assert_cells (g, keys[2], OP_A, OP_A);
  /* Once A lets go, B gets the lot. */
  g_assert_true (cleave_lock_release_op (g, OP_A, &error));
  g_assert_true (cleave_lock_acquire (other, "l2chunk", theirs, 3, OP_B, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 3);
  g_assert_true (cleave_lock_release (other, theirs, 3, OP_B, FALSE, &error));

  /* Downsample blocks (the reference's test_partial_acquire_released_on_
   * failure): only the other holder's block remains. */
  for (guint i = 0; i < 3; i++)
    {
      gint64 b[3] = { i, 0, 0 };
      blocks[i] = cleave_lock_downsample_key (b);
    }
  g_assert_true (cleave_lock_acquire (g, "downsample", &blocks[1], 1, OP_A, 1, &error));
  g_assert_false (cleave_lock_acquire (other, "downsample", blocks, 3, OP_B, 1, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_cmpuint (n_held (g), ==, 1);
  assert_cells (g, blocks[1], OP_A, 0);
  g_assert_true (cleave_lock_acquire (other, "downsample", &blocks[2], 1, OP_B, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 2);
  cleave_test_rm_rf (tmp);
}

typedef struct
{
  const char *dir;
  char      **keys;
  guint       n;
  gboolean    ok;
  GError     *error;
} Waiter;

static gpointer
wait_for_keys (gpointer data)
{
  Waiter *w = data;
  g_autoptr(CleaveGraph) g = cleave_graph_open (w->dir, &w->error);

  if (g != NULL)
    w->ok = cleave_lock_acquire (g, "l2chunk", w->keys, w->n, OP_B, CLEAVE_EDIT_LOCK_TRIES, &w->error);
  return NULL;
}

/* An acquirer that meets a held key backs off and tries again: it gets
 * the keys once the holder lets go (the reference's
 * test_overlapping_contends). */
static void
test_overlap_waits (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;
  Waiter w = { dir, NULL, 3, FALSE, NULL };
  GThread *thread;

  g_assert_no_error (error);
  keys = sorted_keys (g, 3);
  w.keys = keys;
  g_assert_true (cleave_lock_acquire (g, "l2chunk", &keys[1], 1, OP_A, 1, &error));
  thread = g_thread_new ("waiter", wait_for_keys, &w);
  /* Long enough, most times, for the waiter to meet the held key; the
   * outcome does not hang on it: the waiter has seconds of back-off. */
  g_usleep (50000);
  g_assert_true (cleave_lock_release (g, &keys[1], 1, OP_A, FALSE, &error));
  g_thread_join (thread);
  g_assert_no_error (w.error);
  g_assert_true (w.ok);
  for (guint i = 0; i < 3; i++)
    assert_cells (g, keys[i], OP_B, 0);
  cleave_test_rm_rf (tmp);
}

/* A release by another op changes nothing, of either kind of cell; the
 * holder's releases take exactly what they name. */
static void
test_value_matched_release (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;
  g_autofree char *root = cleave_lock_root_key (12345);
  g_autofree char *other_root = cleave_lock_root_key (12346);

  g_assert_no_error (error);
  keys = sorted_keys (g, 2);
  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 2, OP_A, 1, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", keys, 2, OP_A, &error));
  g_assert_true (cleave_lock_acquire (g, "root", &root, 1, OP_A, 1, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "root", &other_root, 1, OP_C, &error));
  g_assert_no_error (error);

  g_assert_true (cleave_lock_release (g, keys, 2, OP_B, FALSE, &error));
  g_assert_true (cleave_lock_release (g, keys, 2, OP_B, TRUE, &error));
  g_assert_true (cleave_lock_release (g, &root, 1, OP_B, FALSE, &error));
  g_assert_true (cleave_lock_release_op (g, OP_B, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 4);
  for (guint i = 0; i < 2; i++)
    assert_cells (g, keys[i], OP_A, OP_A);
  assert_cells (g, root, OP_A, 0);

  /* The temporal cells go, the indefinite ones stay; then those too. */
  g_assert_true (cleave_lock_release (g, keys, 2, OP_A, FALSE, &error));
  for (guint i = 0; i < 2; i++)
    assert_cells (g, keys[i], 0, OP_A);
  g_assert_true (cleave_lock_release (g, keys, 2, OP_A, TRUE, &error));
  for (guint i = 0; i < 2; i++)
    assert_cells (g, keys[i], 0, 0);
  /* Everything of one op, everywhere, and nothing of another's. */
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", keys, 2, OP_A, &error));
  g_assert_true (cleave_lock_release_op (g, OP_A, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_held (g), ==, 1);
  assert_cells (g, other_root, 0, OP_C);
  cleave_test_rm_rf (tmp);
}

/* An expired temporal cell is free to anyone, and its old holder can no
 * longer renew it; renewing a held cell pushes its expiry out; an
 * indefinite cell blocks after its temporal cell has expired. */
static void
test_expiry_renew (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;
  CleaveLockInfo l;
  gint64 early;

  g_assert_no_error (error);
  keys = sorted_keys (g, 2);
  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 1, OP_A, 1, &error));
  g_assert_true (cleave_lock_renew (g, keys, 1, OP_A, &error));
  g_assert_no_error (error);
  g_assert_false (cleave_lock_renew (g, keys, 1, OP_B, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_clear_error (&error);

  /* Renewing moves the expiry out again: set it a minute earlier than it
   * was, renew, and it is back beyond that. */
  g_assert_true (lookup (g, keys[0], &l));
  early = l.expires - 60 * G_GINT64_CONSTANT (1000000000);
  {
    g_autofree char *stmt = g_strdup_printf ("UPDATE lock SET expires = %" G_GINT64_FORMAT " WHERE key = '%s'",
                                             early, keys[0]);
    sql (dir, stmt);
  }
  g_assert_true (lookup (g, keys[0], &l));
  g_assert_cmpint (l.expires, ==, early);
  g_assert_true (cleave_lock_renew (g, keys, 1, OP_A, &error));
  g_assert_true (lookup (g, keys[0], &l));
  g_assert_cmpint (l.expires, >, early);

  /* Expired: not listed as held, taken by the next op, and lost to its
   * old holder. */
  expire (dir, keys[0]);
  g_assert_false (lookup (g, keys[0], &l));
  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 1, OP_B, 1, &error));
  g_assert_no_error (error);
  assert_cells (g, keys[0], OP_B, 0);
  g_assert_false (cleave_lock_renew (g, keys, 1, OP_A, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "no longer holds it"));
  g_clear_error (&error);
  assert_cells (g, keys[0], OP_B, 0);

  /* The reference's test_indefinite_lock_with_normal_lock_expiration. */
  g_assert_true (cleave_lock_acquire (g, "l2chunk", &keys[1], 1, OP_A, 1, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", &keys[1], 1, OP_A, &error));
  expire (dir, keys[1]);
  assert_cells (g, keys[1], 0, OP_A);
  g_assert_false (cleave_lock_acquire (g, "l2chunk", &keys[1], 1, OP_B, 1, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "locked indefinitely by op 1000001"));
  g_clear_error (&error);
  cleave_test_rm_rf (tmp);
}

/* The op holding indefinite cells may take them again, temporal or
 * indefinite (what a replay under the same op id relies on); no other op
 * may take either. */
static void
test_indefinite_same_op (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_auto(GStrv) keys = NULL;

  g_assert_no_error (error);
  keys = sorted_keys (g, 3);
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", keys, 3, OP_A, &error));
  g_assert_false (cleave_lock_acquire (g, "l2chunk", keys, 3, OP_B, 1, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (cleave_lock_acquire_indefinite (g, "l2chunk", &keys[2], 1, OP_B, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_clear_error (&error);
  for (guint i = 0; i < 3; i++)
    assert_cells (g, keys[i], 0, OP_A);

  g_assert_true (cleave_lock_acquire (g, "l2chunk", keys, 3, OP_A, 1, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", keys, 3, OP_A, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    assert_cells (g, keys[i], OP_A, OP_A);
  cleave_test_rm_rf (tmp);
}

/* --- The locks as edits use them ------------------------------------ */

/* Every write of an op row's lock scope, in order, recorded by a trigger
 * in the dataset's own graph: so it sees the writes of any connection. */
static void
record_scope_writes (const char *dir)
{
  sql (dir, "CREATE TABLE test_scope_write (n INTEGER PRIMARY KEY AUTOINCREMENT, op INTEGER, scope BLOB);"
            "CREATE TRIGGER test_scope_written AFTER UPDATE OF l2_scope ON op BEGIN "
            "INSERT INTO test_scope_write (op, scope) VALUES (new.id, new.l2_scope); END;");
}

/* The scope writes of @op: each an array of chunk ids (empty for an
 * empty or NULL scope). */
static GPtrArray *
scope_writes (const char *dir,
              guint64     op)
{
  g_autofree char *path = g_build_filename (dir, "graph.sqlite", NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT scope FROM test_scope_write WHERE op = ? ORDER BY n", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (out, _cleave_edit_blob_ids (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0)));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return out;
}

static void
assert_ids_equal (GArray *a,
                  GArray *b)
{
  g_assert_cmpmem (a->data, 8 * a->len, b->data, 8 * b->len);
}

/* The L2 chunks a split of the boxes @bboxes (lo, hi per box) locks:
 * those meeting each box grown by the one-voxel shell it reads, clipped
 * to the volume; sorted, once each. */
static GArray *
lock_set (CleaveGraph *g,
          GArray      *bboxes)
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint b = 0; b + 6 <= bboxes->len; b += 6)
    {
      const gint64 *box = &g_array_index (bboxes, gint64, b);
      gint64 c0[3], c1[3];

      for (guint d = 0; d < 3; d++)
        {
          gint64 lo = MAX (box[d] - 1, m->voxel_offset[d]) - m->voxel_offset[d];
          gint64 hi = MIN (box[3 + d] + 1, m->voxel_offset[d] + m->size[d]) - m->voxel_offset[d];

          c0[d] = lo / m->chunk[d];
          c1[d] = (hi - 1) / m->chunk[d];
        }
      for (gint64 z = c0[2]; z <= c1[2]; z++)
        for (gint64 y = c0[1]; y <= c1[1]; y++)
          for (gint64 x = c0[0]; x <= c1[0]; x++)
            {
              guint64 id = cleave_node_id_make (2, cleave_graph_chunk_bits (g, 2), x, y, z, 0);

              if (g_hash_table_add (seen, g_memdup2 (&id, 8)))
                g_array_append_val (out, id);
            }
    }
  g_array_sort (out, cleave_cmp_u64);
  return out;
}

/* Point @name of the first error in the demo's list @list (demo.json). */
static void
sv_error_point (const char *dir,
                const char *list,
                const char *name,
                gint64      xyz[3])
{
  g_autofree char *path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) demo = NULL;
  JsonArray *a;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  demo = cleave_test_parse_json (text);
  a = json_object_get_array_member (json_array_get_object_element (json_object_get_array_member (json_node_get_object (demo),
                                                                                                 list), 0), name);
  for (guint d = 0; d < 3; d++)
    xyz[d] = json_array_get_int_element (a, d);
}

static gboolean
split_first_error (const char        *dir,
                   CleaveSplitReport *report,
                   CleaveEditResult  *result,
                   GError           **error)
{
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, error);
  g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, error);
  g_auto(CleaveMulticutResult) cut = { 0 };
  gint64 src[3], snk[3];

  g_assert_no_error (*error);
  sv_error_point (dir, "sv_merge_errors", "source", src);
  sv_error_point (dir, "sv_merge_errors", "sink", snk);
  return cleave_edit_split (g, cleave_dataset_get_seg (ds), src, 1, snk, 1, FALSE, "test", &cut, report, result, error);
}

static CleaveOpInfo *
find_op (GArray  *log,
         guint64  op)
{
  for (guint i = 0; i < log->len; i++)
    if (g_array_index (log, CleaveOpInfo, i).id == op)
      return &g_array_index (log, CleaveOpInfo, i);
  g_error ("no op %" G_GUINT64_FORMAT " in the log", op);
}

/* The indefinite L2 chunk cells held, by whom: chunk id -> op. */
static GHashTable *
indefinite_chunks (CleaveGraph *g)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) held = cleave_lock_list (g, &error);
  GHashTable *out = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < held->len; i++)
    {
      CleaveLockInfo *l = &g_array_index (held, CleaveLockInfo, i);
      guint64 chunk;

      if (l->indefinite_op != 0 && cleave_lock_key_l2chunk (l->key, &chunk))
        g_hash_table_insert (out, g_memdup2 (&chunk, 8), g_memdup2 (&l->indefinite_op, 8));
    }
  return out;
}

/* A clean supervoxel split writes its scope once, the sorted chunks it
 * locks, before its data, and clears it once; nothing stays locked. */
static void
test_split_scope (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_auto(CleaveSplitReport) report = { 0 };
  g_auto(CleaveEditResult) result = { 0 };
  g_autoptr(CleaveGraph) g = NULL;
  g_autoptr(GPtrArray) writes = NULL;
  g_autoptr(GArray) expected = NULL;
  g_autoptr(GArray) log = NULL;

  record_scope_writes (dir);
  g_assert_true (split_first_error (dir, &report, &result, &error));
  g_assert_no_error (error);
  g_assert_true (report.sv_split);
  g_assert_cmpint (result.status, ==, CLEAVE_OP_SUCCESS);

  g = cleave_graph_open (dir, &error);
  expected = lock_set (g, report.seg_bboxes);
  g_assert_cmpuint (expected->len, >=, 2);
  writes = scope_writes (dir, result.op_id);
  g_assert_cmpuint (writes->len, ==, 2);
  assert_ids_equal (writes->pdata[0], expected);
  g_assert_cmpuint (((GArray *) writes->pdata[1])->len, ==, 0);
  log = cleave_edit_list_ops (g, &error);
  g_assert_cmpuint (find_op (log, result.op_id)->l2_scope->len, ==, 0);
  g_assert_cmpuint (n_held (g), ==, 0);
  cleave_test_rm_rf (tmp);
}

/* A supervoxel a split replaced still reads as part of the dead object:
 * an edit naming it (a point looked up before the split, in another
 * process) is refused, not applied to the past. */
static void
test_replaced_sv_refused (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_auto(CleaveSplitReport) report = { 0 };
  g_auto(CleaveEditResult) result = { 0 };
  g_auto(CleaveEditResult) merged = { 0 };
  g_autoptr(CleaveGraph) g = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  gint64 pts[6];
  guint64 before[2], after[2];

  sv_error_point (dir, "sv_merge_errors", "source", pts);
  sv_error_point (dir, "sv_merge_errors", "sink", pts + 3);
  ds = cleave_dataset_open (dir, &error);
  g_assert_no_error (error);
  g_assert_true (cleave_volume_lookup (cleave_dataset_get_seg (ds), 0, pts, 2, before, &error));
  g_assert_cmpuint (before[0], ==, before[1]);
  g_assert_true (split_first_error (dir, &report, &result, &error));
  g_assert_no_error (error);
  g_assert_true (report.sv_split);

  g = cleave_graph_open (dir, &error);
  g_clear_pointer (&ds, cleave_dataset_free);
  ds = cleave_dataset_open (dir, &error);
  g_assert_true (cleave_volume_lookup (cleave_dataset_get_seg (ds), 0, pts, 2, after, &error));
  g_assert_cmpuint (after[0], !=, before[0]);
  g_assert_cmpuint (after[1], !=, before[1]);
  /* The stale id, merged with the fresh sink fragment. */
  g_assert_false (cleave_edit_merge (g, before[0], after[1], NULL, NULL, "test", &merged, &error));
  g_assert_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION);
  g_assert_nonnull (strstr (error->message, "was split by an earlier edit"));
  g_clear_error (&error);
  g_assert_cmpuint (n_held (g), ==, 0);
  cleave_test_rm_rf (tmp);
}

/* Run in a child by g_test_trap_subprocess: an edit armed to die at a
 * fault point. */
static void
test_killed_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) params = NULL;
  g_auto(CleaveSplitReport) report = { 0 };
  g_auto(CleaveEditResult) result = { 0 };

  if (!g_test_subprocess ())
    return;
  /* DIR, edit, fault point: written by the parent. */
  g_assert_true (g_file_get_contents (g_getenv ("CLEAVE_TEST_LOCK_PARAMS"), &text, NULL, NULL));
  params = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (params), ==, 3);
  g_setenv ("CLEAVE_FAULT", params[2], TRUE);
  if (strcmp (params[1], "split") == 0)
    split_first_error (params[0], &report, &result, &error);
  else
    {
      g_autoptr(CleaveGraph) g = cleave_graph_open (params[0], &error);
      g_autoptr(CleaveDataset) ds = cleave_dataset_open (params[0], &error);
      gint64 a[3], b[3];
      guint64 sa, sb;

      sv_error_point (params[0], "split_errors", "a", a);
      sv_error_point (params[0], "split_errors", "b", b);
      g_assert_true (cleave_volume_read (cleave_dataset_get_seg (ds), 0, a, (gint64[]) { a[0] + 1, a[1] + 1, a[2] + 1 },
                                         &sa, &error));
      g_assert_true (cleave_volume_read (cleave_dataset_get_seg (ds), 0, b, (gint64[]) { b[0] + 1, b[1] + 1, b[2] + 1 },
                                         &sb, &error));
      cleave_edit_merge (g, sa, sb, a, b, "test", &result, &error);
    }
  g_error ("the edit did not stop at %s: %s", params[2], error ? error->message : "it succeeded");
}

static void
kill_edit (const char *dir,
           const char *edit,
           const char *fault)
{
  g_autofree char *params = g_strdup_printf ("%s\n%s\n%s", dir, edit, fault);

  g_assert_true (g_file_set_contents (g_getenv ("CLEAVE_TEST_LOCK_PARAMS"), params, -1, NULL));
  g_test_trap_subprocess ("/lock/killed/child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  /* Stopped at the fault point, not by a failure of its own. */
  g_test_trap_assert_stderr_unmatched ("*did not stop*");
  g_test_trap_assert_stderr_unmatched ("*ERROR*");
}

/* A split killed after its segmentation write: its indefinite cells and
 * its scope stay, and they agree; other ops are kept out while the op
 * itself may take its cells again; a replay runs only while every scoped
 * cell is the op's, writes no scope of its own, and ends with the op's
 * cells released and its scope empty. */
static void
test_split_killed (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = NULL;
  g_autoptr(GPtrArray) writes = NULL;
  g_autoptr(GArray) log = NULL;
  g_autoptr(GArray) stuck = NULL;
  g_autoptr(GHashTable) cells = NULL;
  g_autofree char *stolen = NULL;
  GArray *scope;
  CleaveOpInfo *op;
  guint n_root_cells = 0;

  record_scope_writes (dir);
  kill_edit (dir, "split", "svsplit-seg-committed");
  /* Minutes later, as a stuck op is found: the dead op's temporal cells
   * have expired, its indefinite ones are what keeps others out. */
  sql (dir, "UPDATE lock SET expires = 1 WHERE op IS NOT NULL");
  g = cleave_graph_open (dir, &error);
  g_assert_no_error (error);

  /* The scope: written once, on the op's row, never cleared; the same
   * chunks as the indefinite cells, all the op's. */
  log = cleave_edit_list_ops (g, &error);
  g_assert_cmpuint (log->len, ==, 1);
  op = find_op (log, 1);
  g_assert_cmpint (op->status, !=, CLEAVE_OP_SUCCESS);
  scope = op->l2_scope;
  g_assert_cmpuint (scope->len, >=, 2);
  for (guint i = 1; i < scope->len; i++)
    g_assert_cmpuint (g_array_index (scope, guint64, i - 1), <, g_array_index (scope, guint64, i));
  writes = scope_writes (dir, 1);
  g_assert_cmpuint (writes->len, ==, 1);
  assert_ids_equal (writes->pdata[0], scope);
  cells = indefinite_chunks (g);
  g_assert_cmpuint (g_hash_table_size (cells), ==, scope->len);
  for (guint i = 0; i < scope->len; i++)
    {
      guint64 *holder = g_hash_table_lookup (cells, &g_array_index (scope, guint64, i));

      g_assert_nonnull (holder);
      g_assert_cmpuint (*holder, ==, 1);
    }
  /* The object's root is held indefinitely too. */
  {
    g_autoptr(GArray) held = cleave_lock_list (g, &error);

    for (guint i = 0; i < held->len; i++)
      if (strcmp (g_array_index (held, CleaveLockInfo, i).kind, "root") == 0)
        {
          g_assert_cmpuint (g_array_index (held, CleaveLockInfo, i).indefinite_op, ==, 1);
          n_root_cells++;
        }
    g_assert_cmpuint (n_root_cells, ==, 1);
  }
  stuck = cleave_recover_list (g, 0, &error);
  g_assert_cmpuint (stuck->len, ==, 1);
  assert_ids_equal (g_array_index (stuck, CleaveStuckOp, 0).scope, scope);

  /* Nobody else takes a scoped chunk; the op itself may. */
  {
    g_autofree char *key = cleave_lock_l2chunk_key (g_array_index (scope, guint64, 0));

    g_assert_false (cleave_lock_acquire (g, "l2chunk", &key, 1, OP_B, 1, &error));
    g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
    g_assert_nonnull (strstr (error->message, "locked indefinitely by op 1"));
    g_clear_error (&error);
    g_assert_true (cleave_lock_acquire (g, "l2chunk", &key, 1, 1, 1, &error));
    g_assert_no_error (error);
  }

  /* A scoped cell held by another op: the replay is refused and changes
   * nothing (the reference's _verify_indefinite_cells). */
  stolen = cleave_lock_l2chunk_key (g_array_index (scope, guint64, scope->len - 1));
  g_assert_true (cleave_lock_release (g, &stolen, 1, 1, TRUE, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", &stolen, 1, OP_B, &error));
  {
    g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
    g_auto(CleaveEditResult) r = { 0 };
    g_autoptr(GArray) log2 = NULL;

    g_assert_false (cleave_recover_replay (g, ds, 1, NULL, &r, &error));
    g_assert_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_STUCK);
    g_assert_nonnull (strstr (error->message, "not locked by it"));
    g_clear_error (&error);
    log2 = cleave_edit_list_ops (g, &error);
    g_assert_cmpint (find_op (log2, 1)->status, ==, op->status);
    assert_ids_equal (find_op (log2, 1)->l2_scope, scope);
    assert_cells (g, stolen, 0, OP_B);
    g_clear_pointer (&writes, g_ptr_array_unref);
    writes = scope_writes (dir, 1);
    g_assert_cmpuint (writes->len, ==, 1);
  }

  /* Given back, the replay runs: privileged, under the op's own id. */
  g_assert_true (cleave_lock_release (g, &stolen, 1, OP_B, TRUE, &error));
  g_assert_true (cleave_lock_acquire_indefinite (g, "l2chunk", &stolen, 1, 1, &error));
  {
    g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
    g_auto(CleaveEditResult) r = { 0 };
    g_autoptr(GArray) log2 = NULL;
    guint n_reverted = 0;

    g_assert_true (cleave_recover_replay (g, ds, 1, &n_reverted, &r, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (r.op_id, ==, 1);
    g_assert_cmpint (r.status, ==, CLEAVE_OP_SUCCESS);
    g_assert_cmpuint (n_reverted, ==, scope->len);
    g_assert_cmpuint (n_held (g), ==, 0);
    log2 = cleave_edit_list_ops (g, &error);
    g_assert_cmpuint (log2->len, ==, 1);
    g_assert_cmpint (find_op (log2, 1)->status, ==, CLEAVE_OP_SUCCESS);
    g_assert_cmpuint (find_op (log2, 1)->l2_scope->len, ==, 0);
    /* No scope written again, and cleared once: the crash's write, then
     * one clearing write. */
    g_clear_pointer (&writes, g_ptr_array_unref);
    writes = scope_writes (dir, 1);
    g_assert_cmpuint (writes->len, ==, 2);
    g_assert_cmpuint (((GArray *) writes->pdata[1])->len, ==, 0);

    /* Done once: a second replay is refused. */
    g_assert_false (cleave_recover_replay (g, ds, 1, NULL, &r, &error));
    g_assert_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_STUCK);
    g_clear_error (&error);
  }
  cleave_test_rm_rf (tmp);
}

/* A merge killed after its write, before SUCCESS: the roots it started
 * from and the root it made are all held indefinitely by it, so the
 * object under any of its ids is refused to other ops (Cleave's answer to
 * the reference's future root ids: the successors are born locked). */
static void
test_successors_locked (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autoptr(GArray) log = NULL;
  g_autoptr(GArray) held = NULL;
  g_auto(CleaveEditResult) r = { 0 };
  CleaveOpInfo *op;
  guint64 new_root, sv_a, sv_other = 0;
  gint64 a[3];

  kill_edit (dir, "merge", "edit-written");
  g = cleave_graph_open (dir, &error);
  ds = cleave_dataset_open (dir, &error);
  g_assert_no_error (error);
  log = cleave_edit_list_ops (g, &error);
  g_assert_cmpuint (log->len, ==, 1);
  op = find_op (log, 1);
  g_assert_cmpint (op->status, ==, CLEAVE_OP_WRITE_STARTED);
  g_assert_cmpuint (op->new_roots->len, ==, 1);
  new_root = g_array_index (op->new_roots, guint64, 0);

  /* Two old roots and the new one, each indefinitely the op's. */
  held = cleave_lock_list (g, &error);
  g_assert_cmpuint (held->len, ==, 3);
  for (guint i = 0; i < held->len; i++)
    {
      g_assert_cmpstr (g_array_index (held, CleaveLockInfo, i).kind, ==, "root");
      g_assert_cmpuint (g_array_index (held, CleaveLockInfo, i).indefinite_op, ==, 1);
    }
  {
    g_autofree char *key = cleave_lock_root_key (new_root);

    assert_cells (g, key, 0, 1);
  }

  /* An edit of the merged object, reached through one of its
   * supervoxels: its root now is the new one, and that is locked. */
  sv_error_point (dir, "split_errors", "a", a);
  g_assert_true (cleave_volume_read (cleave_dataset_get_seg (ds), 0, a, (gint64[]) { a[0] + 1, a[1] + 1, a[2] + 1 },
                                     &sv_a, &error));
  {
    g_autofree char *path = g_build_filename (dir, "agglomeration.tsv", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i] && sv_other == 0; i++)
      {
        guint64 sv, pair[2], roots[2];

        if (lines[i][0] == '#' || sscanf (lines[i], "%" G_GUINT64_FORMAT, &sv) != 1)
          continue;
        pair[0] = sv_a, pair[1] = sv;
        g_assert_true (cleave_graph_get_roots (g, pair, 2, CLEAVE_GRAPH_LATEST, roots, &error));
        g_assert_cmpuint (roots[0], ==, new_root);
        if (roots[1] != new_root)
          sv_other = sv;
      }
  }
  g_assert_cmpuint (sv_other, !=, 0);
  g_assert_false (cleave_edit_merge (g, sv_a, sv_other, NULL, NULL, "test", &r, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "locked indefinitely by op 1"));
  g_clear_error (&error);
  cleave_test_rm_rf (tmp);
}

/* --- Row keys -------------------------------------------------------- */

/* The reference's hash prefix spreads neighbouring chunks over the key
 * space: over a 16x16x16 block of consecutive L2 chunks the 2-byte
 * prefixes are spread about as a random function would spread them, and
 * chunks next to each other seldom share even the first byte. */
static void
test_key_scatter (void)
{
  g_autoptr(GHashTable) prefixes = g_hash_table_new (g_direct_hash, g_direct_equal);
  guint first[256] = { 0 };
  guint n = 0, n_first = 0, max_first = 0, same_as_next = 0;
  guint bits = cleave_node_bits_per_axis (2, 6, CLEAVE_NODE_DEFAULT_SPATIAL_BITS);

  for (guint64 z = 0; z < 16; z++)
    for (guint64 y = 0; y < 16; y++)
      for (guint64 x = 0; x < 16; x++)
        {
          guint64 id = cleave_node_id_make (2, bits, x, y, z, 0), back = 0;
          g_autofree char *key = cleave_lock_l2chunk_key (id);
          g_autofree char *next = cleave_lock_l2chunk_key (cleave_node_id_make (2, bits, x + 1, y, z, 0));
          g_autofree char *id_hex = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", id);
          unsigned h;

          /* "l2chunk:" HHHH then the id, big-endian, in hex. */
          g_assert_cmpuint (strlen (key), ==, strlen ("l2chunk:") + 4 + 16);
          g_assert_true (g_str_has_prefix (key, "l2chunk:"));
          g_assert_cmpstr (key + strlen ("l2chunk:") + 4, ==, id_hex);
          g_assert_true (cleave_lock_key_l2chunk (key, &back));
          g_assert_cmpuint (back, ==, id);
          g_assert_cmpint (sscanf (key + strlen ("l2chunk:"), "%4x", &h), ==, 1);
          g_hash_table_add (prefixes, GUINT_TO_POINTER (h + 1));
          first[h >> 8]++;
          same_as_next += strncmp (key, next, strlen ("l2chunk:") + 2) == 0;
          n++;
        }
  for (guint i = 0; i < 256; i++)
    {
      n_first += first[i] > 0;
      max_first = MAX (max_first, first[i]);
    }
  g_test_message ("%u keys: %u distinct 2-byte prefixes, %u distinct first bytes (most %u), %u share a first byte "
                  "with their +x neighbour", n, g_hash_table_size (prefixes), n_first, max_first, same_as_next);
  /* A random function: ~3970 distinct prefixes of 4096, all 256 first
   * bytes with ~16 keys each, ~16 neighbours sharing one. */
  g_assert_cmpuint (g_hash_table_size (prefixes), >=, 3800);
  g_assert_cmpuint (n_first, ==, 256);
  g_assert_cmpuint (max_first, <=, 48);
  g_assert_cmpuint (same_as_next, <=, 64);
}

/* Downsample block keys: "downsample:" HHHH then the three coordinates,
 * big-endian, in hex (the reference's 26 bytes); they round-trip, negative
 * coordinates too, are distinct and scatter (the reference wants more than
 * 32 first bytes over 128 blocks). Root, chunk and block keys of one
 * number are apart: holding one does not hold the others. */
static void
test_downsample_keys (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) firsts = g_hash_table_new (g_direct_hash, g_direct_equal);

  g_assert_no_error (error);
  for (guint i = 0; i < 128; i++)
    {
      gint64 b[3] = { i % 8, (i / 8) % 4, i / 32 }, back[3];
      char *key = cleave_lock_downsample_key (b);
      guint64 chunk;
      unsigned h;

      g_assert_cmpuint (strlen (key), ==, strlen ("downsample:") + 4 + 48);
      g_assert_true (cleave_lock_key_downsample (key, back));
      g_assert_cmpmem (back, sizeof back, b, sizeof b);
      g_assert_false (cleave_lock_key_l2chunk (key, &chunk));
      g_assert_cmpint (sscanf (key + strlen ("downsample:"), "%2x", &h), ==, 1);
      g_hash_table_add (firsts, GUINT_TO_POINTER (h + 1));
      g_assert_true (g_hash_table_add (keys, key));
    }
  g_assert_cmpuint (g_hash_table_size (firsts), >, 32);
  {
    gint64 b[3] = { -3, G_MAXINT64, G_MININT64 }, back[3];
    g_autofree char *key = cleave_lock_downsample_key (b);

    g_assert_true (cleave_lock_key_downsample (key, back));
    g_assert_cmpmem (back, sizeof back, b, sizeof b);
    /* A changed hash is not a block key. */
    key[strlen ("downsample:")] = key[strlen ("downsample:")] == '0' ? '1' : '0';
    g_assert_false (cleave_lock_key_downsample (key, back));
  }

  /* One number, three namespaces, three locks. */
  {
    gint64 b[3] = { 5, 0, 0 };
    g_autofree char *root = cleave_lock_root_key (5);
    g_autofree char *chunk = cleave_lock_l2chunk_key (5);
    g_autofree char *block = cleave_lock_downsample_key (b);

    g_assert_cmpstr (root, !=, chunk);
    g_assert_cmpstr (chunk, !=, block);
    g_assert_true (cleave_lock_acquire (g, "root", &root, 1, OP_A, 1, &error));
    g_assert_true (cleave_lock_acquire (g, "l2chunk", &chunk, 1, OP_B, 1, &error));
    g_assert_true (cleave_lock_acquire (g, "downsample", &block, 1, OP_C, 1, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (n_held (g), ==, 3);
  }
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *params = g_strdup_printf ("%s/cleave-test-lock-%d.params", g_get_tmp_dir (), (int) getpid ());

  /* Before any thread: the killed edits' children find their orders
   * here. */
  if (g_getenv ("CLEAVE_TEST_LOCK_PARAMS") == NULL)
    g_setenv ("CLEAVE_TEST_LOCK_PARAMS", params, TRUE);
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/lock/acquire-release", test_acquire_release);
  g_test_add_func ("/lock/replaced-sv-refused", test_replaced_sv_refused);
  g_test_add_func ("/lock/overlap", test_overlap);
  g_test_add_func ("/lock/overlap-waits", test_overlap_waits);
  g_test_add_func ("/lock/value-matched-release", test_value_matched_release);
  g_test_add_func ("/lock/expiry-renew", test_expiry_renew);
  g_test_add_func ("/lock/indefinite-same-op", test_indefinite_same_op);
  g_test_add_func ("/lock/split-scope", test_split_scope);
  g_test_add_func ("/lock/split-killed", test_split_killed);
  g_test_add_func ("/lock/successors-locked", test_successors_locked);
  g_test_add_func ("/lock/killed/child", test_killed_child);
  g_test_add_func ("/lock/key-scatter", test_key_scatter);
  g_test_add_func ("/lock/downsample-keys", test_downsample_keys);
  {
    int status = g_test_run ();

    if (!g_test_subprocess ())
      g_unlink (g_getenv ("CLEAVE_TEST_LOCK_PARAMS"));
    return status;
  }
}
