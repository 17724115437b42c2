/* cleave-ui.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "cleave-screenshot.h"
#include "cleave-window.h"

G_BEGIN_DECLS

void cleave_ui_init (void);

G_END_DECLS
