/* cleave-slice-view.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-slice-view"

#include "cleave-config.h"
#include "cleave-slice-view-private.h"

#include <cglm/cglm.h>
#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

/* Texture bytes kept per view; least recently drawn go first. */
#define TEXTURE_BUDGET (256u << 20)
/* Bytes uploaded in one frame before the rest waits for the next. */
#define UPLOAD_BUDGET (96u << 20)
/* A press that moves less than this (px) is a click, not a drag. */
#define CLICK_SLOP 4.0
/* While loading, the longest wait between two partial frames. */
#define PARTIAL_INTERVAL_MS 120

typedef struct
{
  GLuint   texture;
  GLuint   palette;
  gboolean empty;
  gsize    bytes;
  guint    last_frame;
  int      size[3];
  gint64   lo[3];
  guint    mip;
} Tex;

typedef struct
{
  GLuint program;
  GLint  mvp, rect, plane_to_world, depth, res, chunk_lo, chunk_size;
  GLint  sampler, palette, step_u, step_v, hovered, selected, seed, opacity, dim_others;
} Program;

struct _CleaveSliceView
{
  GtkWidget        parent_instance;

  CleavePlane      plane;
  guint            axes[3];
  CleaveViewport  *viewport;
  CleaveSource    *source;
  guint            client;
  gulong           chunks_ready_id;

  GtkWidget       *overlay;
  GtkWidget       *area;
  GtkWidget       *plane_label;
  GtkWidget       *info_label;

  /* GL state, valid while the area is realized. */
  Program          image_program;
  Program          seg_program;
  GLuint           vao;
  GLuint           vbo;
  GHashTable      *textures;      /* key -> Tex */
  gsize            texture_bytes;

  guint            frame;
  guint            mip;
  gboolean         complete;
  gboolean         gl_failed;
  guint            labels_idle;
  guint            partial_timeout;
  GArray          *waiting;       /* keys asked for and not on the GPU */
  gboolean         first_complete;

  /* Pointer and drag state. */
  double           pointer_x, pointer_y;
  double           drag_pos[3];
  gboolean         dragging;
};

G_DEFINE_FINAL_TYPE (CleaveSliceView, cleave_slice_view, GTK_TYPE_WIDGET)

enum {
  HOVER,
  CLICKED,
  FRAME,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *plane_names[] = { "XY", "XZ", "YZ" };
static const guint plane_axes[3][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 2, 0 } };
static const char axis_names[] = "xyz";

static void
tex_free (gpointer data)
{
  Tex *tex = data;

  if (tex->texture)
    glDeleteTextures (1, &tex->texture);
  if (tex->palette)
    glDeleteTextures (1, &tex->palette);
  g_free (tex);
}

/* Shaders --------------------------------------------------------------- */

static GLuint
compile_shader (GLenum       type,
                const char  *header,
                const char  *resource,
                GError     **error)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, 0, error);
  const char *sources[2];
  GLint lengths[2];
  GLuint shader;
  GLint ok = 0;

  if (bytes == NULL)
    return 0;

  sources[0] = header;
  lengths[0] = (GLint) strlen (header);
  sources[1] = g_bytes_get_data (bytes, NULL);
  lengths[1] = (GLint) g_bytes_get_size (bytes);
  shader = glCreateShader (type);
  glShaderSource (shader, 2, sources, lengths);
  glCompileShader (shader);
  glGetShaderiv (shader, GL_COMPILE_STATUS, &ok);
  if (!ok)
    {
      char log[2048] = "";

      glGetShaderInfoLog (shader, sizeof log, NULL, log);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", resource, log);
      glDeleteShader (shader);
      return 0;
    }
  return shader;
}

static gboolean
link_program (Program     *p,
              const char  *header,
              const char  *fragment,
              GError     **error)
{
  GLuint vs = compile_shader (GL_VERTEX_SHADER, header, CLEAVE_RESOURCE_PREFIX "/shaders/slice.vert", error);
  GLuint fs = vs ? compile_shader (GL_FRAGMENT_SHADER, header, fragment, error) : 0;
  GLint ok = 0;

  if (fs == 0)
    {
      if (vs)
        glDeleteShader (vs);
      return FALSE;
    }

  p->program = glCreateProgram ();
  glAttachShader (p->program, vs);
  glAttachShader (p->program, fs);
  glBindAttribLocation (p->program, 0, "corner");
  glLinkProgram (p->program);
  glDeleteShader (vs);
  glDeleteShader (fs);
  glGetProgramiv (p->program, GL_LINK_STATUS, &ok);
  if (!ok)
    {
      char log[2048] = "";

      glGetProgramInfoLog (p->program, sizeof log, NULL, log);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", fragment, log);
      glDeleteProgram (p->program);
      p->program = 0;
      return FALSE;
    }

#define LOC(field, name) p->field = glGetUniformLocation (p->program, name)
  LOC (mvp, "mvp");
  LOC (rect, "rect");
  LOC (plane_to_world, "plane_to_world");
  LOC (depth, "depth");
  LOC (res, "res");
  LOC (chunk_lo, "chunk_lo");
  LOC (chunk_size, "chunk_size");
  p->sampler = glGetUniformLocation (p->program, "voxels");
  if (p->sampler < 0)
    p->sampler = glGetUniformLocation (p->program, "labels");
  LOC (palette, "palette");
  LOC (step_u, "step_u");
  LOC (step_v, "step_v");
  LOC (hovered, "hovered");
  LOC (selected, "selected");
  LOC (seed, "seed");
  LOC (opacity, "opacity");
  LOC (dim_others, "dim_others");
#undef LOC
  return TRUE;
}

