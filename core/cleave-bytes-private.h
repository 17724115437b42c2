/* cleave-bytes-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The table-driven CRC-32C, whatever the CPU offers; tests compare it with
 * the dispatched cleave_crc32c(). */
guint32 _cleave_crc32c_portable (const guint8 *data,
                                 gsize         len);

G_END_DECLS
