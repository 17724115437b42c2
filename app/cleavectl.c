/* cleavectl.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command line: finds the command named by the leading words, parses its
 * options and hands it the positional arguments.
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleave-config.h"
#include "cleavectl.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave-version.h"

/* Stands in for a negative-number argument while GOption parses. */
#define NUMBER_PLACEHOLDER "\x01cleavectl-number-"

static int run_help (const CleavectlCommand *command, char **args, guint n_args);

static const CleavectlCommand cleavectl_cmd_help = {
  .name = "help",
  .synopsis = "[COMMAND...]",
  .summary = "Show the list of commands, or the help of one command or group",
  .max_args = G_MAXUINT,
  .run = run_help,
};

static const CleavectlCommand *commands[] = {
  &cleavectl_cmd_help,
  &cleavectl_cmd_version,
  &cleavectl_cmd_kv_ls,
  &cleavectl_cmd_kv_get,
  &cleavectl_cmd_kv_versions,
  &cleavectl_cmd_kv_check,
  &cleavectl_cmd_kv_put,
  &cleavectl_cmd_kv_rm,
  &cleavectl_cmd_kv_fork,
  &cleavectl_cmd_demo,
  &cleavectl_cmd_info,
  &cleavectl_cmd_seg_read,
  &cleavectl_cmd_seg_lookup,
  &cleavectl_cmd_import,
  &cleavectl_cmd_ingest,
  &cleavectl_cmd_merge,
  &cleavectl_cmd_split,
  &cleavectl_cmd_undo,
  &cleavectl_cmd_redo,
  &cleavectl_cmd_ops,
  &cleavectl_cmd_locks,
  &cleavectl_cmd_verify,
  &cleavectl_cmd_stuck_list,
  &cleavectl_cmd_stuck_replay,
  &cleavectl_cmd_errors,
  &cleavectl_cmd_faults,
  &cleavectl_cmd_worker,
};

/* Number of leading words of @argv that spell @name, or 0. */
static guint
match_words (const char  *name,
             char       **argv,
             guint        argc)
{
  g_auto(GStrv) words = g_strsplit (name, " ", -1);
  guint n = g_strv_length (words);

  if (n > argc)
    return 0;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (words[i], argv[i]) != 0)
      return 0;
  return n;
}

static const CleavectlCommand *
find_command (char  **argv,
              guint   argc,
              guint  *n_words)
{
  const CleavectlCommand *best = NULL;

  *n_words = 0;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      guint n = match_words (commands[i]->name, argv, argc);
      if (n > *n_words)
        {
          best = commands[i];
          *n_words = n;
        }
    }
  return best;
}

/* Whether @prefix (words) names a group such as "kv". */
static gboolean
is_group (const char *prefix)
{
  g_autofree char *with_space = g_strconcat (prefix, " ", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_has_prefix (commands[i]->name, with_space))
      return TRUE;
  return FALSE;
}

static void
print_command_list (const char *group)
{
  g_autofree char *with_space = group ? g_strconcat (group, " ", NULL) : NULL;
  int width = 0;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (with_space && !g_str_has_prefix (commands[i]->name, with_space))
        continue;
      width = MAX (width, (int) strlen (commands[i]->name));
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (with_space && !g_str_has_prefix (commands[i]->name, with_space))
        continue;
      g_print ("  %-*s  %s\n", width, commands[i]->name, commands[i]->summary);
    }
}

static void
print_command_help (const CleavectlCommand *command)
{
  g_print ("usage: cleavectl %s %s\n\n%s.\n", command->name,
           command->synopsis ? command->synopsis : "", command->summary);
  if (command->description)
    g_print ("\n%s\n", command->description);

  if (command->entries || command->json)
    {
      g_print ("\nOptions:\n");
      for (const GOptionEntry *e = command->entries; e && e->long_name; e++)
        {
          g_autofree char *flag = e->arg_description
            ? g_strdup_printf ("--%s %s", e->long_name, e->arg_description)
            : g_strdup_printf ("--%s", e->long_name);
          g_print ("  %-24s %s\n", flag, e->description);
        }
      if (command->json)
        g_print ("  %-24s %s\n", "--json", "Print one JSON document on stdout");
    }
}

