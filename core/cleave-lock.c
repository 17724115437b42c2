/* cleave-lock.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-lock"

#include "cleave-lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave-bytes.h"
#include "cleave-graph-private.h"
#include "cleave-util.h"

G_DEFINE_QUARK (cleave-lock-error-quark, cleave_lock_error)

void
cleave_lock_info_clear (CleaveLockInfo *info)
{
  g_clear_pointer (&info->key, g_free);
  g_clear_pointer (&info->kind, g_free);
}

char *
cleave_lock_root_key (guint64 root)
{
  return g_strdup_printf ("root:%" G_GUINT64_FORMAT, root);
}

/* The reference takes blake2b's first 2 bytes; any well-mixed hash does
 * the job of scattering keys, and crc32c is already here. */
static guint16
key_hash (const guint8 *bytes,
          gsize         n)
{
  return (guint16) (cleave_crc32c (bytes, n) >> 16);
}

static char *
hex_key (const char   *ns,
         const guint8 *bytes,
         gsize         n)
{
  GString *s = g_string_new (ns);
  guint16 h = key_hash (bytes, n);

  g_string_append_printf (s, ":%04x", h);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%02x", bytes[i]);
  return g_string_free (s, FALSE);
}

char *
cleave_lock_l2chunk_key (guint64 chunk_id)
{
  guint64 be = GUINT64_TO_BE (chunk_id);

  return hex_key ("l2chunk", (const guint8 *) &be, 8);
}

char *
cleave_lock_downsample_key (const gint64 block[3])
{
  guint64 be[3];

  for (guint a = 0; a < 3; a++)
    be[a] = GUINT64_TO_BE ((guint64) block[a]);
  return hex_key ("downsample", (const guint8 *) be, sizeof be);
}

/* Parses NS:HHHH followed by @n hex bytes, checking the hash. */
static gboolean
parse_hex_key (const char *key,
               const char *ns,
               guint8     *bytes,
               gsize       n)
{
  gsize ns_len = strlen (ns);
  const char *p;
  unsigned h;

  if (strncmp (key, ns, ns_len) != 0 || key[ns_len] != ':' || strlen (key) != ns_len + 1 + 4 + 2 * n)
    return FALSE;
  p = key + ns_len + 1;
  if (sscanf (p, "%4x", &h) != 1)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      int hi = g_ascii_xdigit_value (p[4 + 2 * i]), lo = g_ascii_xdigit_value (p[5 + 2 * i]);

      if (hi < 0 || lo < 0)
        return FALSE;
      bytes[i] = (guint8) (hi << 4 | lo);
    }
  return h == key_hash (bytes, n);
}

gboolean
cleave_lock_key_l2chunk (const char *key,
                         guint64    *chunk_id)
{
  guint64 be;

  if (!parse_hex_key (key, "l2chunk", (guint8 *) &be, 8))
    return FALSE;
  *chunk_id = GUINT64_FROM_BE (be);
  return TRUE;
}

gboolean
cleave_lock_key_downsample (const char *key,
                            gint64      block[3])
{
  guint64 be[3];

  if (!parse_hex_key (key, "downsample", (guint8 *) be, sizeof be))
    return FALSE;
  for (guint a = 0; a < 3; a++)
    block[a] = (gint64) GUINT64_FROM_BE (be[a]);
  return TRUE;
}