static void
area_realize (GtkGLArea       *area,
              CleaveSliceView *self)
{
  static const float corners[] = { 0, 0, 1, 0, 0, 1, 1, 1 };
  g_autoptr(GError) error = NULL;
  const char *header;

  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) != NULL)
    {
      self->gl_failed = TRUE;
      return;
    }

  if (gdk_gl_context_get_use_es (gtk_gl_area_get_context (area)))
    header = "#version 300 es\nprecision highp float;\nprecision highp int;\n";
  else
    header = "#version 330 core\n";

  if (!link_program (&self->image_program, header, CLEAVE_RESOURCE_PREFIX "/shaders/image.frag", &error)
      || !link_program (&self->seg_program, header, CLEAVE_RESOURCE_PREFIX "/shaders/segmentation.frag", &error))
    {
      gtk_gl_area_set_error (area, error);
      self->gl_failed = TRUE;
      return;
    }

  glGenVertexArrays (1, &self->vao);
  glBindVertexArray (self->vao);
  glGenBuffers (1, &self->vbo);
  glBindBuffer (GL_ARRAY_BUFFER, self->vbo);
  glBufferData (GL_ARRAY_BUFFER, sizeof corners, corners, GL_STATIC_DRAW);
  glEnableVertexAttribArray (0);
  glVertexAttribPointer (0, 2, GL_FLOAT, GL_FALSE, 0, NULL);
  glBindVertexArray (0);

  self->textures = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, tex_free);
  self->texture_bytes = 0;
}

static void
area_unrealize (GtkGLArea       *area,
                CleaveSliceView *self)
{
  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) == NULL)
    {
      g_clear_pointer (&self->textures, g_hash_table_unref);
      if (self->vbo)
        glDeleteBuffers (1, &self->vbo);
      if (self->vao)
        glDeleteVertexArrays (1, &self->vao);
      if (self->image_program.program)
        glDeleteProgram (self->image_program.program);
      if (self->seg_program.program)
        glDeleteProgram (self->seg_program.program);
    }
  g_clear_pointer (&self->textures, g_hash_table_unref);
  self->vbo = self->vao = 0;
  self->image_program.program = self->seg_program.program = 0;
  self->texture_bytes = 0;
}

/* Geometry -------------------------------------------------------------- */

/* The largest mip whose voxels are still no larger than a screen pixel
 * (physical pixels), mip 0 when zoomed in further. */
static guint
choose_mip (CleaveSliceView        *self,
            const CleaveVolumeInfo *info,
            double                  px_per_nm)
{
  guint mip = 0;

  for (guint m = 1; m < info->scales->len; m++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, m);

      if (s->resolution[self->axes[0]] * px_per_nm <= 1.001)
        mip = m;
    }
  return mip;
}

typedef struct
{
  double  center_u, center_v, depth;
  double  u0, u1, v0, v1;        /* visible, nm */
  double  zoom;
  int     width, height;         /* logical px */
  int     scale_factor;
} ViewGeometry;

static void
view_geometry (CleaveSliceView *self,
               ViewGeometry    *vg)
{
  double pos[3];

  cleave_viewport_get_position (self->viewport, pos);
  vg->zoom = cleave_viewport_get_zoom (self->viewport);
  vg->width = MAX (1, gtk_widget_get_width (GTK_WIDGET (self)));
  vg->height = MAX (1, gtk_widget_get_height (GTK_WIDGET (self)));
  vg->scale_factor = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  vg->center_u = pos[self->axes[0]];
  vg->center_v = pos[self->axes[1]];
  vg->depth = pos[self->axes[2]];
  vg->u0 = vg->center_u - vg->width / 2.0 / vg->zoom;
  vg->u1 = vg->center_u + vg->width / 2.0 / vg->zoom;
  vg->v0 = vg->center_v - vg->height / 2.0 / vg->zoom;
  vg->v1 = vg->center_v + vg->height / 2.0 / vg->zoom;
}

