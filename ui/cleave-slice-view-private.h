/* cleave-slice-view-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <epoxy/gl.h>

#include "cleave-slice-view.h"

G_BEGIN_DECLS

/* Uploads @chunk into new textures of the current GL context: a 3D
 * texture of voxels (image) or palette indices (segmentation), and for the
 * segmentation its palette. Returns the bytes uploaded. */
gsize _cleave_slice_chunk_upload (CleaveSliceChunk *chunk,
                                  GLuint           *texture,
                                  GLuint           *palette_texture);

G_END_DECLS
