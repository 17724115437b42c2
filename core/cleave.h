/* cleave.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The public headers of libcleave.
 */

#pragma once

#include "cleave-bytes.h"
#include "cleave-codec.h"
#include "cleave-fault.h"
#include "cleave-ocdbt.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-version.h"
