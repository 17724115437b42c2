/* cleavectl-kv.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl kv: look inside an OCDBT store.
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include <stdio.h>
#include <string.h>

#include "cleave-ocdbt.h"
#include "cleave-ocdbt-writer.h"

#include <errno.h>
#include <unistd.h>

static char *opt_prefix;
static gboolean opt_wipe;
static gint64 opt_version = -1;
static char *opt_at;

static GOptionEntry pin_entries[] = {
  { "version", 0, 0, G_OPTION_ARG_INT64, &opt_version, "Read generation N instead of the latest", "N" },
  { "at", 0, 0, G_OPTION_ARG_STRING, &opt_at, "Read the newest version committed at or before this time", "ISO8601" },
  { NULL }
};

static GOptionEntry ls_entries[] = {
  { "prefix", 0, 0, G_OPTION_ARG_STRING, &opt_prefix, "List only keys that start with P", "P" },
  { "version", 0, 0, G_OPTION_ARG_INT64, &opt_version, "List generation N instead of the latest", "N" },
  { "at", 0, 0, G_OPTION_ARG_STRING, &opt_at, "List the newest version committed at or before this time", "ISO8601" },
  { NULL }
};

/* Opens STORE, pinned to --version or --at when given. */
static CleaveOcdbt *
open_store (const char *path,
            GError    **error)
{
  g_autoptr(CleaveOcdbt) store = NULL;

  if (opt_version >= 0 && opt_at != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "give --version or --at, not both");
      return NULL;
    }
  store = cleave_ocdbt_open_spec (path, error);
  if (store == NULL)
    return NULL;
  if (opt_version >= 0)
    return cleave_ocdbt_pin_generation (store, opt_version, error);
  if (opt_at != NULL)
    {
      guint64 t = cleave_ocdbt_parse_time (opt_at, error);
      if (t == 0)
        return NULL;
      return cleave_ocdbt_pin_time (store, t, error);
    }
  return g_steal_pointer (&store);
}

/* JSON strings must be UTF-8; other keys are shown as hex, as ngocdbt does. */
static char *
printable_key (const guint8 *key,
               gsize         len)
{
  GString *s;

  if (g_utf8_validate ((const char *) key, len, NULL) && memchr (key, '\0', len) == NULL)
    return g_strndup ((const char *) key, len);
  s = g_string_new ("hex:");
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", key[i]);
  return g_string_free (s, FALSE);
}

typedef struct
{
  JsonBuilder *builder;
} LsState;

static gboolean
ls_entry (const guint8 *key,
          gsize         key_len,
          guint64       value_len,
          gpointer      user_data)
{
  LsState *st = user_data;
  g_autofree char *k = printable_key (key, key_len);

  if (st->builder)
    {
      json_builder_begin_object (st->builder);
      json_builder_set_member_name (st->builder, "key");
      json_builder_add_string_value (st->builder, k);
      json_builder_set_member_name (st->builder, "size");
      json_builder_add_int_value (st->builder, value_len);
      json_builder_end_object (st->builder);
    }
  else
    printf ("%s\t%" G_GUINT64_FORMAT "\n", k, value_len);
  return TRUE;
}

static int
run_ls (const CleavectlCommand *command,
        char                  **args,
        guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = open_store (args[0], &error);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree guint8 *hi = NULL;
  gsize lo_len = 0, hi_len = 0;
  LsState st = { NULL };

  if (store == NULL)
    return cleavectl_fail (command, error);

  /* A prefix is the range [P, P') where P' is P with its last byte below
   * 0xff incremented and the bytes after it dropped. */
  if (opt_prefix)
    {
      lo_len = strlen (opt_prefix);
      hi = g_memdup2 (opt_prefix, lo_len + 1);
      hi_len = lo_len;
      while (hi_len > 0 && hi[hi_len - 1] == 0xff)
        hi_len--;
      if (hi_len > 0)
        hi[hi_len - 1]++;
      else
        g_clear_pointer (&hi, g_free);
    }

  if (cleavectl_json)
    {
      builder = json_builder_new ();
      json_builder_begin_array (builder);
      st.builder = builder;
    }
  if (!cleave_ocdbt_list (store, (const guint8 *) opt_prefix, lo_len, hi, hi_len, ls_entry, &st, &error))
    return cleavectl_fail (command, error);
  if (builder)
    {
      g_autoptr(JsonNode) root = NULL;
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

static int
run_get (const CleavectlCommand *command,
         char                  **args,
         guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = open_store (args[0], &error);
  g_autoptr(GBytes) value = NULL;
  gsize len;
  const guint8 *data;

  if (store == NULL)
    return cleavectl_fail (command, error);
  if (!cleave_ocdbt_get (store, (const guint8 *) args[1], strlen (args[1]), &value, &error))
    return cleavectl_fail (command, error);
  if (value == NULL)
    {
      g_set_error (&error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no key '%s' in generation %" G_GUINT64_FORMAT, args[0], args[1],
                   cleave_ocdbt_get_version (store).generation);
      return cleavectl_fail (command, error);
    }
  data = g_bytes_get_data (value, &len);
  if (len > 0)
    fwrite (data, 1, len, stdout);
  return CLEAVECTL_EXIT_OK;
}

static int
run_versions (const CleavectlCommand *command,
              char                  **args,
              guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = open_store (args[0], &error);
  g_autoptr(GArray) versions = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  if (store == NULL)
    return cleavectl_fail (command, error);
  versions = cleave_ocdbt_list_versions (store, &error);
  if (versions == NULL)
    return cleavectl_fail (command, error);

  json_builder_begin_array (builder);
  for (guint i = 0; i < versions->len; i++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, i);
      g_autofree char *when = cleave_ocdbt_format_time (v->commit_time);

      if (cleavectl_json)
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "generation");
          json_builder_add_int_value (builder, v->generation);
          json_builder_set_member_name (builder, "commit_time");
          json_builder_add_string_value (builder, when);
          json_builder_set_member_name (builder, "commit_time_ns");
          json_builder_add_int_value (builder, v->commit_time);
          json_builder_set_member_name (builder, "num_keys");
          json_builder_add_int_value (builder, v->stats.num_keys);
          json_builder_end_object (builder);
        }
      else
        printf ("%" G_GUINT64_FORMAT "\t%s\t%" G_GUINT64_FORMAT " keys\n", v->generation, when, v->stats.num_keys);
    }
  json_builder_end_array (builder);
  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);
      cleavectl_print_json (root);
    }
  return CLEAVECTL_EXIT_OK;
}

