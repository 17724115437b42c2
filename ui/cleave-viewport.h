/* cleave-viewport.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the slice views of one window share: the 3D position they cut
 * through (nm), the zoom (screen pixels per nm), the hovered and selected
 * objects, and how the segmentation is drawn. Views redraw on "changed";
 * tools (later) change it the same way the navigation actions do.
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLEAVE_TYPE_VIEWPORT (cleave_viewport_get_type ())

G_DECLARE_FINAL_TYPE (CleaveViewport, cleave_viewport, CLEAVE, VIEWPORT, GObject)

CleaveViewport *cleave_viewport_new                   (void);
void            cleave_viewport_get_position          (CleaveViewport *self,
                                                       double          pos[3]);
void            cleave_viewport_set_position          (CleaveViewport *self,
                                                       const double    pos[3]);
double          cleave_viewport_get_zoom              (CleaveViewport *self);
void            cleave_viewport_set_zoom              (CleaveViewport *self,
                                                       double          zoom);
guint64         cleave_viewport_get_hovered           (CleaveViewport *self);
void            cleave_viewport_set_hovered           (CleaveViewport *self,
                                                       guint64         root);
guint64         cleave_viewport_get_selected          (CleaveViewport *self);
void            cleave_viewport_set_selected          (CleaveViewport *self,
                                                       guint64         root);
double          cleave_viewport_get_opacity           (CleaveViewport *self);
void            cleave_viewport_set_opacity           (CleaveViewport *self,
                                                       double          opacity);
guint           cleave_viewport_get_color_seed        (CleaveViewport *self);
void            cleave_viewport_set_color_seed        (CleaveViewport *self,
                                                       guint           seed);
gboolean        cleave_viewport_get_show_segmentation (CleaveViewport *self);
void            cleave_viewport_set_show_segmentation (CleaveViewport *self,
                                                       gboolean        show);
gboolean        cleave_viewport_get_dim_others        (CleaveViewport *self);
void            cleave_viewport_set_dim_others        (CleaveViewport *self,
                                                       gboolean        dim);

G_END_DECLS
