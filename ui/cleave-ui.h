/* cleave-ui.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "cleave-actions.h"
#include "cleave-screenshot.h"
#include "cleave-slice-view.h"
#include "cleave-source.h"
#include "cleave-viewport.h"
#include "cleave-window.h"

G_BEGIN_DECLS

void cleave_ui_init    (void);
void cleave_ui_startup (GtkApplication *app);

G_END_DECLS