/* The chunks of @mip the plane shows: keys appended to @keys. */
static void
visible_chunks (CleaveSliceView    *self,
                const ViewGeometry *vg,
                CleaveLayer         layer,
                guint               mip,
                GArray             *keys)
{
  const CleaveVolumeInfo *info = cleave_source_get_info (self->source, layer);
  const CleaveScale *s;
  guint au = self->axes[0], av = self->axes[1], an = self->axes[2];
  gint64 n_vox, gu0, gu1, gv0, gv1, g[3];
  gint64 grid[3];

  if (info == NULL || mip >= info->scales->len)
    return;
  s = &g_array_index (info->scales, CleaveScale, mip);
  cleave_scale_grid_size (s, grid);

  n_vox = (gint64) floor (vg->depth / s->resolution[an]);
  if (n_vox < s->voxel_offset[an] || n_vox >= s->voxel_offset[an] + s->size[an])
    return;
  g[an] = (n_vox - s->voxel_offset[an]) / s->chunk[an];

#define GRID(v, axis) CLAMP ((gint64) floor (((v) / s->resolution[axis] - s->voxel_offset[axis]) / s->chunk[axis]), 0, grid[axis] - 1)
  if (vg->u1 <= s->voxel_offset[au] * s->resolution[au]
      || vg->u0 >= (s->voxel_offset[au] + s->size[au]) * s->resolution[au]
      || vg->v1 <= s->voxel_offset[av] * s->resolution[av]
      || vg->v0 >= (s->voxel_offset[av] + s->size[av]) * s->resolution[av])
    return;
  gu0 = GRID (vg->u0, au);
  gu1 = GRID (vg->u1, au);
  gv0 = GRID (vg->v0, av);
  gv1 = GRID (vg->v1, av);
#undef GRID

  /* Nearest the centre first: that is what the user looks at. */
  {
    gint64 cu = (gu0 + gu1) / 2, cv = (gv0 + gv1) / 2;
    gint64 radius = MAX (MAX (cu - gu0, gu1 - cu), MAX (cv - gv0, gv1 - cv));

    for (gint64 r = 0; r <= radius; r++)
      for (gint64 gv = cv - r; gv <= cv + r; gv++)
        for (gint64 gu = cu - r; gu <= cu + r; gu++)
          {
            guint64 key;

            if (MAX (ABS (gu - cu), ABS (gv - cv)) != r || gu < gu0 || gu > gu1 || gv < gv0 || gv > gv1)
              continue;
            g[au] = gu;
            g[av] = gv;
            key = cleave_slice_chunk_key (layer, mip, g);
            g_array_append_val (keys, key);
          }
  }
}

/* Upload ---------------------------------------------------------------- */

gsize
_cleave_slice_chunk_upload (CleaveSliceChunk *chunk,
                            GLuint           *texture,
                            GLuint           *palette_texture)
{
  gsize bytes = (gsize) chunk->size[0] * chunk->size[1] * chunk->size[2];

  *texture = *palette_texture = 0;
  if (chunk->empty)
    return 0;

  glPixelStorei (GL_UNPACK_ALIGNMENT, 1);
  glGenTextures (1, texture);
  glBindTexture (GL_TEXTURE_3D, *texture);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MAX_LEVEL, 0);
  if (chunk->layer == CLEAVE_LAYER_IMAGE)
    {
      glTexImage3D (GL_TEXTURE_3D, 0, GL_R8, chunk->size[0], chunk->size[1], chunk->size[2], 0,
                    GL_RED, GL_UNSIGNED_BYTE, chunk->voxels);
      return bytes;
    }
  else
    {
      guint rows = (chunk->n_labels + 255) / 256;
      g_autofree guint32 *palette = g_new0 (guint32, (gsize) rows * 256 * 4);

      glTexImage3D (GL_TEXTURE_3D, 0, chunk->wide ? GL_R32UI : GL_R16UI,
                    chunk->size[0], chunk->size[1], chunk->size[2], 0,
                    GL_RED_INTEGER, chunk->wide ? GL_UNSIGNED_INT : GL_UNSIGNED_SHORT, chunk->indices);
      bytes *= chunk->wide ? 4 : 2;

      /* The palette: supervoxel and root of each index, as uint32 halves. */
      for (guint i = 0; i < chunk->n_labels; i++)
        {
          palette[4 * i + 0] = (guint32) chunk->svs[i];
          palette[4 * i + 1] = (guint32) (chunk->svs[i] >> 32);
          palette[4 * i + 2] = (guint32) chunk->roots[i];
          palette[4 * i + 3] = (guint32) (chunk->roots[i] >> 32);
        }
      glGenTextures (1, palette_texture);
      glBindTexture (GL_TEXTURE_2D, *palette_texture);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
      glTexImage2D (GL_TEXTURE_2D, 0, GL_RGBA32UI, 256, (GLsizei) rows, 0,
                    GL_RGBA_INTEGER, GL_UNSIGNED_INT, palette);
      return bytes + (gsize) rows * 256 * 16;
    }
}

static Tex *
upload (CleaveSliceView  *self,
        CleaveSliceChunk *chunk)
{
  Tex *tex = g_new0 (Tex, 1);

  tex->mip = chunk->mip;
  memcpy (tex->size, chunk->size, sizeof tex->size);
  memcpy (tex->lo, chunk->lo, sizeof tex->lo);
  tex->empty = chunk->empty;
  tex->bytes = 64 + _cleave_slice_chunk_upload (chunk, &tex->texture, &tex->palette);
  return tex;
}

