/* test-interop.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What Cleave writes must read the same through an independent reader:
 * neuroglancer's OCDBT decoder, run under Node.js by the shared
 * tools/ngocdbt. Each test writes one store with libcleave while keeping
 * an in-memory model of every generation, then has ngocdbt list every
 * generation (`ls-all`) and compares the generation numbers, commit times,
 * key sets, value sizes and SHA-256 sums with the model.
 *
 * The tool runs from a writable copy under the build directory
 * (CLEAVE_INTEROP_DIR, set by meson; a scratch directory otherwise), whose
 * node_modules comes from `npm ci` once and is reused while package.json,
 * package-lock.json and .npmrc are unchanged.
 *
 * No Node.js, a Node.js too old for the tool, no npm when an install is
 * needed, or an `npm ci` that fails (no network, say): every test SKIPs
 * with the reason, none fails. CLEAVE_INTEROP_NODE and CLEAVE_INTEROP_NPM
 * name the programs instead of a PATH lookup; pointing one at a missing
 * file, e.g. CLEAVE_INTEROP_NODE=/nonexistent, exercises the skip.
 */

#define G_LOG_DOMAIN "test-interop"

#include "cleave-ocdbt-writer.h"
#include "cleave-test.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* tools/ngocdbt's own floor (its package.json "engines"). */
#define NODE_MIN_MAJOR 20
#define NODE_MIN_MINOR 6
#define NPM_CI_TIMEOUT_S 300
#define NGOCDBT_TIMEOUT_S 300
#define STAMP_NAME ".cleave-interop-stamp"
#define MAX_PROBLEMS 20

/* ------------------------------------------------------------------------
 * Running programs, with a time limit.
 * ------------------------------------------------------------------------ */

typedef struct
{
  int       status;      /* exit status, or 128 + signal */
  gboolean  timed_out;
  GBytes   *out;
  char     *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_bytes_unref);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

typedef struct
{
  gboolean  done;
  GBytes   *out;
  GBytes   *err;
} Communicated;

/* npm starts helpers of its own: a process group lets a timeout end them
 * all, and only them. */
static void
new_process_group (gpointer user_data)
{
  setpgid (0, 0);
}

static void
communicated (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Communicated *c = user_data;

  /* Cancelled after a timeout: the status says what happened. */
  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &c->out, &c->err, NULL);
  c->done = TRUE;
}

/* Never NULL, even for no bytes at all. */
static char *
bytes_to_string (GBytes *bytes)
{
  gsize len = bytes ? g_bytes_get_size (bytes) : 0;

  return len > 0 ? g_strndup (g_bytes_get_data (bytes, NULL), len) : g_strdup ("");
}

static gboolean
timed_out (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* FALSE (and @error) only when the program could not be started. */
static gboolean
run_argv (Run                *run,
          const char * const *argv,
          const char         *cwd,
          guint               timeout_s,
          GError            **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) timeout = NULL;
  Communicated c = { FALSE, NULL, NULL };
  gboolean expired = FALSE;
  GPid pid = 0;

  memset (run, 0, sizeof *run);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, cwd);
  g_subprocess_launcher_set_child_setup (launcher, new_process_group, NULL, NULL);

  g_main_context_push_thread_default (context);
  proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (proc == NULL)
    {
      g_main_context_pop_thread_default (context);
      return FALSE;
    }
  pid = atoi (g_subprocess_get_identifier (proc));
  timeout = g_timeout_source_new_seconds (timeout_s);
  g_source_set_callback (timeout, timed_out, &expired, NULL);
  g_source_attach (timeout, context);
  g_subprocess_communicate_async (proc, NULL, cancellable, communicated, &c);
  while (!c.done)
    {
      g_main_context_iteration (context, TRUE);
      if (expired && !run->timed_out)
        {
          run->timed_out = TRUE;
          kill (-pid, SIGKILL);
          g_cancellable_cancel (cancellable);
        }
    }
  g_source_destroy (timeout);
  g_subprocess_wait (proc, NULL, NULL);
  g_main_context_pop_thread_default (context);

  if (g_subprocess_get_if_exited (proc))
    run->status = g_subprocess_get_exit_status (proc);
  else
    run->status = 128 + g_subprocess_get_term_sig (proc);
  run->out = c.out ? c.out : g_bytes_new (NULL, 0);
  run->err = bytes_to_string (c.err);
  g_clear_pointer (&c.err, g_bytes_unref);
  return TRUE;
}

/* The tail of a program's stderr, on one line, for a TAP message. */
static char *
stderr_tail (const char *err,
             gsize       max_chars)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (err));
  gsize len = strlen (trimmed);
  const char *start = trimmed;
  g_auto(GStrv) lines = NULL;

  if (len > max_chars)
    {
      start = trimmed + len - max_chars;
      /* Whole UTF-8 characters only. */
      while (*start && (*start & 0xc0) == 0x80)
        start++;
    }
  lines = g_strsplit (start, "\n", -1);
  return g_strjoinv (" | ", lines);
}

/* npm's reason, without its stack trace and advice: the first few
 * "npm error" lines (the error code, then what failed). */
static char *
npm_reason (const char *err)
{
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);
  g_autoptr(GPtrArray) picked = g_ptr_array_new ();

  for (guint i = 0; lines[i] != NULL && picked->len < 4; i++)
    {
      char *line = g_strstrip (lines[i]);

      if ((g_str_has_prefix (line, "npm error ") || g_str_has_prefix (line, "npm ERR! ")) &&
          strstr (line, "    at ") == NULL)
        g_ptr_array_add (picked, line);
    }
  if (picked->len == 0)
    return stderr_tail (err, 400);
  g_ptr_array_add (picked, NULL);
  return g_strjoinv (" | ", (char **) picked->pdata);
}

/* ------------------------------------------------------------------------
 * Node.js and the tool: found once, installed once per package lock.
 * ------------------------------------------------------------------------ */

static gboolean ngocdbt_ready;
static char *ngocdbt_skip;     /* why every test skips */
static char *node_program;
static char *ngocdbt_script;

