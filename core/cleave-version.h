/* cleave-version.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

const char *cleave_version              (void);
char       *cleave_version_dependencies (void);

G_END_DECLS