static int
run_help (const CleavectlCommand *command,
          char                  **args,
          guint                   n_args)
{
  const CleavectlCommand *target;
  g_autofree char *joined = NULL;
  guint n_words;

  if (n_args == 0)
    {
      g_print ("usage: cleavectl COMMAND [ARGS...]\n\n"
               "cleavectl runs Cleave's core without a display: the same calls the\n"
               "application makes, with results on stdout (one JSON document with --json).\n\n"
               "Commands:\n");
      print_command_list (NULL);
      g_print ("\nGlobal options: --version, --help.\n"
               "Exit status: 0 done, 1 the command failed (one line on stderr says why),\n"
               "2 the command line is wrong.\n"
               "See 'cleavectl help COMMAND' for the options of one command.\n");
      return CLEAVECTL_EXIT_OK;
    }

  target = find_command (args, n_args, &n_words);
  joined = g_strjoinv (" ", args);
  if (target != NULL && n_words == n_args)
    {
      print_command_help (target);
      return CLEAVECTL_EXIT_OK;
    }
  if (is_group (joined))
    {
      g_print ("Commands in '%s':\n", joined);
      print_command_list (joined);
      return CLEAVECTL_EXIT_OK;
    }
  return cleavectl_usage_error (command, "no command '%s'", joined);
}

static int
run_command (const CleavectlCommand *command,
             int                     argc,
             char                  **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) args = NULL;
  gboolean want_help = FALSE;
  GOptionEntry common[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &want_help, "Show this help", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &cleavectl_json, "Print one JSON document on stdout", NULL },
    { NULL }
  };
  g_auto(GStrv) strv = NULL;
  g_autoptr(GPtrArray) positional = NULL;
  gboolean seen_dashdash = FALSE;
  guint n_args;

  if (!command->json)
    common[1] = (GOptionEntry) { NULL };

  /* GOptionContext wants a program name in argv[0] and may rewrite argv.
   * It would also read a negative number ("-5,3,2") as short options, so
   * those travel through the parse as placeholders. */
  args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (args, g_strdup ("cleavectl"));
  for (int i = 0; i < argc; i++)
    if (argv[i][0] == '-' && g_ascii_isdigit (argv[i][1]))
      g_ptr_array_add (args, g_strdup_printf ("%s%d", NUMBER_PLACEHOLDER, i));
    else
      g_ptr_array_add (args, g_strdup (argv[i]));
  g_ptr_array_add (args, NULL);
  strv = (GStrv) g_ptr_array_steal (args, NULL);

  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, common, NULL);
  if (command->entries)
    g_option_context_add_main_entries (context, command->entries, NULL);

  if (!g_option_context_parse_strv (context, &strv, &error))
    return cleavectl_usage_error (command, "%s", error->message);

  if (want_help)
    {
      print_command_help (command);
      return CLEAVECTL_EXIT_OK;
    }

  /* Whatever GOption left that looks like an option is one it does not
   * know, up to a "--", which ends the options and is dropped. */
  positional = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 1; strv[i] != NULL; i++)
    {
      if (g_str_has_prefix (strv[i], NUMBER_PLACEHOLDER))
        g_ptr_array_add (positional, g_strdup (argv[atoi (strv[i] + strlen (NUMBER_PLACEHOLDER))]));
      else if (!seen_dashdash && g_str_equal (strv[i], "--"))
        seen_dashdash = TRUE;
      else if (!seen_dashdash && strv[i][0] == '-' && strv[i][1] != '\0')
        return cleavectl_usage_error (command, "unknown option %s", strv[i]);
      else
        g_ptr_array_add (positional, g_strdup (strv[i]));
    }
  n_args = positional->len;
  g_ptr_array_add (positional, NULL);
  if (n_args < command->min_args)
    return cleavectl_usage_error (command, "missing arguments");
  if (n_args > command->max_args)
    return cleavectl_usage_error (command, "too many arguments");

  return command->run (command, (char **) positional->pdata, n_args);
}

static int
dispatch (int   argc,
          char *argv[])
{
  const CleavectlCommand *command;
  guint n_words;

  setlocale (LC_ALL, "");
  g_set_prgname ("cleavectl");

  if (argc >= 2 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  if (argc < 2)
    return cleavectl_usage_error (NULL, "no command given");

  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("cleavectl %s\n", cleave_version ());
      return CLEAVECTL_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    return run_help (&cleavectl_cmd_help, NULL, 0);
  if (argv[1][0] == '-')
    return cleavectl_usage_error (NULL, "unknown option %s", argv[1]);

  command = find_command (argv + 1, argc - 1, &n_words);
  if (command == NULL)
    {
      if (is_group (argv[1]))
        return cleavectl_usage_error (NULL, "'%s' needs a subcommand: see 'cleavectl help %s'",
                                      argv[1], argv[1]);
      return cleavectl_usage_error (NULL, "unknown command '%s'", argv[1]);
    }

  return run_command (command, argc - 1 - n_words, argv + 1 + n_words);
}

/* Output that did not reach its file is a failure, not a success. */
int
main (int   argc,
      char *argv[])
{
  int status = dispatch (argc, argv);

  if (fflush (stdout) != 0 || ferror (stdout))
    {
      g_printerr ("cleavectl: cannot write to standard output: %s\n", g_strerror (errno));
      return status == CLEAVECTL_EXIT_OK ? CLEAVECTL_EXIT_ERROR : status;
    }
  return status;
}