/* @env_name's value (which must be an executable), or a PATH lookup. */
static char *
find_program (const char  *env_name,
              const char  *name,
              char       **reason)
{
  const char *forced = g_getenv (env_name);

  if (forced != NULL && *forced != '\0')
    {
      if (g_file_test (forced, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (forced, G_FILE_TEST_IS_DIR))
        return g_strdup (forced);
      *reason = g_strdup_printf ("%s=%s is not an executable", env_name, forced);
      return NULL;
    }
  {
    char *found = g_find_program_in_path (name);

    if (found == NULL)
      *reason = g_strdup_printf ("%s is not in PATH", name);
    return found;
  }
}

/* tools/ngocdbt registers module hooks (node:module register), new in 20.6. */
static gboolean
check_node_version (const char  *node,
                    char       **reason)
{
  const char *argv[] = { node, "--version", NULL };
  g_auto(Run) run = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint64 major = 0, minor = 0;
  char *end = NULL;

  if (!run_argv (&run, argv, NULL, 60, &error))
    {
      *reason = g_strdup_printf ("cannot run %s: %s", node, error->message);
      return FALSE;
    }
  text = g_strstrip (bytes_to_string (run.out));
  if (run.status == 0 && text[0] == 'v')
    {
      major = g_ascii_strtoull (text + 1, &end, 10);
      if (end != NULL && *end == '.')
        minor = g_ascii_strtoull (end + 1, NULL, 10);
    }
  if (major == 0)
    {
      *reason = g_strdup_printf ("%s --version failed (status %d): %s", node, run.status, text);
      return FALSE;
    }
  if (major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))
    {
      *reason = g_strdup_printf ("Node.js %s is older than the %d.%d tools/ngocdbt needs",
                                 text, NODE_MIN_MAJOR, NODE_MIN_MINOR);
      return FALSE;
    }
  g_test_message ("interop: %s is Node.js %s", node, text);
  return TRUE;
}

