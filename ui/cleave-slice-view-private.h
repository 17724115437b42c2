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
 * segmentation its palette, with each root's colour for @seed. Returns
 * the bytes uploaded. */
gsize   _cleave_slice_chunk_upload (CleaveSliceChunk *chunk,
                                    guint             seed,
                                    GLuint           *texture,
                                    GLuint           *palette_texture);
/* The colour of an object, 0xBBGGRR: HSV from a hash of its root id and
 * the colour seed. */
guint32 _cleave_slice_root_colour  (guint64           root,
                                    guint             seed);

G_END_DECLS
