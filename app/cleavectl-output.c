/* cleavectl-output.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include <stdarg.h>
#include <stdio.h>

gboolean cleavectl_json = FALSE;

int
cleavectl_fail (const CleavectlCommand *command,
                const GError           *error)
{
  g_autofree char *oneline = g_strdup (error->message);

  /* One line, whatever the lower layer put in its message. */
  g_strdelimit (oneline, "\r\n", ' ');
  if (command != NULL)
    g_printerr ("cleavectl: %s: %s\n", command->name, oneline);
  else
    g_printerr ("cleavectl: %s\n", oneline);
  return CLEAVECTL_EXIT_ERROR;
}

int
cleavectl_usage_error (const CleavectlCommand *command,
                       const char             *format,
                       ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  if (command != NULL)
    {
      g_printerr ("cleavectl: %s: %s\n", command->name, msg);
      g_printerr ("usage: cleavectl %s %s (see 'cleavectl help %s')\n",
                  command->name, command->synopsis ? command->synopsis : "", command->name);
    }
  else
    {
      g_printerr ("cleavectl: %s\n", msg);
      g_printerr ("usage: cleavectl COMMAND [ARGS...] (see 'cleavectl help')\n");
    }
  return CLEAVECTL_EXIT_USAGE;
}

void
cleavectl_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  /* Not g_print: it would convert UTF-8 to the locale's charset. */
  fputs (text, stdout);
  fputc ('\n', stdout);
}

/* "X,Y,Z" with integers (negative allowed). */
gboolean
cleavectl_parse_triple (const char *text,
                        const char *what,
                        gint64      out[3],
                        GError    **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  if (g_strv_length (parts) != 3)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s '%s': expected X,Y,Z", what, text);
      return FALSE;
    }
  for (guint i = 0; i < 3; i++)
    if (!g_ascii_string_to_signed (g_strstrip (parts[i]), 10, G_MININT64 / 4, G_MAXINT64 / 4, &out[i], NULL))
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s '%s': '%s' is not an integer",
                     what, text, parts[i]);
        return FALSE;
      }
  return TRUE;
}

void
cleavectl_add_ids (JsonBuilder *b,
                   const char  *name,
                   GArray      *ids)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; ids && i < ids->len; i++)
    json_builder_add_int_value (b, (gint64) g_array_index (ids, guint64, i));
  json_builder_end_array (b);
}

void
cleavectl_add_op_result (JsonBuilder            *b,
                         const CleaveEditResult *r)
{
  json_builder_set_member_name (b, "op_id");
  json_builder_add_int_value (b, (gint64) r->op_id);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, cleave_op_status_name (r->status));
  cleavectl_add_ids (b, "new_roots", r->new_roots);
}