/* What an install depends on; a change means `npm ci` again. */
static char *
install_stamp (const char *tool_dir)
{
  static const char * const inputs[] = { "package.json", "package-lock.json", ".npmrc" };
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autofree char *path = g_build_filename (tool_dir, inputs[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      g_checksum_update (sum, (const guchar *) inputs[i], strlen (inputs[i]) + 1);
      if (g_file_get_contents (path, &data, &len, NULL))
        g_checksum_update (sum, (const guchar *) data, len);
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* The tool's files (the folder is flat), copied afresh every run: cheap, and
 * the copy never goes stale. node_modules is left alone. */
static gboolean
copy_tool (const char  *src,
           const char  *dst,
           char       **reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (src, 0, &error);
  const char *name;

  if (dir == NULL || g_mkdir_with_parents (dst, 0755) != 0)
    {
      *reason = g_strdup_printf ("cannot copy %s to %s: %s", src, dst,
                                 error ? error->message : g_strerror (errno));
      return FALSE;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src, name, NULL);
      g_autofree char *to = g_build_filename (dst, name, NULL);
      g_autofree char *data = NULL;
      gsize len;

      if (!g_file_test (from, G_FILE_TEST_IS_REGULAR))
        continue;
      if (!g_file_get_contents (from, &data, &len, &error) || !g_file_set_contents (to, data, len, &error))
        {
          *reason = g_strdup_printf ("cannot copy %s to %s: %s", src, dst, error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
installed (const char *tool_dir,
           const char *stamp)
{
  g_autofree char *stamp_path = g_build_filename (tool_dir, STAMP_NAME, NULL);
  g_autofree char *ng = g_build_filename (tool_dir, "node_modules", "neuroglancer", "package.json", NULL);
  g_autofree char *zstd = g_build_filename (tool_dir, "node_modules", "fzstd", "package.json", NULL);
  g_autofree char *old = NULL;

  return g_file_get_contents (stamp_path, &old, NULL, NULL) && strcmp (g_strstrip (old), stamp) == 0 &&
         g_file_test (ng, G_FILE_TEST_IS_REGULAR) && g_file_test (zstd, G_FILE_TEST_IS_REGULAR);
}

static gboolean
npm_ci (const char  *tool_dir,
        const char  *stamp,
        char       **reason)
{
  g_autofree char *npm = NULL;
  g_autofree char *stamp_path = g_build_filename (tool_dir, STAMP_NAME, NULL);
  g_autoptr(GError) error = NULL;
  g_auto(Run) run = { 0 };
  g_autofree char *tail = NULL;
  gint64 start;

  npm = find_program ("CLEAVE_INTEROP_NPM", "npm", reason);
  if (npm == NULL)
    return FALSE;
  /* An interrupted install must not look finished. */
  g_unlink (stamp_path);
  start = g_get_monotonic_time ();
  {
    /* Give up on an unreachable registry well within meson's timeout. */
    const char *argv[] = { npm, "ci", "--prefer-offline", "--no-audit", "--no-fund",
                           "--fetch-retries=1", "--fetch-timeout=60000", NULL };

    if (!run_argv (&run, argv, tool_dir, NPM_CI_TIMEOUT_S, &error))
      {
        *reason = g_strdup_printf ("cannot run %s: %s", npm, error->message);
        return FALSE;
      }
  }
  tail = run.err[0] != '\0' ? npm_reason (run.err) : g_strdup ("no output");
  if (run.timed_out)
    {
      *reason = g_strdup_printf ("npm ci in %s did not finish in %d s: %s", tool_dir, NPM_CI_TIMEOUT_S, tail);
      return FALSE;
    }
  if (run.status != 0)
    {
      *reason = g_strdup_printf ("npm ci in %s failed (status %d): %s", tool_dir, run.status, tail);
      return FALSE;
    }
  if (!g_file_set_contents (stamp_path, stamp, -1, &error))
    {
      *reason = g_strdup_printf ("cannot write %s: %s", stamp_path, error->message);
      return FALSE;
    }
  g_test_message ("interop: npm ci in %s took %.1f s", tool_dir,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  return TRUE;
}

/* TRUE when ngocdbt can run; otherwise the test is marked skipped. */
static gboolean
require_ngocdbt (void)
{
  g_autofree char *src = NULL;
  g_autofree char *tool_dir = NULL;
  g_autofree char *stamp = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *lock_path = NULL;
  const char *base;
  char *reason = NULL;
  gboolean ok;
  int lock = -1;

  if (!ngocdbt_ready && ngocdbt_skip == NULL)
    {
      node_program = find_program ("CLEAVE_INTEROP_NODE", "node", &reason);
      if (node_program == NULL || !check_node_version (node_program, &reason))
        goto skip;

      /* A missing tool is a broken checkout, not a missing program: that fails. */
      src = cleave_test_shared_path ("tools", "ngocdbt", NULL);
      base = g_getenv ("CLEAVE_INTEROP_DIR");
      if (base == NULL || *base == '\0')
        base = tmp = cleave_test_tmpdir ();
      tool_dir = g_build_filename (base, "ngocdbt", NULL);
      lock_path = g_build_filename (base, "ngocdbt.lock", NULL);

      /* Two runs on one build directory (make test beside meson test)
       * must not install over each other. */
      if (g_mkdir_with_parents (base, 0755) != 0 ||
          (lock = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock (lock, LOCK_EX) != 0)
        {
          reason = g_strdup_printf ("cannot lock %s: %s", lock_path, g_strerror (errno));
          if (lock >= 0)
            close (lock);
          goto skip;
        }
      ok = copy_tool (src, tool_dir, &reason);
      stamp = install_stamp (tool_dir);
      if (ok && installed (tool_dir, stamp))
        g_test_message ("interop: reusing %s/node_modules", tool_dir);
      else if (ok)
        ok = npm_ci (tool_dir, stamp, &reason);
      close (lock);   /* and with it the lock */
      if (!ok)
        goto skip;
      ngocdbt_script = g_build_filename (tool_dir, "ngocdbt.mjs", NULL);
      ngocdbt_ready = TRUE;
    }
  if (ngocdbt_ready)
    return TRUE;
  g_test_skip (ngocdbt_skip);
  return FALSE;

skip:
  ngocdbt_skip = g_strdup_printf ("interop with neuroglancer's OCDBT reader skipped: %s", reason);
  g_free (reason);
  g_test_skip (ngocdbt_skip);
  return FALSE;
}

/* ------------------------------------------------------------------------
 * The model: what every generation of a store should hold.
 * ------------------------------------------------------------------------ */

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

static void
entry_clear (Entry *e)
{
  g_bytes_unref (e->key);
  g_free (e->sha256);
}

static void
generation_free (Generation *g)
{
  g_array_unref (g->entries);
  g_free (g);
}

/* ngocdbt prints a key as UTF-8 when it is valid UTF-8 and as "hex:..."
 * otherwise. Keys here never hold a NUL in valid UTF-8 (JSON would carry
 * it as \u0000, which json-glib cuts off), never start with a byte-order
 * mark (TextDecoder drops it) and never start with "hex:". */
static char *
key_text (const guint8 *key,
          gsize         len)
{
  GString *s;

  if (memchr (key, 0, len) == NULL && g_utf8_validate_len ((const char *) key, len, NULL))
    return g_strndup ((const char *) key, len);
  s = g_string_new ("hex:");
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", key[i]);
  return g_string_free (s, FALSE);
}

/* The inverse of key_text, for keys ngocdbt printed. */
static GBytes *
key_from_text (const char *text)
{
  gsize len;
  guint8 *raw;

  if (!g_str_has_prefix (text, "hex:"))
    return g_bytes_new (text, strlen (text));
  text += 4;
  len = strlen (text) / 2;
  raw = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    raw[i] = (g_ascii_xdigit_value (text[2 * i]) << 4) | g_ascii_xdigit_value (text[2 * i + 1]);
  return g_bytes_new_take (raw, len);
}

/* A key for messages: quoted and escaped, or in hex. */
static char *
key_display (GBytes *key)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (key, &len);
  g_autofree char *text = key_text (data ? data : (const guint8 *) "", len);
  g_autofree char *escaped = NULL;

  if (g_str_has_prefix (text, "hex:"))
    return g_steal_pointer (&text);
  escaped = g_strescape (text, NULL);
  return g_strdup_printf ("\"%s\"", escaped);
}

static int
bytes_cmp (gconstpointer a,
           gconstpointer b,
           gpointer      user_data)
{
  gsize al, bl;
  const guint8 *ad = g_bytes_get_data ((GBytes *) a, &al);
  const guint8 *bd = g_bytes_get_data ((GBytes *) b, &bl);

  return cleave_ocdbt_key_cmp (ad ? ad : (const guint8 *) "", al, bd ? bd : (const guint8 *) "", bl);
}

/* ------------------------------------------------------------------------
 * Writing a store and its model together.
 * ------------------------------------------------------------------------ */

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

static gboolean
snapshot_entry (gpointer key,
                gpointer value,
                gpointer user_data)
{
  GArray *entries = user_data;
  Entry e = { g_bytes_ref (key), g_bytes_get_size (value),
              g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, value) };

  g_array_append_val (entries, e);
  return FALSE;
}

/* The model as generation @v. */
static void
record_generation (Writer                   *w,
                   const CleaveOcdbtVersion *v)
{
  Generation *g = g_new0 (Generation, 1);

  g->generation = v->generation;
  g->commit_time = v->commit_time;
  g->entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), g_tree_nnodes (w->model));
  g_array_set_clear_func (g->entries, (GDestroyNotify) entry_clear);
  g_tree_foreach (w->model, snapshot_entry, g->entries);
  g_ptr_array_add (w->generations, g);
  w->max_btree_height = MAX (w->max_btree_height, v->root_height);
}

static void
w_put (Writer       *w,
       const guint8 *key,
       gsize         key_len,
       GBytes       *value)
{
  cleave_ocdbt_txn_put_bytes (w->txn, key, key_len, value);
  g_tree_replace (w->model, g_bytes_new (key, key_len), g_bytes_ref (value));
  w->n_ops++;
}

/* Keys in [lo, hi); @hi NULL: every key from @lo on. The model applies
 * operations in order, as the transaction promises: the last one wins. */
static void
w_delete_range (Writer       *w,
                const guint8 *lo,
                gsize         lo_len,
                const guint8 *hi,
                gsize         hi_len)
{
  g_autoptr(GBytes) from = g_bytes_new (lo, lo_len);
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  cleave_ocdbt_txn_delete_range (w->txn, lo, lo_len, hi, hi_len);
  for (GTreeNode *n = g_tree_lower_bound (w->model, from); n != NULL; n = g_tree_node_next (n))
    {
      gsize kl;
      const guint8 *k = g_bytes_get_data (g_tree_node_key (n), &kl);

      if (hi != NULL && cleave_ocdbt_key_cmp (k ? k : (const guint8 *) "", kl, hi, hi_len) >= 0)
        break;
      g_ptr_array_add (doomed, g_bytes_ref (g_tree_node_key (n)));
    }
  for (guint i = 0; i < doomed->len; i++)
    g_tree_remove (w->model, doomed->pdata[i]);
  w->n_ops++;
}

static void
w_delete (Writer       *w,
          const guint8 *key,
          gsize         key_len)
{
  g_autoptr(GBytes) k = g_bytes_new (key, key_len);

  cleave_ocdbt_txn_delete (w->txn, key, key_len);
  g_tree_remove (w->model, k);
  w->n_ops++;
}

/* §6.4 of the spec, worked out independently of the writer: with every
 * generation 1..G present, the inline versions are the aligned leaf block
 * holding G, and each version-tree slot below it is one manifest node. */
static void
check_manifest_layout (Writer *w,
                       guint  *max_height)
{
  const CleaveOcdbtManifest *m = cleave_ocdbt_get_manifest (w->store);
  guint64 latest = cleave_ocdbt_get_version (w->store).generation;
  guint a = w->config.version_tree_arity_log2;
  guint64 first_inline = ((latest - 1) >> a << a) + 1;
  guint64 g = ((latest - 1) >> a) << a;
  g_autoptr(GArray) want = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));

  g_assert_cmpuint (m->versions->len, ==, latest - first_inline + 1);
  for (guint i = 0; i < m->versions->len; i++)
    g_assert_cmpuint (g_array_index (m->versions, CleaveOcdbtVersion, i).generation, ==, first_inline + i);
  for (guint h = 1; g != 0; h++)
    {
      guint shift = (h + 1) * a;
      guint64 next = shift >= 64 ? 0 : ((g - 1) >> shift) << shift;
      CleaveOcdbtVersionNodeRef ref = { .generation = g, .num_generations = g - next, .height = h };

      g_array_prepend_val (want, ref);
      g = next;
    }
  g_assert_cmpuint (m->version_nodes->len, ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      const CleaveOcdbtVersionNodeRef *got = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);
      const CleaveOcdbtVersionNodeRef *exp = &g_array_index (want, CleaveOcdbtVersionNodeRef, i);

      g_assert_cmpuint (got->height, ==, exp->height);
      g_assert_cmpuint (got->generation, ==, exp->generation);
      g_assert_cmpuint (got->num_generations, ==, exp->num_generations);
      *max_height = MAX (*max_height, got->height);
    }
}

static void
w_commit (Writer *w,
          guint  *max_vtree_height)
{
  g_autoptr(GError) error = NULL;
  CleaveOcdbtVersion before = cleave_ocdbt_get_version (w->store), after;
  guint64 gen = 0;

  g_assert_cmpuint (w->n_ops, >, 0);   /* an empty transaction commits nothing */
  g_assert_cmpuint (cleave_ocdbt_txn_get_n_ops (w->txn), ==, w->n_ops);
  g_assert_true (cleave_ocdbt_txn_commit (w->txn, &gen, &error));
  g_assert_no_error (error);
  after = cleave_ocdbt_get_version (w->store);
  g_assert_cmpuint (gen, ==, before.generation + 1);
  g_assert_cmpuint (after.generation, ==, gen);
  g_assert_cmpuint (after.commit_time, >, before.commit_time);
  g_assert_cmpuint (after.stats.num_keys, ==, g_tree_nnodes (w->model));
  record_generation (w, &after);
  check_manifest_layout (w, max_vtree_height);

  cleave_ocdbt_txn_free (w->txn);
  w->txn = cleave_ocdbt_txn_new (w->store);
  w->n_ops = 0;
}

static GBytes *
make_value (Writer *w,
            gsize   len)
{
  guint8 *data = g_malloc (len + 1);
  guint32 r = g_rand_int (w->rand);

  /* Half repetitive (zstd has something to do), half noise. */
  for (gsize i = 0; i < len; i++)
    data[i] = (r & 1) ? (guint8) ("segment:" [(i + r) % 8]) : (guint8) g_rand_int_range (w->rand, 0, 256);
  return g_bytes_new_take (data, len);
}

/* Value lengths around the inline limit, and a few others. */
static gsize
pick_length (Writer *w)
{
  gsize inl = w->config.max_inline_value_bytes;

  switch (g_rand_int_range (w->rand, 0, 8))
    {
    case 0:
      return 0;
    case 1:
      return inl > 0 ? inl - 1 : 1;
    case 2:
      return inl;
    case 3:
      return inl + 1;
    case 4:
      return g_rand_int_range (w->rand, 1, 16);
    case 5:
      return inl + g_rand_int_range (w->rand, 2, 600);
    default:
      return g_rand_int_range (w->rand, 0, inl + 2);
    }
}

static char *
chunk_key (guint scale,
           guint x,
           guint y,
           guint z)
{
  return g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u-%u_%u-%u", scale, scale, scale,
                          x * scale, (x + 1) * scale, y * scale, (y + 1) * scale, z * scale, (z + 1) * scale);
}