static int
cmp_str (gconstpointer a,
         gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* One attempt, in one transaction: every key free (or ours), or nothing.
 * *hopeless_out says whether a refusal will last: the key is held
 * indefinitely by an op that holds no live temporal cell. Every op at work
 * holds one (its root lock) for as long as it holds indefinite cells, so
 * such an op died mid-write and only a replay frees its cells. */
static gboolean
try_acquire (CleaveGraph  *g,
             const char   *kind,
             char        **sorted,
             guint         n,
             guint64       op,
             gboolean      indefinite,
             gboolean     *hopeless_out,
             GError      **error)
{
  sqlite3_stmt *get = NULL, *put = NULL, *alive = NULL;
  gint64 now = cleave_now_ns ();
  gboolean ok = FALSE;

  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  get = _cleave_graph_prepare (g->db, g->path, "SELECT op, expires, indefinite_op FROM lock WHERE key = ?", error);
  put = _cleave_graph_prepare (g->db, g->path,
                               indefinite
                                 ? "INSERT INTO lock (key, kind, op, expires, indefinite_op) VALUES (?1, ?2, NULL, NULL, ?3) "
                                   "ON CONFLICT (key) DO UPDATE SET indefinite_op = ?3"
                                 : "INSERT INTO lock (key, kind, op, expires, indefinite_op) VALUES (?1, ?2, ?3, ?4, NULL) "
                                   "ON CONFLICT (key) DO UPDATE SET op = ?3, expires = ?4", error);
  if (get == NULL || put == NULL)
    goto out;
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (get);
      sqlite3_bind_text (get, 1, sorted[i], -1, SQLITE_STATIC);
      if (sqlite3_step (get) == SQLITE_ROW)
        {
          guint64 holder = (guint64) sqlite3_column_int64 (get, 0);
          gint64 expires = sqlite3_column_int64 (get, 1);
          guint64 indef = (guint64) sqlite3_column_int64 (get, 2);

          /* The temporal acquire also refuses where an indefinite cell
           * is set (the reference's lock_by_row_key_with_indefinite). */
          if ((indef != 0 && indef != op) ||
              (!indefinite && holder != 0 && holder != op && expires > now))
            {
              g_set_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED,
                           "%s is locked%s by op %" G_GUINT64_FORMAT,
                           sorted[i], indef != 0 && indef != op ? " indefinitely" : "",
                           indef != 0 && indef != op ? indef : holder);
              if (hopeless_out != NULL && indef != 0 && indef != op)
                {
                  alive = _cleave_graph_prepare (g->db, g->path,
                                                 "SELECT 1 FROM lock WHERE op = ?1 AND expires > ?2 LIMIT 1", NULL);
                  if (alive != NULL)
                    {
                      sqlite3_bind_int64 (alive, 1, (sqlite3_int64) indef);
                      sqlite3_bind_int64 (alive, 2, now);
                      *hopeless_out = sqlite3_step (alive) != SQLITE_ROW;
                    }
                }
              goto out;
            }
        }
      sqlite3_reset (put);
      sqlite3_bind_text (put, 1, sorted[i], -1, SQLITE_STATIC);
      sqlite3_bind_text (put, 2, kind, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (put, 3, (sqlite3_int64) op);
      if (!indefinite)
        sqlite3_bind_int64 (put, 4, now + CLEAVE_LOCK_EXPIRY_NS);
      if (sqlite3_step (put) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, "taking a lock", error);
          goto out;
        }
    }
  ok = _cleave_graph_exec (g->db, g->path, "COMMIT", error);

out:
  sqlite3_finalize (get);
  sqlite3_finalize (put);
  sqlite3_finalize (alive);
  if (!ok)
    _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
  return ok;
}

static char **
sorted_copy (char  **keys,
             guint   n)
{
  char **sorted = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    sorted[i] = g_strdup (keys[i]);
  qsort (sorted, n, sizeof *sorted, cmp_str);
  return sorted;
}

gboolean
cleave_lock_acquire (CleaveGraph  *g,
                     const char   *kind,
                     char        **keys,
                     guint         n,
                     guint64       op,
                     guint         tries,
                     GError      **error)
{
  g_auto(GStrv) sorted = sorted_copy (keys, n);
  /* 7 tries wait 3 to 6 s in all: long enough for another op's split and
   * commit (a few hundred ms), short enough for a user at the screen. */
  gulong wait_us = 50000;

  for (guint t = 0;; t++)
    {
      g_autoptr(GError) local = NULL;
      gboolean hopeless = FALSE;

      if (try_acquire (g, kind, sorted, n, op, FALSE, &hopeless, &local))
        return TRUE;
      if (!g_error_matches (local, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED) || hopeless ||
          t + 1 >= MAX (tries, 1))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      /* Back off, a little more each time, with jitter so two waiters
       * do not retry in step. */
      g_usleep (wait_us + g_random_int_range (0, (gint32) wait_us));
      wait_us = MIN (wait_us * 2, 1000000);
    }
}