static void
evict_textures (CleaveSliceView *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->texture_bytes <= TEXTURE_BUDGET)
    return;
  /* Whatever was not drawn in the last few frames, oldest first would be
   * nicer; this is simple and keeps what is on screen. */
  g_hash_table_iter_init (&iter, self->textures);
  while (self->texture_bytes > TEXTURE_BUDGET * 3 / 4 && g_hash_table_iter_next (&iter, NULL, &value))
    {
      Tex *tex = value;

      if (self->frame - tex->last_frame > 2)
        {
          self->texture_bytes -= tex->bytes;
          g_hash_table_iter_remove (&iter);
        }
    }
}

/* Rendering ------------------------------------------------------------- */

static void
plane_to_world_matrix (CleaveSliceView *self,
                       mat3             m)
{
  glm_mat3_zero (m);
  /* Column j is where plane axis j goes in the world. */
  for (guint j = 0; j < 3; j++)
    m[j][self->axes[j]] = 1.0f;
}

static void
draw_layer (CleaveSliceView    *self,
            const ViewGeometry *vg,
            CleaveLayer         layer,
            guint               target_mip,
            mat4                mvp,
            gsize              *uploaded,
            guint              *missing)
{
  const CleaveVolumeInfo *info = cleave_source_get_info (self->source, layer);
  Program *p = layer == CLEAVE_LAYER_IMAGE ? &self->image_program : &self->seg_program;
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  mat3 p2w;
  guint au = self->axes[0], av = self->axes[1];
  guint layer_missing = 0;

  if (info == NULL)
    return;

  plane_to_world_matrix (self, p2w);
  glUseProgram (p->program);
  glUniformMatrix4fv (p->mvp, 1, GL_FALSE, (float *) mvp);
  glUniformMatrix3fv (p->plane_to_world, 1, GL_FALSE, (float *) p2w);
  glUniform1f (p->depth, (float) vg->depth);
  glUniform1i (p->sampler, 0);

  if (layer == CLEAVE_LAYER_SEGMENTATION)
    {
      guint64 hovered = cleave_viewport_get_hovered (self->viewport);
      guint64 selected = cleave_viewport_get_selected (self->viewport);
      int step_u[3] = { 0 }, step_v[3] = { 0 };

      step_u[au] = 1;
      step_v[av] = 1;
      glUniform1i (p->palette, 1);
      glUniform3iv (p->step_u, 1, step_u);
      glUniform3iv (p->step_v, 1, step_v);
      glUniform2ui (p->hovered, (guint32) hovered, (guint32) (hovered >> 32));
      glUniform2ui (p->selected, (guint32) selected, (guint32) (selected >> 32));
      glUniform1ui (p->seed, cleave_viewport_get_color_seed (self->viewport));
      glUniform1f (p->opacity, (float) cleave_viewport_get_opacity (self->viewport));
      glUniform1i (p->dim_others, cleave_viewport_get_dim_others (self->viewport));
    }

  /* The target mip's chunks go up first; if every one is there, coarser
   * mips are not drawn at all (software GL pays for every pass). */
  g_array_set_size (keys, 0);
  visible_chunks (self, vg, layer, target_mip, keys);
  for (guint i = 0; i < keys->len; i++)
    {
      guint64 key = g_array_index (keys, guint64, i);
      Tex *tex = g_hash_table_lookup (self->textures, &key);

      if (tex == NULL && *uploaded < UPLOAD_BUDGET)
        {
          g_autoptr(CleaveSliceChunk) chunk = cleave_source_lookup (self->source, key);

          if (chunk != NULL)
            {
              tex = upload (self, chunk);
              *uploaded += tex->bytes;
              self->texture_bytes += tex->bytes;
              g_hash_table_insert (self->textures, g_memdup2 (&key, sizeof key), tex);
            }
        }
      if (tex == NULL)
        {
          (*missing)++;
          layer_missing++;
        }
    }

  /* Coarse mips first, where needed: they stand in where the finer chunks
   * have not arrived yet, and the finer ones are drawn over them. */
  for (int mip = layer_missing ? (int) info->scales->len - 1 : (int) target_mip; mip >= (int) target_mip; mip--)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, mip);

      g_array_set_size (keys, 0);
      visible_chunks (self, vg, layer, (guint) mip, keys);
      glUniform3f (p->res, (float) s->resolution[0], (float) s->resolution[1], (float) s->resolution[2]);

      for (guint i = 0; i < keys->len; i++)
        {
          guint64 key = g_array_index (keys, guint64, i);
          Tex *tex = g_hash_table_lookup (self->textures, &key);

          if (tex == NULL)
            continue;
          tex->last_frame = self->frame;
          if (tex->empty)
            continue;

          glUniform4f (p->rect,
                       (float) (tex->lo[au] * s->resolution[au]), (float) (tex->lo[av] * s->resolution[av]),
                       (float) ((tex->lo[au] + tex->size[au]) * s->resolution[au]),
                       (float) ((tex->lo[av] + tex->size[av]) * s->resolution[av]));
          glUniform3i (p->chunk_lo, (int) tex->lo[0], (int) tex->lo[1], (int) tex->lo[2]);
          glUniform3i (p->chunk_size, tex->size[0], tex->size[1], tex->size[2]);
          glActiveTexture (GL_TEXTURE0);
          glBindTexture (GL_TEXTURE_3D, tex->texture);
          if (layer == CLEAVE_LAYER_SEGMENTATION)
            {
              glActiveTexture (GL_TEXTURE1);
              glBindTexture (GL_TEXTURE_2D, tex->palette);
            }
          glDrawArrays (GL_TRIANGLE_STRIP, 0, 4);
        }
    }
}