typedef struct
{
  guint scale, x, y, z;
} Chunk;

static Chunk
random_chunk (Writer *w)
{
  Chunk c;
  guint n;

  c.scale = g_rand_int_range (w->rand, 0, 4) == 0 ? 128 : 64;
  n = c.scale == 64 ? w->c->grid : MAX (w->c->grid / 2, 1);
  c.x = g_rand_int_range (w->rand, 0, n);
  c.y = g_rand_int_range (w->rand, 0, n);
  c.z = g_rand_int_range (w->rand, 0, n);
  return c;
}

static void
put_str (Writer     *w,
         const char *key,
         gsize       value_len)
{
  g_autoptr(GBytes) value = make_value (w, value_len);

  w_put (w, (const guint8 *) key, strlen (key), value);
}

static void
put_random (Writer     *w,
            const char *key)
{
  put_str (w, key, pick_length (w));
}

/* Keys besides chunks: an empty key, keys that are not UTF-8 (one with a
 * NUL right after a key the script deletes: [key, key "\0") must spare
 * it), non-ASCII UTF-8, and a key that is also a '/' directory. */
static const struct
{
  const char *key;
  gsize       len;
} special_keys[] = {
  { "", 0 },
  { "\xff\xfe", 2 },
  { "\xffk", 2 },
  { "\xffk\x00", 3 },
  { "\xffk\x00\x01", 4 },
  { "seg", 3 },
  { "seg/info", 8 },
  { "seg/\xc3\xa9t\xc3\xa9", 8 },
  { "~last", 5 },
};

static void
bulk_load (Writer *w,
           guint   scale,
           guint   n,
           guint   every)
{
  guint i = 0;

  for (guint x = 0; x < n; x++)
    for (guint y = 0; y < n; y++)
      for (guint z = 0; z < n; z++)
        if (i++ % every == 0)
          {
            g_autofree char *key = chunk_key (scale, x, y, z);
            put_random (w, key);
          }
}

static void
delete_range_str (Writer     *w,
                  const char *lo,
                  const char *hi)
{
  w_delete_range (w, (const guint8 *) lo, strlen (lo), (const guint8 *) hi, hi ? strlen (hi) : 0);
}

/* Small random transactions, the steady state of proofreading. Ranges
 * stay narrow (a few chunks, or one x column) so the store keeps its
 * thousands of keys; wide ones come from the scripted generations. */
