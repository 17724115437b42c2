/* cleave-queue.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-queue"

#include "cleave-queue.h"

#include <string.h>

#include "cleave-graph-private.h"
#include "cleave-util.h"

G_DEFINE_QUARK (cleave-queue-error-quark, cleave_queue_error)

void
cleave_queue_job_clear (CleaveQueueJob *job)
{
  g_clear_pointer (&job->bboxes, g_free);
}

static GArray *
jobs_new (void)
{
  GArray *jobs = g_array_new (FALSE, TRUE, sizeof (CleaveQueueJob));

  g_array_set_clear_func (jobs, (GDestroyNotify) cleave_queue_job_clear);
  return jobs;
}

gboolean
cleave_queue_enqueue (CleaveGraph   *g,
                      guint64        op_id,
                      const gint64  *bboxes,
                      guint          n,
                      GError       **error)
{
  g_autofree gint64 *le = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (n == 0)
    return TRUE;
  le = g_new (gint64, 6 * (gsize) n);
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 3; k++)
      {
        if (bboxes[6 * i + 3 + k] < bboxes[6 * i + k])
          {
            const gint64 *b = bboxes + 6 * i;

            g_set_error (error, CLEAVE_QUEUE_ERROR, CLEAVE_QUEUE_ERROR_INVALID,
                         "op %" G_GUINT64_FORMAT ": bbox %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                         ":%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT " ends before it starts",
                         op_id, b[0], b[1], b[2], b[3], b[4], b[5]);
            return FALSE;
          }
      }
  for (gsize i = 0; i < 6 * (gsize) n; i++)
    le[i] = GINT64_TO_LE (bboxes[i]);
  stmt = _cleave_graph_prepare (g->db, g->path,
                                "INSERT INTO edit_queue (op, downsample, bboxes, enqueued) VALUES (?, 1, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op_id);
  sqlite3_bind_blob (stmt, 2, le, (int) (48 * n), SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, cleave_now_ns ());
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return _cleave_graph_db_error (g->db, g->path, "enqueueing a downsample job", error);
  return TRUE;
}

/* Positive, so it reads back the same from SQLite; never 0. */
static guint64
new_token (void)
{
  guint64 t;

  do
    t = (((guint64) g_random_int () << 32) | g_random_int ()) >> 2;
  while (t == 0);
  return t;
}

GArray *
cleave_queue_claim (CleaveGraph  *g,
                    guint         max_jobs,
                    gint64        ttl_ns,
                    guint64      *token_out,
                    GError      **error)
{
  g_autoptr(GArray) jobs = jobs_new ();
  sqlite3_stmt *sel = NULL, *upd = NULL;
  guint64 token = new_token ();
  gint64 now = cleave_now_ns ();
  gboolean ok = FALSE;
  int rc;

  *token_out = 0;
  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return NULL;
  sel = _cleave_graph_prepare (g->db, g->path,
                               "SELECT id, op, bboxes, attempts, claim FROM edit_queue WHERE downsample = 1 "
                               "AND attempts < ?1 AND not_before <= ?2 ORDER BY id LIMIT ?3", error);
  upd = _cleave_graph_prepare (g->db, g->path,
                               "UPDATE edit_queue SET claim = ?1, not_before = ?2, attempts = attempts + 1 "
                               "WHERE id = ?3", error);
  if (sel == NULL || upd == NULL)
    goto out;
  sqlite3_bind_int (sel, 1, CLEAVE_QUEUE_MAX_ATTEMPTS);
  sqlite3_bind_int64 (sel, 2, now);
  sqlite3_bind_int (sel, 3, (int) MAX (max_jobs, 1));
  while ((rc = sqlite3_step (sel)) == SQLITE_ROW)
    {
      CleaveQueueJob job = { 0 };
      const gint64 *le = sqlite3_column_blob (sel, 2);
      gsize len = sqlite3_column_bytes (sel, 2);

      job.id = sqlite3_column_int64 (sel, 0);
      job.op = (guint64) sqlite3_column_int64 (sel, 1);
      job.n_bboxes = len / 48;
      job.bboxes = g_new (gint64, 6 * MAX (job.n_bboxes, 1));
      for (gsize i = 0; i < 6 * (gsize) job.n_bboxes; i++)
        {
          gint64 v;

          memcpy (&v, le + i, sizeof v);
          job.bboxes[i] = GINT64_FROM_LE (v);
        }
      job.attempts = sqlite3_column_int (sel, 3) + 1;
      job.stale_claim = (guint64) sqlite3_column_int64 (sel, 4);
      g_array_append_val (jobs, job);
    }
  if (rc != SQLITE_DONE)
    {
      _cleave_graph_db_error (g->db, g->path, "claiming downsample jobs", error);
      goto out;
    }
  for (guint i = 0; i < jobs->len; i++)
    {
      sqlite3_reset (upd);
      sqlite3_bind_int64 (upd, 1, (sqlite3_int64) token);
      sqlite3_bind_int64 (upd, 2, now + ttl_ns);
      sqlite3_bind_int64 (upd, 3, g_array_index (jobs, CleaveQueueJob, i).id);
      if (sqlite3_step (upd) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, "claiming downsample jobs", error);
          goto out;
        }
    }
  ok = _cleave_graph_exec (g->db, g->path, "COMMIT", error);

