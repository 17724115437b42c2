/* interop-ngocdbt.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reading side of the interop test: neuroglancer's OCDBT decoder, run
 * under Node.js by the shared tools/ngocdbt over the stores test-interop.c
 * writes, and its listing compared with their model.
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

#include "interop.h"
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
gboolean
interop_require_ngocdbt (void)
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
 * Comparing ngocdbt's reading with the model.
 * ------------------------------------------------------------------------ */

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
  cc->same = interop_bytes_cmp (k, e->key, NULL) == 0 && e->size == value_len && strcmp (sha, e->sha256) == 0;
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
      cmp = e == NULL ? 1 : o_node == NULL ? -1 : interop_bytes_cmp (e->key, key, NULL);
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

void
interop_compare_with_ngocdbt (Writer   *w,
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