static void
random_ops (Writer *w,
            guint   n_ops)
{
  for (guint i = 0; i < n_ops; i++)
    {
      Chunk c = random_chunk (w);
      g_autofree char *key = chunk_key (c.scale, c.x, c.y, c.z);

      switch (g_rand_int_range (w->rand, 0, 12))
        {
        case 0: case 1: case 2: case 3:
          put_random (w, key);               /* new or overwrite */
          break;
        case 4: case 5:
          w_delete (w, (const guint8 *) key, strlen (key));   /* present or not */
          break;
        case 6:
          {
            /* Between two chunks of one (x, y) row, in key order; the same
             * chunk twice is an empty range, an operation that changes
             * nothing. */
            g_autofree char *other = chunk_key (c.scale, c.x, c.y, g_rand_int_range (w->rand, 0, w->c->grid));
            const char *lo = strcmp (key, other) < 0 ? key : other;

            delete_range_str (w, lo, lo == key ? other : key);
            break;
          }
        case 7:
          /* Put, then delete, in one transaction: the delete wins. */
          put_random (w, key);
          w_delete (w, (const guint8 *) key, strlen (key));
          break;
        case 8:
          /* Delete, then put: the put wins. */
          w_delete (w, (const guint8 *) key, strlen (key));
          put_random (w, key);
          break;
        case 9:
          {
            /* One row, [seg/S_S_S/X0-X1_Y0-, seg/S_S_S/X0-X1_Y0.): every
             * key with that prefix. Then a put inside it. */
            g_autofree char *lo = g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u-", c.scale, c.scale, c.scale,
                                                   c.x * c.scale, (c.x + 1) * c.scale, c.y * c.scale);
            g_autofree char *hi = g_strdup_printf ("seg/%u_%u_%u/%u-%u_%u.", c.scale, c.scale, c.scale,
                                                   c.x * c.scale, (c.x + 1) * c.scale, c.y * c.scale);

            delete_range_str (w, lo, hi);
            put_random (w, key);
            break;
          }
        case 10:
          /* Overwrite with the same length: only the bytes change. */
          {
            g_autoptr(GBytes) k = g_bytes_new (key, strlen (key));
            GBytes *old = g_tree_lookup (w->model, k);

            put_str (w, key, old ? g_bytes_get_size (old) : w->config.max_inline_value_bytes);
            break;
          }
        default:
          {
            /* A range with puts at its lower bound, inside and past it. */
            g_autofree char *hi = chunk_key (c.scale, c.x, MIN (c.y + 1, w->c->grid), c.z);
            g_autofree char *inside = chunk_key (c.scale, c.x, c.y, (c.z + 1) % w->c->grid);
            const char *lo = strcmp (key, hi) < 0 ? key : hi;
            const char *up = lo == key ? hi : key;

            delete_range_str (w, lo, up);
            put_random (w, lo);
            put_random (w, inside);
            put_random (w, up);
            break;
          }
        }
    }
}

/* Every key the store holds: one in five rewritten, one in seven
 * deleted. On a tensorstore-written store this reaches into its subtrees,
 * whose keys are relative to their common prefix. */
static void
touch_existing (Writer *w)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
    g_ptr_array_add (keys, g_bytes_ref (g_tree_node_key (node)));
  for (guint i = 0; i < keys->len; i++)
    {
      gsize len;
      const guint8 *k = g_bytes_get_data (keys->pdata[i], &len);

      k = k ? k : (const guint8 *) "";
      if (i % 7 == 3)
        w_delete (w, k, len);
      else if (i % 5 == 0)
        {
          g_autoptr(GBytes) value = make_value (w, pick_length (w));

          w_put (w, k, len, value);
        }
    }
}

/* Ranges that the writer merges: overlapping, touching, nested, empty,
 * one from the start of the key space; puts between them, which a later
 * range removes and an earlier one does not. Bounds are keys the store
 * holds, picked by rank. */
static void
range_mix (Writer *w)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_free);
  guint m;

  for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
    {
      gsize len;
      const guint8 *k = g_bytes_get_data (g_tree_node_key (node), &len);

      /* Chunk keys only: they are text. */
      if (len > 4 && memcmp (k, "seg/", 4) == 0 && g_ascii_isdigit (k[4]))
        g_ptr_array_add (keys, g_strndup ((const char *) k, len));
    }
  m = keys->len;
  g_assert_cmpuint (m, >=, 20);
#define K(i) ((const char *) keys->pdata[MIN ((guint) (i), m - 1)])
  delete_range_str (w, "", K (1));                       /* from the start */
  delete_range_str (w, K (m / 10), K (m / 5));
  put_str (w, K (m / 10 + 1), 3);                        /* survives */
  delete_range_str (w, K (m / 7), K (m / 4));            /* overlaps */
  delete_range_str (w, K (m / 4), K (m / 3));            /* touches */
  put_str (w, K (m / 2 + 1), 4);                         /* the nested range removes it */
  delete_range_str (w, K (m / 2), K (m / 2 + 9));
  delete_range_str (w, K (m / 2 + 1), K (m / 2 + 3));    /* nested */
  put_str (w, K (m / 2 + 2), 5);                         /* survives */
  delete_range_str (w, K (2 * m / 3), K (2 * m / 3));    /* empty */
  delete_range_str (w, K (m - 2), K (m / 2 + 10));       /* reversed: empty */
#undef K
}

/* The script of commit @g of @n: the first commit is 2, as it makes
 * generation 2 of a new store. */
static void
write_generation (Writer *w,
                  guint   g,
                  guint   n)
{
  const StoreCase *c = w->c;
  guint wipe_each, wipe_all;

  if (c->golden != NULL)
    {
      if (g == 2)
        {
          /* Into tensorstore's "baz/" subtree, before its first key, and
           * over its keys. */
          put_str (w, "baz/y", w->config.max_inline_value_bytes + 1);
          put_str (w, "!", 1);
          touch_existing (w);
          return;
        }
      if (g == 3)
        {
          delete_range_str (w, "baz/", "baz/z");
          put_str (w, "baz/0", 0);
        }
      /* Then the script of a new store, one commit later. */
      g--;
      n--;
    }
  wipe_each = MAX (n / 3, 10);
  wipe_all = MAX (2 * n / 3, wipe_each + 5);
  g_assert_cmpuint (n, >, wipe_all + 4);

  if (g == 2)
    {
      /* Bulk load: every chunk at 64^3, every fourth at 128^3. */
      bulk_load (w, 64, c->grid, 1);
      bulk_load (w, 128, MAX (c->grid / 2, 1), 4);
      return;
    }
  if (g == 3)
    {
      g_autofree char *filler = g_strnfill (2000, 'k');
      g_autofree char *long_key = g_strconcat ("seg/long/", filler, NULL);

      for (guint i = 0; i < G_N_ELEMENTS (special_keys); i++)
        {
          g_autoptr(GBytes) value = make_value (w, pick_length (w));

          w_put (w, (const guint8 *) special_keys[i].key, special_keys[i].len, value);
        }
      /* Longer than many of the nodes it goes into. */
      put_random (w, long_key);
      return;
    }
  if (g == 4)
    {
      touch_existing (w);
      /* [\xffk, \xffk\0) holds \xffk alone. */
      w_delete (w, (const guint8 *) "\xffk", 2);
      random_ops (w, 3);
      return;
    }
  if (g == 5)
    {
      w_delete (w, (const guint8 *) "", 0);
      put_str (w, "seg/info", w->config.max_inline_value_bytes + 1);
      return;
    }
  if (c->big_value && (g == 6 || g == 7))
    {
      /* Past the writer's 4 MiB buffer, then overwritten by one just below. */
      put_str (w, "seg/big", g == 6 ? (5u << 20) + 3 : (4u << 20) - 1);
      return;
    }
  if (c->big_value && g == 9)
    {
      w_delete (w, (const guint8 *) "seg/big", 7);
      return;
    }
  if (g == wipe_each)
    {
      /* Every key deleted one by one, and two put back in the same
       * transaction after their delete. */
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

      for (GTreeNode *node = g_tree_node_first (w->model); node != NULL; node = g_tree_node_next (node))
        g_ptr_array_add (keys, g_bytes_ref (g_tree_node_key (node)));
      for (guint i = 0; i < keys->len; i++)
        {
          gsize len;
          const guint8 *k = g_bytes_get_data (keys->pdata[i], &len);

          w_delete (w, k ? k : (const guint8 *) "", len);
        }
      put_str (w, "seg/info", 0);
      put_str (w, "seg/64_64_64/0-64_0-64_0-64", w->config.max_inline_value_bytes);
      return;
    }
  if (g == wipe_each + 1)
    {
      bulk_load (w, 64, c->grid, 1);
      return;
    }
  if (g == wipe_each + 2)
    {
      range_mix (w);
      return;
    }
  if (g == wipe_all)
    {
      /* One operation deleting everything: an empty tree. */
      w_delete_range (w, (const guint8 *) "", 0, NULL, 0);
      return;
    }
  if (g == wipe_all + 1)
    {
      /* A delete on an empty tree still commits a generation. */
      w_delete (w, (const guint8 *) "seg/info", 8);
      return;
    }
  if (g == wipe_all + 2)
    {
      bulk_load (w, 64, c->grid, 1);
      bulk_load (w, 128, MAX (c->grid / 2, 1), 2);
      return;
    }
  if (g == wipe_all + 3)
    {
      /* Everything from a key on, to the end of the key space: the
       * last x column (in key order) and the keys after "seg/64...". */
      g_autofree char *key = chunk_key (64, c->grid - 1, g_rand_int_range (w->rand, 0, c->grid), 0);

      delete_range_str (w, key, NULL);
      put_str (w, "~last", 1);
      return;
    }
  if (g % 10 == 0)
    {
      /* A large batch: a fifth of the key space rewritten. */
      random_ops (w, MAX (c->grid * c->grid * c->grid / 5, 8));
      return;
    }
  random_ops (w, g_rand_int_range (w->rand, 1, 12));
}