static void
request_chunks (CleaveSliceView    *self,
                const ViewGeometry *vg,
                guint               image_mip,
                guint               seg_mip)
{
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));

  if (cleave_viewport_get_show_segmentation (self->viewport))
    visible_chunks (self, vg, CLEAVE_LAYER_SEGMENTATION, seg_mip, keys);
  visible_chunks (self, vg, CLEAVE_LAYER_IMAGE, image_mip, keys);
  /* Only what is not on the GPU yet. */
  for (guint i = 0; i < keys->len;)
    {
      if (self->textures && g_hash_table_contains (self->textures, &g_array_index (keys, guint64, i)))
        g_array_remove_index (keys, i);
      else
        i++;
    }
  cleave_source_request (self->source, self->client, (guint64 *) (gpointer) keys->data, keys->len);
  g_array_set_size (self->waiting, 0);
  g_array_append_vals (self->waiting, keys->data, keys->len);
}

static void
update_labels (CleaveSliceView *self)
{
  g_autofree char *plane = NULL;
  g_autofree char *info = NULL;
  double pos[3], res[3];
  guint an = self->axes[2];

  if (self->source == NULL)
    return;
  cleave_viewport_get_position (self->viewport, pos);
  cleave_source_get_resolution (self->source, 0, res);
  plane = g_strdup_printf ("%s  %c %" G_GINT64_FORMAT, plane_names[self->plane], axis_names[an],
                           (gint64) floor (pos[an] / res[an]));
  info = g_strdup_printf ("mip %u", self->mip);
  gtk_label_set_label (GTK_LABEL (self->plane_label), plane);
  gtk_label_set_label (GTK_LABEL (self->info_label), info);
}

static gboolean
after_frame (gpointer user_data)
{
  CleaveSliceView *self = user_data;
  gboolean first_complete = self->first_complete;

  self->labels_idle = 0;
  self->first_complete = FALSE;
  update_labels (self);
  g_signal_emit (self, signals[FRAME], 0, first_complete);
  return G_SOURCE_REMOVE;
}

static gboolean
area_render (GtkGLArea       *area,
             GdkGLContext    *context,
             CleaveSliceView *self)
{
  ViewGeometry vg;
  mat4 mvp;
  guint image_mip = 0, seg_mip = 0, missing = 0;
  gsize uploaded = 0;
  const CleaveVolumeInfo *image_info;
  gboolean was_complete = self->complete;
  gint64 render_start = g_get_monotonic_time ();

  /* The window's background in the dark scheme, so the view's margin blends in. */
  glClearColor (0.118f, 0.118f, 0.118f, 1.0f);
  glClear (GL_COLOR_BUFFER_BIT);
  if (self->source == NULL || self->gl_failed)
    return TRUE;

  self->frame++;
  view_geometry (self, &vg);
  glm_ortho ((float) (vg.u0 - vg.center_u), (float) (vg.u1 - vg.center_u),
             (float) (vg.v1 - vg.center_v), (float) (vg.v0 - vg.center_v), -1.0f, 1.0f, mvp);
  /* Relative to the centre so float precision follows the view, not the dataset. */
  glm_translate (mvp, (vec3) { (float) -vg.center_u, (float) -vg.center_v, 0.0f });

  seg_mip = choose_mip (self, cleave_source_get_info (self->source, CLEAVE_LAYER_SEGMENTATION),
                        vg.zoom * vg.scale_factor);
  image_info = cleave_source_get_info (self->source, CLEAVE_LAYER_IMAGE);
  if (image_info)
    image_mip = choose_mip (self, image_info, vg.zoom * vg.scale_factor);
  self->mip = seg_mip;

  request_chunks (self, &vg, image_mip, seg_mip);

  glBindVertexArray (self->vao);
  glDisable (GL_DEPTH_TEST);
  glDisable (GL_BLEND);
  draw_layer (self, &vg, CLEAVE_LAYER_IMAGE, image_mip, mvp, &uploaded, &missing);
  if (cleave_viewport_get_show_segmentation (self->viewport))
    {
      glEnable (GL_BLEND);
      glBlendFunc (GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
      draw_layer (self, &vg, CLEAVE_LAYER_SEGMENTATION, seg_mip, mvp, &uploaded, &missing);
      glDisable (GL_BLEND);
    }
  glBindVertexArray (0);
  glUseProgram (0);

  evict_textures (self);
  g_debug ("%s frame %u: mip %u, %u chunks missing, %.1f MB uploaded, %.1f ms",
           plane_names[self->plane], self->frame, seg_mip, missing, uploaded / 1e6,
           (g_get_monotonic_time () - render_start) / 1000.0);
  self->complete = missing == 0;
  /* What the budget held back goes up next frame. */
  if (uploaded >= UPLOAD_BUDGET)
    gtk_widget_queue_draw (self->area);

  /* Labels change size, and listeners may change more: not in the
   * middle of a paint. */
  self->first_complete |= self->complete && !was_complete;
  if (self->labels_idle == 0)
    self->labels_idle = g_idle_add_full (G_PRIORITY_HIGH_IDLE, after_frame, self, NULL);
  return TRUE;
}

/* Input ----------------------------------------------------------------- */

void
cleave_slice_view_point_to_world (CleaveSliceView *self,
                                  double           x,
                                  double           y,
                                  double           world[3])
{
  ViewGeometry vg;

  view_geometry (self, &vg);
  world[self->axes[0]] = vg.center_u + (x - vg.width / 2.0) / vg.zoom;
  world[self->axes[1]] = vg.center_v + (y - vg.height / 2.0) / vg.zoom;
  world[self->axes[2]] = vg.depth;
}

static void
motion (GtkEventControllerMotion *controller,
        double                    x,
        double                    y,
        CleaveSliceView          *self)
{
  double world[3];

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->source == NULL || self->dragging)
    return;
  cleave_slice_view_point_to_world (self, x, y, world);
  g_signal_emit (self, signals[HOVER], 0, TRUE, world[0], world[1], world[2]);
}