gboolean
cleave_lock_acquire_indefinite (CleaveGraph  *g,
                                const char   *kind,
                                char        **keys,
                                guint         n,
                                guint64       op,
                                GError      **error)
{
  g_auto(GStrv) sorted = sorted_copy (keys, n);

  return try_acquire (g, kind, sorted, n, op, TRUE, NULL, error);
}

gboolean
cleave_lock_renew (CleaveGraph  *g,
                   char        **keys,
                   guint         n,
                   guint64       op,
                   GError      **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "UPDATE lock SET expires = ? WHERE key = ? AND op = ?", error);
  gint64 expires = cleave_now_ns () + CLEAVE_LOCK_EXPIRY_NS;
  gboolean ok = TRUE;

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < n && ok; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, expires);
      sqlite3_bind_text (stmt, 2, keys[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) op);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        ok = _cleave_graph_db_error (g->db, g->path, "renewing a lock", error);
      else if (sqlite3_changes (g->db) == 0)
        {
          g_set_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED,
                       "could not renew the lock on %s before writing: op %" G_GUINT64_FORMAT " no longer holds it",
                       keys[i], op);
          ok = FALSE;
        }
    }
  sqlite3_finalize (stmt);
  return ok;
}

gboolean
cleave_lock_release (CleaveGraph  *g,
                     char        **keys,
                     guint         n,
                     guint64       op,
                     gboolean      indefinite,
                     GError      **error)
{
  sqlite3_stmt *clear = _cleave_graph_prepare (g->db, g->path,
                                               indefinite
                                                 ? "UPDATE lock SET indefinite_op = NULL WHERE key = ? AND indefinite_op = ?"
                                                 : "UPDATE lock SET op = NULL, expires = NULL WHERE key = ? AND op = ?",
                                               error);
  gboolean ok = TRUE;

  if (clear == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (clear);
      sqlite3_bind_text (clear, 1, keys[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (clear, 2, (sqlite3_int64) op);
      if (sqlite3_step (clear) != SQLITE_DONE)
        ok = _cleave_graph_db_error (g->db, g->path, "releasing a lock", error);
    }
  sqlite3_finalize (clear);
  /* Rows with neither cell set are noise. */
  _cleave_graph_exec (g->db, g->path, "DELETE FROM lock WHERE op IS NULL AND indefinite_op IS NULL", NULL);
  return ok;
}

gboolean
cleave_lock_release_op (CleaveGraph  *g,
                        guint64       op,
                        GError      **error)
{
  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  {
    g_autofree char *sql = g_strdup_printf ("UPDATE lock SET op = NULL, expires = NULL WHERE op = %" G_GUINT64_FORMAT ";"
                                            "UPDATE lock SET indefinite_op = NULL WHERE indefinite_op = %" G_GUINT64_FORMAT ";"
                                            "DELETE FROM lock WHERE op IS NULL AND indefinite_op IS NULL;"
                                            "COMMIT", op, op);

    if (!_cleave_graph_exec (g->db, g->path, sql, error))
      {
        _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
        return FALSE;
      }
  }
  return TRUE;
}

GArray *
cleave_lock_list (CleaveGraph  *g,
                  GError      **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT key, kind, op, expires, indefinite_op FROM lock ORDER BY key", error);
  GArray *out;
  gint64 now = cleave_now_ns ();

  if (stmt == NULL)
    return NULL;
  out = g_array_new (FALSE, TRUE, sizeof (CleaveLockInfo));
  g_array_set_clear_func (out, (GDestroyNotify) cleave_lock_info_clear);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CleaveLockInfo info = { 0 };
      gint64 expires = sqlite3_column_int64 (stmt, 3);

      info.key = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      info.kind = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      if (expires > now)
        {
          info.op = (guint64) sqlite3_column_int64 (stmt, 2);
          info.expires = expires;
        }
      info.indefinite_op = (guint64) sqlite3_column_int64 (stmt, 4);
      if (info.op == 0 && info.indefinite_op == 0)
        {
          cleave_lock_info_clear (&info);
          continue;
        }
      g_array_append_val (out, info);
    }
  sqlite3_finalize (stmt);
  return out;
}