out:
  sqlite3_finalize (sel);
  sqlite3_finalize (upd);
  if (!ok)
    {
      _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
      return NULL;
    }
  *token_out = token;
  return g_steal_pointer (&jobs);
}

/* Runs @sql (binding ?1 = job id, ?2 = token, then @a3 and @a4 as ?3 and
 * ?4) for each job in one transaction; *n_changed_out counts rows. */
static gboolean
each_job (CleaveGraph  *g,
          const char   *sql,
          const char   *doing,
          GArray       *jobs,
          guint64       token,
          gint64        a3,
          const char   *a4,
          guint        *n_changed_out,
          GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  guint n_changed = 0;
  gboolean ok = FALSE;

  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  stmt = _cleave_graph_prepare (g->db, g->path, sql, error);
  if (stmt == NULL)
    goto out;
  for (guint i = 0; i < jobs->len; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, g_array_index (jobs, CleaveQueueJob, i).id);
      sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) token);
      if (sqlite3_bind_parameter_count (stmt) >= 3)
        sqlite3_bind_int64 (stmt, 3, a3);
      if (sqlite3_bind_parameter_count (stmt) >= 4)
        sqlite3_bind_text (stmt, 4, a4, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, doing, error);
          goto out;
        }
      n_changed += sqlite3_changes (g->db);
    }
  ok = _cleave_graph_exec (g->db, g->path, "COMMIT", error);

out:
  sqlite3_finalize (stmt);
  if (!ok)
    _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
  if (n_changed_out)
    *n_changed_out = n_changed;
  return ok;
}

gboolean
cleave_queue_renew (CleaveGraph  *g,
                    GArray       *jobs,
                    guint64       token,
                    gint64        ttl_ns,
                    GError      **error)
{
  guint n = 0;

  if (!each_job (g, "UPDATE edit_queue SET not_before = ?3 WHERE id = ?1 AND claim = ?2",
                 "renewing a claim", jobs, token, cleave_now_ns () + ttl_ns, NULL, &n, error))
    return FALSE;
  if (n != jobs->len)
    {
      g_set_error (error, CLEAVE_QUEUE_ERROR, CLEAVE_QUEUE_ERROR_LOST_CLAIM,
                   "%s: the claim %" G_GUINT64_FORMAT " on %u downsample job(s) expired and was taken over",
                   g->path, token, jobs->len - n);
      return FALSE;
    }
  return TRUE;
}

gboolean
cleave_queue_ack (CleaveGraph  *g,
                  GArray       *jobs,
                  guint64       token,
                  GError      **error)
{
  return each_job (g, "DELETE FROM edit_queue WHERE id = ?1 AND claim = ?2",
                   "acknowledging a downsample job", jobs, token, 0, NULL, NULL, error);
}

gboolean
cleave_queue_release (CleaveGraph  *g,
                      GArray       *jobs,
                      guint64       token,
                      gint64        delay_ns,
                      const char   *message,
                      gboolean      count_attempt,
                      GError      **error)
{
  return each_job (g,
                   count_attempt
                     ? "UPDATE edit_queue SET claim = NULL, not_before = ?3, error = ?4 WHERE id = ?1 AND claim = ?2"
                     : "UPDATE edit_queue SET claim = NULL, not_before = ?3, error = ?4, attempts = attempts - 1 "
                       "WHERE id = ?1 AND claim = ?2",
                   "handing back a downsample job", jobs, token, cleave_now_ns () + delay_ns, message, NULL, error);
}

gboolean
cleave_queue_get_backlog (CleaveGraph        *g,
                          CleaveQueueBacklog *backlog,
                          GError            **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
    "SELECT "
    "  total (NOT live AND attempts < ?1), total (live), total (NOT live AND attempts >= ?1),"
    "  min (CASE WHEN live OR attempts < ?1 THEN enqueued END) "
    "FROM (SELECT attempts, enqueued, claim IS NOT NULL AND not_before > ?2 AS live "
    "      FROM edit_queue WHERE downsample = 1)", error);
  int rc;

  memset (backlog, 0, sizeof *backlog);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, CLEAVE_QUEUE_MAX_ATTEMPTS);
  sqlite3_bind_int64 (stmt, 2, cleave_now_ns ());
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      backlog->pending = (guint64) sqlite3_column_double (stmt, 0);
      backlog->claimed = (guint64) sqlite3_column_double (stmt, 1);
      backlog->failed = (guint64) sqlite3_column_double (stmt, 2);
      backlog->oldest_ns = sqlite3_column_int64 (stmt, 3);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return _cleave_graph_db_error (g->db, g->path, "reading the edit queue", error);
  return TRUE;
}

gboolean
cleave_queue_retry_failed (CleaveGraph  *g,
                           guint64      *n_out,
                           GError      **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "UPDATE edit_queue SET attempts = 0, not_before = 0 "
                                              "WHERE downsample = 1 AND attempts >= ?1 AND (claim IS NULL OR not_before <= ?2)",
                                              error);
  int rc;

  *n_out = 0;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, CLEAVE_QUEUE_MAX_ATTEMPTS);
  sqlite3_bind_int64 (stmt, 2, cleave_now_ns ());
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return _cleave_graph_db_error (g->db, g->path, "retrying failed downsample jobs", error);
  *n_out = sqlite3_changes (g->db);
  return TRUE;
}
