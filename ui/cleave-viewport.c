/* cleave-viewport.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-viewport"

#include "cleave-viewport.h"

#include <string.h>

struct _CleaveViewport
{
  GObject   parent_instance;

  double    pos[3];
  double    zoom;
  guint64   hovered;
  guint64   selected;
  double    opacity;
  guint     seed;
  gboolean  show_segmentation;
  gboolean  dim_others;
};

G_DEFINE_FINAL_TYPE (CleaveViewport, cleave_viewport, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
cleave_viewport_class_init (CleaveViewportClass *klass)
{
  /* One signal for any change: every view redraws whatever changed. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cleave_viewport_init (CleaveViewport *self)
{
  self->zoom = 0.1;
  self->opacity = 0.5;
  self->show_segmentation = TRUE;
}

CleaveViewport *
cleave_viewport_new (void)
{
  return g_object_new (CLEAVE_TYPE_VIEWPORT, NULL);
}

static void
changed (CleaveViewport *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

void
cleave_viewport_get_position (CleaveViewport *self,
                              double          pos[3])
{
  memcpy (pos, self->pos, sizeof self->pos);
}

void
cleave_viewport_set_position (CleaveViewport *self,
                              const double    pos[3])
{
  if (memcmp (pos, self->pos, sizeof self->pos) == 0)
    return;
  memcpy (self->pos, pos, sizeof self->pos);
  changed (self);
}

double
cleave_viewport_get_zoom (CleaveViewport *self)
{
  return self->zoom;
}

void
cleave_viewport_set_zoom (CleaveViewport *self,
                          double          zoom)
{
  zoom = CLAMP (zoom, 1e-5, 1e3);
  if (zoom == self->zoom)
    return;
  self->zoom = zoom;
  changed (self);
}

#define SIMPLE_ACCESSORS(type, name, field)                              \
  type                                                                   \
  cleave_viewport_get_##name (CleaveViewport *self)                      \
  {                                                                      \
    return self->field;                                                  \
  }                                                                      \
  void                                                                   \
  cleave_viewport_set_##name (CleaveViewport *self,                      \
                              type            value)                     \
  {                                                                      \
    if (self->field == value)                                            \
      return;                                                            \
    self->field = value;                                                 \
    changed (self);                                                      \
  }

SIMPLE_ACCESSORS (guint64, hovered, hovered)
SIMPLE_ACCESSORS (guint64, selected, selected)
SIMPLE_ACCESSORS (guint, color_seed, seed)
SIMPLE_ACCESSORS (gboolean, show_segmentation, show_segmentation)
SIMPLE_ACCESSORS (gboolean, dim_others, dim_others)

double
cleave_viewport_get_opacity (CleaveViewport *self)
{
  return self->opacity;
}

void
cleave_viewport_set_opacity (CleaveViewport *self,
                             double          opacity)
{
  opacity = CLAMP (opacity, 0.0, 1.0);
  if (opacity == self->opacity)
    return;
  self->opacity = opacity;
  changed (self);
}
