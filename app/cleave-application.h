/* cleave-application.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CLEAVE_TYPE_APPLICATION (cleave_application_get_type ())

G_DECLARE_FINAL_TYPE (CleaveApplication, cleave_application, CLEAVE, APPLICATION, GtkApplication)

CleaveApplication *cleave_application_new             (void);
int                cleave_application_get_exit_status (CleaveApplication *self);

G_END_DECLS