static void
leave (GtkEventControllerMotion *controller,
       CleaveSliceView          *self)
{
  g_signal_emit (self, signals[HOVER], 0, FALSE, 0.0, 0.0, 0.0);
}

static void
drag_begin (GtkGestureDrag  *gesture,
            double           x,
            double           y,
            CleaveSliceView *self)
{
  cleave_viewport_get_position (self->viewport, self->drag_pos);
  self->dragging = FALSE;
}

static void
drag_update (GtkGestureDrag  *gesture,
             double           dx,
             double           dy,
             CleaveSliceView *self)
{
  double pos[3], zoom = cleave_viewport_get_zoom (self->viewport);

  if (self->source == NULL)
    return;
  if (!self->dragging && hypot (dx, dy) < CLICK_SLOP)
    return;
  if (!self->dragging)
    {
      self->dragging = TRUE;
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
    }
  memcpy (pos, self->drag_pos, sizeof pos);
  pos[self->axes[0]] -= dx / zoom;
  pos[self->axes[1]] -= dy / zoom;
  cleave_viewport_set_position (self->viewport, pos);
}

static void
drag_end (GtkGestureDrag  *gesture,
          double           dx,
          double           dy,
          CleaveSliceView *self)
{
  double x, y, world[3];
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
  if (self->dragging || self->source == NULL)
    {
      self->dragging = FALSE;
      return;
    }
  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  cleave_slice_view_point_to_world (self, x + dx, y + dy, world);
  g_signal_emit (self, signals[CLICKED], 0, button, world[0], world[1], world[2]);
}

static void
zoom_at (CleaveSliceView *self,
         double           factor,
         double           x,
         double           y)
{
  double before[3], pos[3], zoom;
  ViewGeometry vg;

  cleave_slice_view_point_to_world (self, x, y, before);
  zoom = cleave_viewport_get_zoom (self->viewport) * factor;
  cleave_viewport_get_position (self->viewport, pos);
  view_geometry (self, &vg);
  /* Keep the point under the pointer where it is. */
  pos[self->axes[0]] = before[self->axes[0]] - (x - vg.width / 2.0) / zoom;
  pos[self->axes[1]] = before[self->axes[1]] - (y - vg.height / 2.0) / zoom;
  cleave_viewport_set_zoom (self->viewport, zoom);
  cleave_viewport_set_position (self->viewport, pos);
}

static gboolean
scroll (GtkEventControllerScroll *controller,
        double                    dx,
        double                    dy,
        CleaveSliceView          *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (self->source == NULL)
    return FALSE;
  if (state & (GDK_CONTROL_MASK | GDK_SHIFT_MASK))
    {
      double d = dy != 0 ? dy : dx;

      cleave_slice_view_step_slice (self, d > 0 ? 1 : d < 0 ? -1 : 0);
      return TRUE;
    }
  zoom_at (self, pow (1.15, -dy), self->pointer_x, self->pointer_y);
  return TRUE;
}

/* Public ---------------------------------------------------------------- */

void
cleave_slice_view_step_slice (CleaveSliceView *self,
                              int              steps)
{
  double pos[3], res[3], lo[3], hi[3];
  guint an = self->axes[2];
  gint64 index;

  g_return_if_fail (CLEAVE_IS_SLICE_VIEW (self));

  if (self->source == NULL || steps == 0)
    return;
  cleave_viewport_get_position (self->viewport, pos);
  cleave_source_get_resolution (self->source, 0, res);
  cleave_source_get_bounds (self->source, lo, hi);
  index = (gint64) floor (pos[an] / res[an]) + steps;
  index = CLAMP (index, (gint64) floor (lo[an] / res[an]), (gint64) ceil (hi[an] / res[an]) - 1);
  pos[an] = (index + 0.5) * res[an];
  cleave_viewport_set_position (self->viewport, pos);
}