typedef struct
{
  JsonBuilder *problems;
  guint        count;
} CheckReport;

static void
report_problem (guint64       generation,
                const GError *problem,
                gpointer      user_data)
{
  CheckReport *report = user_data;

  report->count++;
  json_builder_begin_object (report->problems);
  json_builder_set_member_name (report->problems, "generation");
  json_builder_add_int_value (report->problems, generation);
  json_builder_set_member_name (report->problems, "message");
  json_builder_add_string_value (report->problems, problem->message);
  json_builder_end_object (report->problems);
  if (!cleavectl_json)
    g_printerr ("cleavectl: kv check: generation %" G_GUINT64_FORMAT ": %s\n", generation, problem->message);
}

static int
run_check (const CleavectlCommand *command,
           char                  **args,
           guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = open_store (args[0], &error);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  CheckReport report = { builder, 0 };
  guint64 n_versions = 0, n_keys = 0;

  if (store == NULL)
    return cleavectl_fail (command, error);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "problems");
  json_builder_begin_array (builder);
  if (!cleave_ocdbt_check (store, report_problem, &report, &n_versions, &n_keys, &error))
    return cleavectl_fail (command, error);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "generations");
  json_builder_add_int_value (builder, n_versions);
  json_builder_set_member_name (builder, "keys_read");
  json_builder_add_int_value (builder, n_keys);
  json_builder_set_member_name (builder, "ok");
  json_builder_add_boolean_value (builder, report.count == 0);
  json_builder_end_object (builder);

  if (cleavectl_json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);
      cleavectl_print_json (root);
    }
  else if (report.count == 0)
    printf ("ok: %" G_GUINT64_FORMAT " generations, %" G_GUINT64_FORMAT " values read\n", n_versions, n_keys);
  else
    g_printerr ("cleavectl: kv check: %s: %u of %" G_GUINT64_FORMAT " generations are damaged\n",
                args[0], report.count, n_versions);
  return report.count == 0 ? CLEAVECTL_EXIT_OK : CLEAVECTL_EXIT_ERROR;
}

const CleavectlCommand cleavectl_cmd_kv_check = {
  .name = "kv check",
  .synopsis = "STORE [--json]",
  .summary = "Decode every node and read every value of every version; report what is damaged",
  .description = "Exit status 1 when any generation is damaged; each problem names the generation, file and offset.\n"
                 "--json: {\"problems\": [{\"generation\": N, \"message\": \"...\"}], \"generations\": N, "
                 "\"keys_read\": N, \"ok\": true|false}",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_check,
};

const CleavectlCommand cleavectl_cmd_kv_ls = {
  .name = "kv ls",
  .synopsis = "STORE [--prefix P] [--version N | --at ISO8601] [--json]",
  .summary = "List the keys of an OCDBT store, in key order, with their value sizes",
  .description = "Text output is one 'KEY<TAB>SIZE' line a key. Keys that are not UTF-8 are shown as hex:....",
  .entries = ls_entries,
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_ls,
};

const CleavectlCommand cleavectl_cmd_kv_get = {
  .name = "kv get",
  .synopsis = "STORE KEY [--version N | --at ISO8601]",
  .summary = "Write the value of one key to standard output, as raw bytes",
  .entries = pin_entries,
  .min_args = 2,
  .max_args = 2,
  .run = run_get,
};