static void
copy_dir (const char *src,
          const char *dst)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (src, 0, &error);
  const char *name;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src, name, NULL);
      g_autofree char *to = g_build_filename (dst, name, NULL);
      g_autofree char *data = NULL;
      gsize len;

      if (g_file_test (from, G_FILE_TEST_IS_DIR))
        {
          copy_dir (from, to);
          continue;
        }
      g_assert_true (g_file_get_contents (from, &data, &len, &error));
      g_assert_true (g_file_set_contents (to, data, len, &error));
    }
}

typedef struct
{
  CleaveOcdbt *pin;
  GTree       *model;
  GError      *error;
} Seed;

static gboolean
seed_entry (const guint8 *key,
            gsize         key_len,
            guint64       value_len,
            gpointer      user_data)
{
  Seed *seed = user_data;
  GBytes *value = NULL;

  if (!cleave_ocdbt_get (seed->pin, key, key_len, &value, &seed->error))
    return FALSE;
  g_assert_nonnull (value);
  g_assert_cmpuint (g_bytes_get_size (value), ==, value_len);
  g_tree_replace (seed->model, g_bytes_new (key, key_len), value);
  return TRUE;
}

/* The generations tensorstore wrote, as libcleave reads them: tests/core
 * checks that reading against the golden *.expected.json. */
static void
seed_from_store (Writer *w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) versions = cleave_ocdbt_list_versions (w->store, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < versions->len; i++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      g_autoptr(CleaveOcdbt) pin = cleave_ocdbt_pin_generation (w->store, v->generation, &error);
      Seed seed = { pin, w->model, NULL };

      g_assert_no_error (error);
      g_tree_remove_all (w->model);
      g_assert_true (cleave_ocdbt_list (pin, NULL, 0, NULL, 0, seed_entry, &seed, &seed.error) || seed.error);
      g_assert_no_error (seed.error);
      record_generation (w, v);
    }
}

static Writer *
writer_new (const StoreCase *c)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = cleave_test_tmpdir ();
  Writer *w = g_new0 (Writer, 1);

  w->c = c;
  w->dir = g_build_filename (tmp, c->name, NULL);
  w->model = g_tree_new_full (bytes_cmp, NULL, (GDestroyNotify) g_bytes_unref,
                              (GDestroyNotify) g_bytes_unref);
  w->generations = g_ptr_array_new_with_free_func ((GDestroyNotify) generation_free);
  w->rand = g_rand_new_with_seed (g_str_hash (c->name));
  if (c->golden != NULL)
    {
      g_autofree char *golden = cleave_test_shared_path ("testdata", "ocdbt", c->golden, NULL);

      copy_dir (golden, w->dir);
      w->store = cleave_ocdbt_open (w->dir, &error);
      g_assert_no_error (error);
      w->config = *cleave_ocdbt_get_config (w->store);
      seed_from_store (w);
    }
  else
    {
      CleaveOcdbtVersion first;

      cleave_ocdbt_config_init_default (&w->config);
      w->config.max_inline_value_bytes = c->max_inline_value_bytes;
      w->config.max_decoded_node_bytes = c->max_decoded_node_bytes;
      w->config.version_tree_arity_log2 = c->arity_log2;
      w->config.compression = c->compression;
      w->config.zstd_level = c->zstd_level;
      w->store = cleave_ocdbt_create (w->dir, &w->config, &error);
      g_assert_no_error (error);
      first = cleave_ocdbt_get_version (w->store);
      g_assert_cmpuint (first.generation, ==, 1);
      record_generation (w, &first);
    }
  /* The format is the same with or without fsync; skipping it keeps a
   * few hundred commits quick. */
  cleave_ocdbt_set_sync (w->store, FALSE);
  w->txn = cleave_ocdbt_txn_new (w->store);
  return w;
}

static void
writer_free (Writer *w)
{
  cleave_ocdbt_txn_free (w->txn);
  cleave_ocdbt_unref (w->store);
  g_tree_unref (w->model);
  g_ptr_array_unref (w->generations);
  g_rand_free (w->rand);
  g_free (w->dir);
  g_free (w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Writer, writer_free)

/* ------------------------------------------------------------------------
 * Comparing ngocdbt's reading with the model.
 * ------------------------------------------------------------------------ */

typedef struct
{
  const char *store;
  GString    *report;
  guint       n;
} Problems;

static void problem (Problems *p, guint64 generation, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
problem (Problems   *p,
         guint64     generation,
         const char *format,
         ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (p->n++ >= MAX_PROBLEMS)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (generation > 0)
    g_string_append_printf (p->report, "store '%s' generation %" G_GUINT64_FORMAT ": %s\n",
                            p->store, generation, text);
  else
    g_string_append_printf (p->report, "store '%s': %s\n", p->store, text);
}

typedef struct
{
  CleaveOcdbt *store;
  GArray      *want;
  guint        i;
  gboolean     same;
} CleaveCheck;

static gboolean
cleave_check_entry (const guint8 *key,
                    gsize         key_len,
                    guint64       value_len,
                    gpointer      user_data)
{
  CleaveCheck *cc = user_data;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GBytes) k = g_bytes_new (key, key_len);
  g_autofree char *sha = NULL;
  const Entry *e;

  if (cc->i >= cc->want->len || !cleave_ocdbt_get (cc->store, key, key_len, &value, NULL) || value == NULL)
    return cc->same = FALSE;
  e = &g_array_index (cc->want, Entry, cc->i++);
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, value);
  cc->same = bytes_cmp (k, e->key, NULL) == 0 && e->size == value_len && strcmp (sha, e->sha256) == 0;
  return cc->same;
}

