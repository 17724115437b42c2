/* cleave-slice-view.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One plane through the dataset, drawn with OpenGL: the image and the
 * segmentation of the chunks the plane cuts, at the mip the zoom calls
 * for, coarser chunks standing in until the finer ones arrive. Pointer
 * input becomes signals in voxel coordinates (hover, click) and changes of
 * the shared viewport (pan, zoom, slice), so tools can be added on top.
 */

#pragma once

#include <gtk/gtk.h>

#include "cleave-source.h"
#include "cleave-viewport.h"

G_BEGIN_DECLS

typedef enum
{
  CLEAVE_PLANE_XY,
  CLEAVE_PLANE_XZ,
  CLEAVE_PLANE_YZ,
} CleavePlane;

#define CLEAVE_TYPE_SLICE_VIEW (cleave_slice_view_get_type ())

G_DECLARE_FINAL_TYPE (CleaveSliceView, cleave_slice_view, CLEAVE, SLICE_VIEW, GtkWidget)

GtkWidget    *cleave_slice_view_new            (CleavePlane      plane,
                                                CleaveViewport  *viewport);
CleavePlane   cleave_slice_view_get_plane      (CleaveSliceView *self);
const char   *cleave_slice_view_get_plane_name (CleaveSliceView *self);
void          cleave_slice_view_set_source     (CleaveSliceView *self,
                                                CleaveSource    *source);
/* The plane's axes as indices into (x, y, z): horizontal, vertical, normal. */
void          cleave_slice_view_get_axes       (CleaveSliceView *self,
                                                guint            axes[3]);
/* The mip the segmentation is drawn at now. */
guint         cleave_slice_view_get_mip        (CleaveSliceView *self);
/* Whether the last frame drew every chunk it needed at its mip. */
gboolean      cleave_slice_view_is_complete    (CleaveSliceView *self);
guint         cleave_slice_view_get_n_frames   (CleaveSliceView *self);
/* The root the last frame drew at @world (nm) on this plane: FALSE where it
 * drew no segmentation, or no longer knows (0 is background). */
gboolean      cleave_slice_view_get_drawn_root (CleaveSliceView *self,
                                                const double     world[3],
                                                guint64         *root);
/* The world position (nm) under widget point (@x, @y). */
void          cleave_slice_view_point_to_world (CleaveSliceView *self,
                                                double           x,
                                                double           y,
                                                double           world[3]);
/* Moves @steps slices along the normal (mip-0 voxels). */
void          cleave_slice_view_step_slice     (CleaveSliceView *self,
                                                int              steps);
/* Pans by a fraction of the view's size along its own axes. */
void          cleave_slice_view_pan            (CleaveSliceView *self,
                                                double           fx,
                                                double           fy);

G_END_DECLS