const CleavectlCommand cleavectl_cmd_kv_versions = {
  .name = "kv versions",
  .synopsis = "STORE [--json]",
  .summary = "List the generations of an OCDBT store with their commit times, oldest first",
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_versions,
};

static GOptionEntry fork_entries[] = {
  { "wipe", 0, 0, G_OPTION_ARG_NONE, &opt_wipe, "Replace an existing fork (its commits are lost)", NULL },
  { NULL }
};

/* The store to write to: a fork must exist already; a plain directory
 * without a store becomes one. */
static CleaveOcdbt *
open_for_write (const char *spec,
                GError    **error)
{
  g_autoptr(GError) local = NULL;
  CleaveOcdbt *store = cleave_ocdbt_open_spec (spec, &local);

  if (store != NULL)
    return store;
  if ((strchr (spec, '+') == NULL || g_file_test (spec, G_FILE_TEST_IS_DIR)) &&
      g_error_matches (local, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND))
    return cleave_ocdbt_create (spec, NULL, error);
  g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

static GBytes *
read_stdin (GError **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "standard input: %s", g_strerror (errno));
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static int
run_put (const CleavectlCommand *command,
         char                  **args,
         guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(CleaveOcdbt) store = NULL;
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  guint64 generation;

  if (n_args == 3)
    {
      g_autoptr(GMappedFile) file = g_mapped_file_new (args[2], FALSE, &error);
      if (file == NULL)
        return cleavectl_fail (command, error);
      value = g_mapped_file_get_bytes (file);
    }
  else if ((value = read_stdin (&error)) == NULL)
    return cleavectl_fail (command, error);

  if ((store = open_for_write (args[0], &error)) == NULL)
    return cleavectl_fail (command, error);
  txn = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) args[1], strlen (args[1]), value);
  if (!cleave_ocdbt_txn_commit (txn, &generation, &error))
    return cleavectl_fail (command, error);
  printf ("generation %" G_GUINT64_FORMAT "\n", generation);
  return CLEAVECTL_EXIT_OK;
}

static int
run_rm (const CleavectlCommand *command,
        char                  **args,
        guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open_spec (args[0], &error);
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(GBytes) value = NULL;
  const guint8 *key = (const guint8 *) args[1];
  guint64 generation;

  if (store == NULL)
    return cleavectl_fail (command, error);
  if (!cleave_ocdbt_get (store, key, strlen (args[1]), &value, &error))
    return cleavectl_fail (command, error);
  if (value == NULL)
    {
      g_set_error (&error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND,
                   "%s: no key '%s' in generation %" G_GUINT64_FORMAT, args[0], args[1],
                   cleave_ocdbt_get_version (store).generation);
      return cleavectl_fail (command, error);
    }
  txn = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_delete (txn, key, strlen (args[1]));
  if (!cleave_ocdbt_txn_commit (txn, &generation, &error))
    return cleavectl_fail (command, error);
  printf ("generation %" G_GUINT64_FORMAT "\n", generation);
  return CLEAVECTL_EXIT_OK;
}

static int
run_fork (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  g_autoptr(GError) error = NULL;

  if (!cleave_ocdbt_fork (args[0], args[1], opt_wipe, &error))
    {
      if (g_error_matches (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS) && !opt_wipe)
        g_prefix_error (&error, "(--wipe replaces it) ");
      return cleavectl_fail (command, error);
    }
  return CLEAVECTL_EXIT_OK;
}

const CleavectlCommand cleavectl_cmd_kv_put = {
  .name = "kv put",
  .synopsis = "STORE KEY [FILE]",
  .summary = "Set one key to the bytes of FILE (or standard input), as one commit",
  .description = "Creates STORE with the default configuration when the directory holds no store.\n"
                 "Prints the new generation. STORE may be BASE+FORK; a fork must exist (see kv fork).",
  .min_args = 2,
  .max_args = 3,
  .run = run_put,
};

const CleavectlCommand cleavectl_cmd_kv_rm = {
  .name = "kv rm",
  .synopsis = "STORE KEY",
  .summary = "Delete one key, as one commit",
  .description = "A key that is not there is an error. Prints the new generation.",
  .min_args = 2,
  .max_args = 2,
  .run = run_rm,
};

const CleavectlCommand cleavectl_cmd_kv_fork = {
  .name = "kv fork",
  .synopsis = "BASE FORK [--wipe]",
  .summary = "Make FORK a fork of the store BASE; read it and write it as BASE+FORK",
  .description = "FORK gets a copy of BASE's manifest. Commits to BASE+FORK write data files only under\n"
                 "FORK/<name>_d/ and never change BASE. An existing fork is an error unless --wipe is given.",
  .entries = fork_entries,
  .min_args = 2,
  .max_args = 2,
  .run = run_fork,
};