/* For a failure message: whether libcleave's own reader agrees with the
 * model, i.e. whether the two readers disagree about the same bytes. */
static const char *
cleave_verdict (Writer           *w,
                const Generation *gen)
{
  g_autoptr(CleaveOcdbt) pin = cleave_ocdbt_pin_generation (w->store, gen->generation, NULL);
  CleaveCheck cc = { pin, gen->entries, 0, TRUE };

  if (pin == NULL)
    return "libcleave's own reader cannot open this generation either";
  if (!cleave_ocdbt_list (pin, NULL, 0, NULL, 0, cleave_check_entry, &cc, NULL))
    cc.same = FALSE;
  if (cc.same && cc.i == gen->entries->len)
    return "libcleave's own reader agrees with the model";
  return "libcleave's own reader differs from the model too";
}

static void
compare_generation (Writer           *w,
                    Problems         *p,
                    const Generation *want,
                    JsonObject       *got)
{
  JsonNode *node = json_object_get_member (got, "entries");
  JsonArray *entries = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n_got = entries ? json_array_get_length (entries) : 0;
  guint before = p->n;
  guint i = 0, j = 0;

  if (entries == NULL)
    {
      problem (p, want->generation, "ngocdbt printed no entries array");
      return;
    }
  while (i < want->entries->len || j < n_got)
    {
      const Entry *e = i < want->entries->len ? &g_array_index (want->entries, Entry, i) : NULL;
      JsonNode *o_node = j < n_got ? json_array_get_element (entries, j) : NULL;
      JsonObject *o = o_node && JSON_NODE_HOLDS_OBJECT (o_node) ? json_node_get_object (o_node) : NULL;
      const char *text = o ? json_object_get_string_member_with_default (o, "key", NULL) : NULL;
      g_autoptr(GBytes) key = text ? key_from_text (text) : NULL;
      int cmp;

      if (o_node != NULL && text == NULL)
        {
          problem (p, want->generation, "ngocdbt entry %u has no key", j);
          j++;
          continue;
        }
      cmp = e == NULL ? 1 : o_node == NULL ? -1 : bytes_cmp (e->key, key, NULL);
      if (cmp < 0)
        {
          g_autofree char *d = key_display (e->key);
          problem (p, want->generation, "key %s (%" G_GUINT64_FORMAT " bytes): written by Cleave, "
                   "missing from ngocdbt's listing", d, e->size);
          i++;
        }
      else if (cmp > 0)
        {
          g_autofree char *d = key_display (key);
          problem (p, want->generation, "key %s: listed by ngocdbt (%" G_GINT64_FORMAT " bytes), "
                   "but Cleave never wrote it or deleted it", d,
                   json_object_get_int_member_with_default (o, "size", -1));
          j++;
        }
      else
        {
          gint64 size = json_object_get_int_member_with_default (o, "size", -1);
          const char *sha = json_object_get_string_member_with_default (o, "sha256", "");

          if (size < 0 || (guint64) size != e->size || strcmp (sha, e->sha256) != 0)
            {
              g_autofree char *d = key_display (e->key);
              problem (p, want->generation, "key %s: ngocdbt reads %" G_GINT64_FORMAT " bytes (sha256 %s), "
                       "Cleave wrote %" G_GUINT64_FORMAT " bytes (sha256 %s)",
                       d, size, sha, e->size, e->sha256);
            }
          i++;
          j++;
        }
    }
  if (p->n > before)
    problem (p, want->generation, "%u entries written, %u read by ngocdbt; %s",
             want->entries->len, n_got, cleave_verdict (w, want));
}

/* ls-all reads every generation or nothing: find the first one that
 * ngocdbt cannot read on its own, to name it. */
static void
locate_unreadable (Writer   *w,
                   Problems *p)
{
  for (guint i = 0; i < w->generations->len; i++)
    {
      const Generation *gen = w->generations->pdata[i];
      g_autofree char *version = g_strdup_printf ("%" G_GUINT64_FORMAT, gen->generation);
      const char *argv[] = { node_program, ngocdbt_script, w->dir, "ls", "--version", version, NULL };
      g_autoptr(GError) error = NULL;
      g_auto(Run) run = { 0 };

      g_assert_true (run_argv (&run, argv, NULL, NGOCDBT_TIMEOUT_S, &error));
      if (run.status != 0)
        {
          g_autofree char *tail = stderr_tail (run.err, 2000);
          problem (p, gen->generation, "ngocdbt cannot read it (ls --version %s, status %d): %s; %s",
                   version, run.status, tail, cleave_verdict (w, gen));
          return;
        }
    }
  problem (p, 0, "every generation reads alone with ls --version, but ls-all fails");
}