void
cleave_slice_view_pan (CleaveSliceView *self,
                       double           fx,
                       double           fy)
{
  double pos[3], zoom;

  g_return_if_fail (CLEAVE_IS_SLICE_VIEW (self));

  cleave_viewport_get_position (self->viewport, pos);
  zoom = cleave_viewport_get_zoom (self->viewport);
  pos[self->axes[0]] += fx * MAX (1, gtk_widget_get_width (GTK_WIDGET (self))) / zoom;
  pos[self->axes[1]] += fy * MAX (1, gtk_widget_get_height (GTK_WIDGET (self))) / zoom;
  cleave_viewport_set_position (self->viewport, pos);
}

static void
viewport_changed (CleaveViewport  *viewport,
                  CleaveSliceView *self)
{
  /* Whatever changed, the last frame no longer shows it. */
  self->complete = FALSE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
partial_render (gpointer user_data)
{
  CleaveSliceView *self = user_data;

  self->partial_timeout = 0;
  gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
  return G_SOURCE_REMOVE;
}

/* While chunks stream in, a frame is drawn when all the view waits for is
 * there, or every PARTIAL_INTERVAL_MS to show progress: each frame costs
 * (with software GL, a lot), and draws CPU from the decoding. */
static void
chunks_ready (CleaveSource    *source,
              CleaveSliceView *self)
{
  gboolean all = TRUE;

  if (self->complete || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  for (guint i = 0; i < self->waiting->len && all; i++)
    {
      g_autoptr(CleaveSliceChunk) chunk = cleave_source_lookup (source, g_array_index (self->waiting, guint64, i));

      all = chunk != NULL;
    }
  if (all)
    {
      g_clear_handle_id (&self->partial_timeout, g_source_remove);
      gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
    }
  else if (self->partial_timeout == 0)
    self->partial_timeout = g_timeout_add (PARTIAL_INTERVAL_MS, partial_render, self);
}

void
cleave_slice_view_set_source (CleaveSliceView *self,
                              CleaveSource    *source)
{
  g_return_if_fail (CLEAVE_IS_SLICE_VIEW (self));

  if (self->source == source)
    return;
  if (self->source != NULL)
    {
      g_clear_signal_handler (&self->chunks_ready_id, self->source);
      cleave_source_remove_client (self->source, self->client);
      g_clear_object (&self->source);
    }
  if (self->textures != NULL && gtk_widget_get_realized (self->area))
    {
      gtk_gl_area_make_current (GTK_GL_AREA (self->area));
      g_hash_table_remove_all (self->textures);
      self->texture_bytes = 0;
    }
  self->complete = FALSE;
  if (source != NULL)
    {
      self->source = g_object_ref (source);
      self->client = cleave_source_add_client (source);
      self->chunks_ready_id = g_signal_connect (source, "chunks-ready", G_CALLBACK (chunks_ready), self);
    }
  gtk_widget_set_visible (self->plane_label, source != NULL);
  gtk_widget_set_visible (self->info_label, source != NULL);
  gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
}

CleavePlane
cleave_slice_view_get_plane (CleaveSliceView *self)
{
  return self->plane;
}

const char *
cleave_slice_view_get_plane_name (CleaveSliceView *self)
{
  return plane_names[self->plane];
}

void
cleave_slice_view_get_axes (CleaveSliceView *self,
                            guint            axes[3])
{
  memcpy (axes, self->axes, sizeof self->axes);
}

guint
cleave_slice_view_get_mip (CleaveSliceView *self)
{
  return self->mip;
}

gboolean
cleave_slice_view_is_complete (CleaveSliceView *self)
{
  return self->source != NULL && self->complete;
}

guint
cleave_slice_view_get_n_frames (CleaveSliceView *self)
{
  return self->frame;
}

/* The crosshair: where the other two planes cut this one. */
static void
cleave_slice_view_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  CleaveSliceView *self = CLEAVE_SLICE_VIEW (widget);
  static const GdkRGBA plane_colours[3] = {
    { 0.36f, 0.62f, 0.98f, 0.55f },   /* XY: blue */
    { 0.34f, 0.85f, 0.50f, 0.55f },   /* XZ: green */
    { 0.96f, 0.38f, 0.38f, 0.55f },   /* YZ: red */
  };
  float w = (float) gtk_widget_get_width (widget), h = (float) gtk_widget_get_height (widget);
  int vertical_plane, horizontal_plane;

  gtk_widget_snapshot_child (widget, self->overlay, snapshot);
  if (self->source == NULL)
    return;

  /* The vertical line is the plane whose normal is this view's u axis. */
  vertical_plane = self->axes[0] == 0 ? CLEAVE_PLANE_YZ : self->axes[0] == 1 ? CLEAVE_PLANE_XZ : CLEAVE_PLANE_XY;
  horizontal_plane = self->axes[1] == 0 ? CLEAVE_PLANE_YZ : self->axes[1] == 1 ? CLEAVE_PLANE_XZ : CLEAVE_PLANE_XY;
  gtk_snapshot_append_color (snapshot, &plane_colours[vertical_plane],
                             &GRAPHENE_RECT_INIT (floorf (w / 2), 0, 1, h / 2 - 8));
  gtk_snapshot_append_color (snapshot, &plane_colours[vertical_plane],
                             &GRAPHENE_RECT_INIT (floorf (w / 2), h / 2 + 8, 1, h / 2 - 8));
  gtk_snapshot_append_color (snapshot, &plane_colours[horizontal_plane],
                             &GRAPHENE_RECT_INIT (0, floorf (h / 2), w / 2 - 8, 1));
  gtk_snapshot_append_color (snapshot, &plane_colours[horizontal_plane],
                             &GRAPHENE_RECT_INIT (w / 2 + 8, floorf (h / 2), w / 2 - 8, 1));
}

static void
cleave_slice_view_unmap (GtkWidget *widget)
{
  CleaveSliceView *self = CLEAVE_SLICE_VIEW (widget);

  /* A hidden view wants nothing loaded. */
  if (self->source != NULL)
    cleave_source_request (self->source, self->client, NULL, 0);
  self->complete = FALSE;
  GTK_WIDGET_CLASS (cleave_slice_view_parent_class)->unmap (widget);
}

static void
cleave_slice_view_dispose (GObject *object)
{
  CleaveSliceView *self = CLEAVE_SLICE_VIEW (object);

  if (self->viewport != NULL)
    g_signal_handlers_disconnect_by_func (self->viewport, viewport_changed, self);
  cleave_slice_view_set_source (self, NULL);
  g_clear_handle_id (&self->labels_idle, g_source_remove);
  g_clear_handle_id (&self->partial_timeout, g_source_remove);
  g_clear_pointer (&self->waiting, g_array_unref);
  g_clear_pointer (&self->overlay, gtk_widget_unparent);
  g_clear_object (&self->viewport);

  G_OBJECT_CLASS (cleave_slice_view_parent_class)->dispose (object);
}

static void
cleave_slice_view_class_init (CleaveSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cleave_slice_view_dispose;
  widget_class->snapshot = cleave_slice_view_snapshot;
  widget_class->unmap = cleave_slice_view_unmap;

  /* (inside, x, y, z): the pointer's world position in nm. */
  signals[HOVER] = g_signal_new ("hover", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 4, G_TYPE_BOOLEAN, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  /* (button, x, y, z): a press and release without a drag. */
  signals[CLICKED] = g_signal_new ("clicked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 4, G_TYPE_UINT, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  /* (first_complete): after every frame; TRUE when it is the first one
   * that drew everything since the view was last incomplete. */
  signals[FRAME] = g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sliceview");
}

static void
cleave_slice_view_init (CleaveSliceView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;
  GtkWidget *box;

  self->waiting = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->overlay = gtk_overlay_new ();
  gtk_widget_set_parent (self->overlay, GTK_WIDGET (self));

  self->area = gtk_gl_area_new ();
  gtk_widget_set_hexpand (self->area, TRUE);
  gtk_widget_set_vexpand (self->area, TRUE);
  gtk_gl_area_set_auto_render (GTK_GL_AREA (self->area), FALSE);
  g_signal_connect (self->area, "realize", G_CALLBACK (area_realize), self);
  g_signal_connect (self->area, "unrealize", G_CALLBACK (area_unrealize), self);
  g_signal_connect (self->area, "render", G_CALLBACK (area_render), self);
  gtk_overlay_set_child (GTK_OVERLAY (self->overlay), self->area);

  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_valign (box, GTK_ALIGN_START);
  gtk_widget_set_halign (box, GTK_ALIGN_FILL);
  gtk_widget_set_can_target (box, FALSE);
  gtk_widget_add_css_class (box, "slice-badges");
  self->plane_label = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->plane_label, "slice-badge");
  gtk_box_append (GTK_BOX (box), self->plane_label);
  self->info_label = gtk_label_new (NULL);
  gtk_widget_set_hexpand (self->info_label, TRUE);
  gtk_widget_set_halign (self->info_label, GTK_ALIGN_END);
  gtk_widget_add_css_class (self->info_label, "slice-badge");
  gtk_box_append (GTK_BOX (box), self->info_label);
  gtk_widget_set_visible (self->plane_label, FALSE);
  gtk_widget_set_visible (self->info_label, FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (self->overlay), box);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), 0);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES
                                                | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
}

GtkWidget *
cleave_slice_view_new (CleavePlane     plane,
                       CleaveViewport *viewport)
{
  CleaveSliceView *self = g_object_new (CLEAVE_TYPE_SLICE_VIEW, NULL);

  self->plane = plane;
  memcpy (self->axes, plane_axes[plane], sizeof self->axes);
  self->viewport = g_object_ref (viewport);
  g_signal_connect (viewport, "changed", G_CALLBACK (viewport_changed), self);
  gtk_widget_add_css_class (GTK_WIDGET (self), plane == CLEAVE_PLANE_XY ? "xy" : plane == CLEAVE_PLANE_XZ ? "xz" : "yz");
  return GTK_WIDGET (self);
}