static void
compare_with_ngocdbt (Writer   *w,
                      Problems *p)
{
  const char *argv[] = { node_program, ngocdbt_script, w->dir, "ls-all", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) versions = NULL;
  g_auto(Run) run = { 0 };
  JsonArray *gens;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (run_argv (&run, argv, NULL, NGOCDBT_TIMEOUT_S, &error));
  g_test_message ("interop: %s: ngocdbt ls-all took %.1f s, %zu bytes of JSON", w->c->name,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, g_bytes_get_size (run.out));
  if (run.timed_out)
    {
      problem (p, 0, "ngocdbt ls-all did not finish in %d s", NGOCDBT_TIMEOUT_S);
      return;
    }
  if (run.status != 0)
    {
      g_autofree char *tail = stderr_tail (run.err, 2000);
      problem (p, 0, "ngocdbt ls-all failed (status %d): %s", run.status, tail);
      locate_unreadable (w, p);
      return;
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (run.out, NULL), g_bytes_get_size (run.out),
                                   &error) ||
      !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    {
      problem (p, 0, "ngocdbt ls-all printed no JSON array: %s", error ? error->message : "another value");
      return;
    }
  gens = json_node_get_array (json_parser_get_root (parser));

  /* Generations and commit times: the model, libcleave and ngocdbt. */
  versions = cleave_ocdbt_list_versions (w->store, &error);
  g_assert_no_error (error);
  if (versions->len != w->generations->len)
    problem (p, 0, "libcleave lists %u versions, %u were committed", versions->len, w->generations->len);
  if (json_array_get_length (gens) != w->generations->len)
    problem (p, 0, "ngocdbt lists %u generations, %u were committed",
             json_array_get_length (gens), w->generations->len);

  for (guint i = 0; i < w->generations->len && i < json_array_get_length (gens); i++)
    {
      const Generation *want = w->generations->pdata[i];
      JsonNode *got_node = json_array_get_element (gens, i);
      JsonObject *got = JSON_NODE_HOLDS_OBJECT (got_node) ? json_node_get_object (got_node) : NULL;
      gint64 number = got ? json_object_get_int_member_with_default (got, "generation", -1) : -1;
      const char *time_text =
        got ? json_object_get_string_member_with_default (got, "commit_time_ns", "") : "";
      guint64 time = g_ascii_strtoull (time_text, NULL, 10);

      if (got == NULL)
        {
          problem (p, want->generation, "ngocdbt's entry %u is not an object", i);
          continue;
        }
      if (i < versions->len)
        {
          const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);

          if (v->generation != want->generation || v->commit_time != want->commit_time)
            problem (p, want->generation, "libcleave lists generation %" G_GUINT64_FORMAT " committed at "
                     "%" G_GUINT64_FORMAT " ns, the commit said %" G_GUINT64_FORMAT " ns",
                     v->generation, v->commit_time, want->commit_time);
        }
      if (number < 0 || (guint64) number != want->generation)
        {
          problem (p, want->generation, "ngocdbt's version %u is generation %" G_GINT64_FORMAT,
                   i + 1, number);
          continue;
        }
      if (time != want->commit_time)
        problem (p, want->generation, "ngocdbt reads commit time %s ns, Cleave wrote %" G_GUINT64_FORMAT
                 " ns", time_text, want->commit_time);
      compare_generation (w, p, want, got);
    }
}

static void
test_interop_store (gconstpointer data)
{
  const StoreCase *c = data;
  g_autoptr(Writer) w = NULL;
  Problems p = { c->name, g_string_new (NULL), 0 };
  guint max_vtree_height = 0;
  guint64 n_entries = 0;
  guint max_keys = 0;
  gint64 start;

  if (!require_ngocdbt ())
    return;

  start = g_get_monotonic_time ();
  w = writer_new (c);
  for (guint g = 2; g <= c->n_commits + 1; g++)
    {
      write_generation (w, g, c->n_commits + 1);
      w_commit (w, &max_vtree_height);
    }
  for (guint i = 0; i < w->generations->len; i++)
    {
      guint len = ((Generation *) w->generations->pdata[i])->entries->len;

      n_entries += len;
      max_keys = MAX (max_keys, len);
    }
  g_test_message ("interop: %s: %u generations of up to %u keys, %" G_GUINT64_FORMAT " entries in all, "
                  "B+tree height up to %u, version tree height %u; written in %.1f s", c->name,
                  w->generations->len, max_keys, n_entries, w->max_btree_height, max_vtree_height,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  /* What the case is for: deep trees, version-tree interior nodes. */
  g_assert_cmpuint (w->max_btree_height, >=, c->min_btree_height);
  g_assert_cmpuint (max_vtree_height, >=, c->min_vtree_height);

  compare_with_ngocdbt (w, &p);
  if (p.n > 0)
    {
      if (p.n > MAX_PROBLEMS)
        g_string_append_printf (p.report, "... and %u more\n", p.n - MAX_PROBLEMS);
      g_string_truncate (p.report, p.report->len - 1);
      g_test_message ("%s", p.report->str);
      g_test_fail_printf ("store '%s' reads differently through ngocdbt (%u problems; "
                          "CLEAVE_TEST_KEEP=1 keeps %s); first: %.*s", c->name, p.n, w->dir,
                          (int) strcspn (p.report->str, "\n"), p.report->str);
    }
  g_string_free (p.report, TRUE);
}

/* Stores written from scratch (generation 1 empty, then n_commits), and
 * tensorstore's golden stores with Cleave's commits on top. */
static const StoreCase cases[] = {
  /* Thousands of chunk keys, zstd, tensorstore's default version tree
   * arity 16; values past the writer's 4 MiB buffer. */
  { .name = "chunks-zstd-4k", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 4096,
    .arity_log2 = 4, .compression = 1, .zstd_level = 0, .n_commits = 47, .grid = 13, .big_value = TRUE,
    .min_btree_height = 2, .min_vtree_height = 1 },
  /* Uncompressed small nodes, arity 4. */
  { .name = "chunks-raw-256", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 256,
    .arity_log2 = 2, .compression = 0, .n_commits = 44, .grid = 10,
    .min_btree_height = 5, .min_vtree_height = 2 },
  /* One entry per leaf and two children per interior node; arity 2. */
  { .name = "nodes-1-byte", .max_inline_value_bytes = 8, .max_decoded_node_bytes = 1,
    .arity_log2 = 1, .compression = 1, .zstd_level = 3, .n_commits = 39, .grid = 6,
    .min_btree_height = 6, .min_vtree_height = 4 },
  /* Every non-empty value out of line; zstd at a high level. */
  { .name = "inline-0", .max_inline_value_bytes = 0, .max_decoded_node_bytes = 512,
    .arity_log2 = 2, .compression = 1, .zstd_level = 19, .n_commits = 39, .grid = 8, .big_value = TRUE,
    .min_btree_height = 3, .min_vtree_height = 2 },
  /* §6.4's worked example: arity 2 over 200 generations, nodes of heights 6 to 1. */
  { .name = "vtree-arity-2", .max_inline_value_bytes = 16, .max_decoded_node_bytes = 1024,
    .arity_log2 = 1, .compression = 0, .n_commits = 199, .grid = 4,
    .min_btree_height = 1, .min_vtree_height = 6 },
  /* Arity 16 past 256 generations: a height-2 version node; a negative
   * (fast) zstd level. */
  { .name = "vtree-arity-16", .max_inline_value_bytes = 100, .max_decoded_node_bytes = 8u << 20,
    .arity_log2 = 4, .compression = 1, .zstd_level = -5, .n_commits = 299, .grid = 5,
    .min_btree_height = 0, .min_vtree_height = 2 },
  /* tensorstore's height-3 tree of one-entry leaves, whose subtrees hold
   * keys relative to their common prefix (subtree_common_prefix_length up
   * to 5): Cleave's commits keep some of them as they are. */
  { .name = "on-files-min-arity", .golden = "files_min_arity.ocdbt", .n_commits = 30, .grid = 4,
    .min_btree_height = 3, .min_vtree_height = 1 },
  /* 200 generations and a version node of tensorstore's, continued to
   * 280: a height-2 node over tensorstore's and Cleave's. */
  { .name = "on-multi-version", .golden = "multi_version_high_arity.ocdbt", .n_commits = 80, .grid = 3,
    .min_btree_height = 0, .min_vtree_height = 2 },
};

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/interop/ngocdbt/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_interop_store);
    }
  return g_test_run ();
}
