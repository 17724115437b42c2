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
/* While loading, the shortest wait between two partial frames, and how
 * many frames' time it is at least: with software GL a frame costs tens
 * of ms, taken from decoding. */
#define PARTIAL_INTERVAL_MS 120
#define PARTIAL_FRAMES 3
/* Objects other than the selected one, with "dim others". */
#define DIM_FACTOR 0.15f

typedef struct
{
  GLuint       texture;
  GLuint       palette;
  CleaveLayer  layer;
  gboolean     empty;
  gsize        bytes;
  guint        last_frame;
  int          size[3];
  gint64       lo[3];
  guint        mip;
  /* Segmentation: the roots in the palette, the colour seed they are
   * coloured for, and the chunk they came from. */
  guint64     *roots;
  guint        n_labels;
  guint        seed;
  guint        epoch;
  guint64      serial;
  guint64      voxel_serial;
  /* Whether the palette holds a root: the last two asked (hovered,
   * selected) and the answers. */
  guint64      asked[2];
  gboolean     has[2];
} Tex;

typedef struct
{
  GLuint program;
  GLint  mvp, rect, plane_to_world, depth, res, chunk_lo, chunk_size;
  GLint  sampler, palette, step_u, step_v, hovered, selected, opacity, other_alpha;
} Program;

typedef struct
{
  Program image;
  Program seg;
  Program outline;
} Programs;

/* One chunk to draw, and how. */
typedef struct
{
  Tex      *tex;
  guint     mip;
  Program  *program;
} DrawItem;

/* Everything a picture depends on: two pictures with equal keys hold the
 * same pixels, and two that differ only in x0, y0 the same pixels moved. */
typedef struct
{
  int       width, height;       /* physical px */
  double    px_per_nm;
  gint64    x0, y0;              /* top-left corner, px from world 0 */
  double    depth;               /* compared by the voxel it falls in */
  guint     mips[2];
  gboolean  show_segmentation;
  float     opacity, other_alpha;
  guint     seed;
  guint64   hovered, selected;   /* 0 unless a chunk drawn holds them */
  guint64   content;             /* changes with every texture made */
} PictureKey;

struct _CleaveSliceView
{
  GtkWidget        parent_instance;

  CleavePlane      plane;
  guint            axes[3];
  CleaveViewport  *viewport;
  CleaveSource    *source;
  guint            client;
  gulong           chunks_ready_id;
  gulong           data_changed_id;

  GtkWidget       *overlay;
  GtkWidget       *area;
  GtkWidget       *plane_label;
  GtkWidget       *info_label;

  /* GL state, valid while the area is realized. */
  Programs         programs;
  gboolean         own_programs;
  GLuint           vao;
  GLuint           vbo;
  GHashTable      *textures;      /* key -> Tex */
  gsize            texture_bytes;
  guint64          content;       /* goes up with every texture made */

  /* The last picture, kept to draw again or to move when panning, and
   * the buffer the next one is made in. */
  GLuint           picture_fbo[2];
  GLuint           picture_texture[2];
  int              picture_width, picture_height;
  guint            picture;       /* which of the two holds it */
  gboolean         picture_valid;
  PictureKey       picture_key;

  guint            frame;
  guint            mip;
  gboolean         complete;
  gboolean         gl_failed;
  gboolean         render_again;
  guint            labels_idle;
  guint            partial_timeout;
  gint64           render_start;
  gint64           frame_cost;    /* µs from render to after the paint */
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
  g_free (tex->roots);
  g_free (tex);
}

/* Colours --------------------------------------------------------------- */

static guint32
hash32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

guint32
_cleave_slice_root_colour (guint64 root,
                           guint   seed)
{
  static const float shift[3] = { 0.0f, 2.0f / 3.0f, 1.0f / 3.0f };
  guint32 h = hash32 ((guint32) root ^ hash32 ((guint32) (root >> 32) ^ hash32 (seed)));
  float hue = (float) (h & 0xffff) / 65536.0f;
  float s = 0.55f + 0.45f * (float) ((h >> 16) & 0xff) / 255.0f;
  float v = 0.80f + 0.20f * (float) (h >> 24) / 255.0f;
  guint32 rgb = 0;

  /* HSV to RGB, as GLSL would: v * mix (1, k, s). */
  for (guint c = 0; c < 3; c++)
    {
      float f = hue + shift[c];
      float k = CLAMP (fabsf ((f - floorf (f)) * 6.0f - 3.0f) - 1.0f, 0.0f, 1.0f);

      rgb |= (guint32) lrintf (v * (1.0f + (k - 1.0f) * s) * 255.0f) << (8 * c);
    }
  return rgb;
}

/* The palette texture: (root low, root high, colour, 0) per index. The
 * colour is worked out here, once per object and chunk, rather than per
 * pixel in the shader. */
static void
fill_palette (GLuint         *palette_texture,
              const guint64  *roots,
              guint           n_labels,
              guint           seed)
{
  guint rows = (n_labels + 255) / 256;
  g_autofree guint32 *palette = g_new0 (guint32, (gsize) rows * 256 * 4);

  for (guint i = 1; i < n_labels; i++)
    {
      palette[4 * i + 0] = (guint32) roots[i];
      palette[4 * i + 1] = (guint32) (roots[i] >> 32);
      palette[4 * i + 2] = roots[i] != 0 ? _cleave_slice_root_colour (roots[i], seed) : 0;
    }
  if (*palette_texture == 0)
    {
      glGenTextures (1, palette_texture);
      glBindTexture (GL_TEXTURE_2D, *palette_texture);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
      glTexImage2D (GL_TEXTURE_2D, 0, GL_RGBA32UI, 256, (GLsizei) rows, 0,
                    GL_RGBA_INTEGER, GL_UNSIGNED_INT, palette);
    }
  else
    {
      glBindTexture (GL_TEXTURE_2D, *palette_texture);
      glTexSubImage2D (GL_TEXTURE_2D, 0, 0, 0, 256, (GLsizei) rows,
                       GL_RGBA_INTEGER, GL_UNSIGNED_INT, palette);
    }
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
              const char  *version,
              const char  *defines,
              const char  *fragment,
              GError     **error)
{
  g_autofree char *header = g_strconcat (version, defines, NULL);
  GLuint vs = compile_shader (GL_VERTEX_SHADER, version, CLEAVE_RESOURCE_PREFIX "/shaders/slice.vert", error);
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
  LOC (opacity, "opacity");
  LOC (other_alpha, "other_alpha");
#undef LOC
  return TRUE;
}

static gboolean
link_programs (Programs    *programs,
               const char  *version,
               GError     **error)
{
  return link_program (&programs->image, version, "", CLEAVE_RESOURCE_PREFIX "/shaders/image.frag", error)
         && link_program (&programs->seg, version, "", CLEAVE_RESOURCE_PREFIX "/shaders/segmentation.frag", error)
         && link_program (&programs->outline, version, "#define OUTLINE 1\n",
                          CLEAVE_RESOURCE_PREFIX "/shaders/segmentation.frag", error);
}

static void
delete_programs (Programs *programs)
{
  Program *p[3] = { &programs->image, &programs->seg, &programs->outline };

  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    if (p[i]->program)
      glDeleteProgram (p[i]->program);
  memset (programs, 0, sizeof *programs);
}

/* The programs are shared by the views of a display: GDK's GL contexts
 * all share objects with the display's, so the shaders are compiled (and
 * with software GL turned into machine code, tens of ms each) once, not
 * for every view of every window. A context that does not share gets its
 * own. */
static gboolean
get_programs (CleaveSliceView  *self,
              GdkGLContext     *context,
              GError          **error)
{
  gboolean es = gdk_gl_context_get_use_es (context);
  GObject *display = G_OBJECT (gdk_gl_context_get_display (context));
  const char *name = es ? "cleave-slice-view-programs-es" : "cleave-slice-view-programs";
  Programs *shared = g_object_get_data (display, name);

  if (shared != NULL && glIsProgram (shared->image.program) && glIsProgram (shared->seg.program)
      && glIsProgram (shared->outline.program))
    {
      self->programs = *shared;
      self->own_programs = FALSE;
      return TRUE;
    }
  if (!link_programs (&self->programs, es ? "#version 300 es\nprecision highp float;\nprecision highp int;\n"
                                          : "#version 330 core\n", error))
    {
      delete_programs (&self->programs);
      return FALSE;
    }
  self->own_programs = shared != NULL;
  if (shared == NULL)
    g_object_set_data_full (display, name, g_memdup2 (&self->programs, sizeof (Programs)), g_free);
  return TRUE;
}

/* One GL context for the views of all windows of a display: software GL
 * turns each shader into machine code again in every context (25-30 ms
 * in each view's first frame under llvmpipe). The views set all the
 * state they use, and render one after another on the main thread. */
static GdkGLContext *
area_create_context (GtkGLArea       *area,
                     CleaveSliceView *self)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (area));
  GdkGLContext *context = g_object_get_data (G_OBJECT (display), "cleave-slice-view-context");
  g_autoptr(GError) error = NULL;

  if (context != NULL)
    return g_object_ref (context);
  context = gdk_display_create_gl_context (display, &error);
  if (context != NULL && !gdk_gl_context_realize (context, &error))
    g_clear_object (&context);
  if (context == NULL)
    {
      /* GtkGLArea's own way, for a display that has no context of its own. */
      g_clear_error (&error);
      context = gdk_surface_create_gl_context (gtk_native_get_surface (gtk_widget_get_native (GTK_WIDGET (area))),
                                               &error);
      if (context != NULL && !gdk_gl_context_realize (context, &error))
        g_clear_object (&context);
      if (context == NULL)
        gtk_gl_area_set_error (area, error);
      return context;
    }
  g_object_set_data_full (G_OBJECT (display), "cleave-slice-view-context", g_object_ref (context), g_object_unref);
  return context;
}

static void
area_realize (GtkGLArea       *area,
              CleaveSliceView *self)
{
  static const float corners[] = { 0, 0, 1, 0, 0, 1, 1, 1 };
  g_autoptr(GError) error = NULL;

  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) != NULL)
    {
      self->gl_failed = TRUE;
      return;
    }

  if (!get_programs (self, gtk_gl_area_get_context (area), &error))
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
  self->picture_valid = FALSE;
}

static void
delete_pictures (CleaveSliceView *self)
{
  if (self->picture_fbo[0])
    {
      glDeleteFramebuffers (2, self->picture_fbo);
      glDeleteTextures (2, self->picture_texture);
    }
  memset (self->picture_fbo, 0, sizeof self->picture_fbo);
  memset (self->picture_texture, 0, sizeof self->picture_texture);
  self->picture_width = self->picture_height = 0;
  self->picture_valid = FALSE;
}

static void
area_unrealize (GtkGLArea       *area,
                CleaveSliceView *self)
{
  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) == NULL)
    {
      g_clear_pointer (&self->textures, g_hash_table_unref);
      delete_pictures (self);
      if (self->vbo)
        glDeleteBuffers (1, &self->vbo);
      if (self->vao)
        glDeleteVertexArrays (1, &self->vao);
      if (self->own_programs)
        delete_programs (&self->programs);
    }
  /* Without a context, what it held is gone with it. */
  g_clear_pointer (&self->textures, g_hash_table_unref);
  memset (self->picture_fbo, 0, sizeof self->picture_fbo);
  memset (self->picture_texture, 0, sizeof self->picture_texture);
  self->picture_width = self->picture_height = 0;
  self->picture_valid = FALSE;
  self->vbo = self->vao = 0;
  memset (&self->programs, 0, sizeof self->programs);
  self->own_programs = FALSE;
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
  double  center_u, center_v, depth;   /* the viewport's position, nm */
  double  zoom;                         /* logical px per nm */
  int     width, height;                /* logical px */
  int     scale_factor;
  double  px_per_nm;                    /* physical px per nm */
  int     pw, ph;                       /* physical px */
  gint64  x0, y0;                       /* the picture's top-left, px from world 0 */
  double  u0, u1, v0, v1;               /* what it shows, nm */
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
  vg->px_per_nm = vg->zoom * vg->scale_factor;
  vg->pw = vg->width * vg->scale_factor;
  vg->ph = vg->height * vg->scale_factor;
  /* The picture sits on a grid of pixels anchored at the world's origin,
   * so a pan moves it by whole pixels and most of it can be copied. */
  vg->x0 = (gint64) floor ((vg->center_u - vg->width / 2.0 / vg->zoom) * vg->px_per_nm + 0.5);
  vg->y0 = (gint64) floor ((vg->center_v - vg->height / 2.0 / vg->zoom) * vg->px_per_nm + 0.5);
  vg->u0 = vg->x0 / vg->px_per_nm;
  vg->u1 = (vg->x0 + vg->pw) / vg->px_per_nm;
  vg->v0 = vg->y0 / vg->px_per_nm;
  vg->v1 = (vg->y0 + vg->ph) / vg->px_per_nm;
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

/* Whether two depths (nm) fall in the same voxel of every mip of both
 * layers: then the plane cuts the same voxels. */
static gboolean
same_slice (CleaveSliceView *self,
            double           a,
            double           b)
{
  guint an = self->axes[2];

  if (a == b)
    return TRUE;
  for (guint layer = 0; layer < 2; layer++)
    {
      const CleaveVolumeInfo *info = cleave_source_get_info (self->source, layer);

      for (guint m = 0; info != NULL && m < info->scales->len; m++)
        {
          const CleaveScale *s = &g_array_index (info->scales, CleaveScale, m);

          if (floor (a / s->resolution[an]) != floor (b / s->resolution[an]))
            return FALSE;
        }
    }
  return TRUE;
}

/* Upload ---------------------------------------------------------------- */

gsize
_cleave_slice_chunk_upload (CleaveSliceChunk *chunk,
                            guint             seed,
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

  glTexImage3D (GL_TEXTURE_3D, 0, chunk->wide ? GL_R32UI : GL_R16UI,
                chunk->size[0], chunk->size[1], chunk->size[2], 0,
                GL_RED_INTEGER, chunk->wide ? GL_UNSIGNED_INT : GL_UNSIGNED_SHORT, chunk->indices);
  bytes *= chunk->wide ? 4 : 2;
  fill_palette (palette_texture, chunk->roots, chunk->n_labels, seed);
  return bytes + (gsize) (chunk->n_labels + 255) / 256 * 256 * 16;
}

static Tex *
upload (CleaveSliceView  *self,
        CleaveSliceChunk *chunk)
{
  Tex *tex = g_new0 (Tex, 1);

  tex->layer = chunk->layer;
  tex->mip = chunk->mip;
  memcpy (tex->size, chunk->size, sizeof tex->size);
  memcpy (tex->lo, chunk->lo, sizeof tex->lo);
  tex->empty = chunk->empty;
  tex->seed = cleave_viewport_get_color_seed (self->viewport);
  tex->bytes = 64 + _cleave_slice_chunk_upload (chunk, tex->seed, &tex->texture, &tex->palette);
  tex->epoch = chunk->epoch;
  tex->serial = chunk->serial;
  tex->voxel_serial = chunk->voxel_serial;
  if (chunk->layer == CLEAVE_LAYER_SEGMENTATION && !chunk->empty)
    {
      tex->n_labels = chunk->n_labels;
      tex->roots = g_memdup2 (chunk->roots, sizeof (guint64) * chunk->n_labels);
      tex->bytes += sizeof (guint64) * chunk->n_labels;
    }
  self->content++;
  return tex;
}

static void
insert_tex (CleaveSliceView *self,
            guint64          key,
            Tex             *tex)
{
  self->texture_bytes += tex->bytes;
  g_hash_table_replace (self->textures, g_memdup2 (&key, sizeof key), tex);
}

/* A segmentation texture made before the dataset last changed: brought up
 * to date from the source's chunk when that is current, by a new palette
 * when only the roots changed. Until then the old one is drawn. */
static Tex *
refresh_tex (CleaveSliceView *self,
             guint64          key,
             Tex             *tex,
             gsize           *uploaded)
{
  g_autoptr(CleaveSliceChunk) chunk = cleave_source_lookup (self->source, key);

  if (chunk == NULL || chunk->epoch == tex->epoch)
    return tex;
  if (chunk->serial == tex->serial)
    tex->epoch = chunk->epoch;
  else if (chunk->voxel_serial == tex->voxel_serial && !chunk->empty)
    {
      /* Same voxels, new roots: a palette of the same size. */
      memcpy (tex->roots, chunk->roots, sizeof (guint64) * tex->n_labels);
      tex->seed = cleave_viewport_get_color_seed (self->viewport);
      fill_palette (&tex->palette, tex->roots, tex->n_labels, tex->seed);
      tex->asked[0] = tex->asked[1] = 0;
      tex->has[0] = tex->has[1] = FALSE;
      tex->epoch = chunk->epoch;
      tex->serial = chunk->serial;
      self->content++;
    }
  else if (*uploaded < UPLOAD_BUDGET)
    {
      Tex *fresh = upload (self, chunk);

      fresh->last_frame = tex->last_frame;
      *uploaded += fresh->bytes;
      self->texture_bytes -= tex->bytes;
      insert_tex (self, key, fresh);
      tex = fresh;
    }
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

/* Whether @tex's palette holds @root; @slot remembers one question. */
static gboolean
tex_has_root (Tex     *tex,
              guint    slot,
              guint64  root)
{
  if (root == 0 || tex->roots == NULL)
    return FALSE;
  if (tex->asked[slot] != root)
    {
      tex->asked[slot] = root;
      tex->has[slot] = FALSE;
      for (guint i = 1; i < tex->n_labels && !tex->has[slot]; i++)
        tex->has[slot] = tex->roots[i] == root;
    }
  return tex->has[slot];
}

/* Whether a segmentation chunk drawn in the last frame holds @root. */
static gboolean
root_drawn (CleaveSliceView *self,
            guint            slot,
            guint64          root)
{
  GHashTableIter iter;
  gpointer value;

  if (root == 0 || self->textures == NULL)
    return FALSE;
  g_hash_table_iter_init (&iter, self->textures);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Tex *tex = value;

      if (tex->last_frame == self->frame && tex_has_root (tex, slot, root))
        return TRUE;
    }
  return FALSE;
}

static void
choose_mips (CleaveSliceView    *self,
             const ViewGeometry *vg,
             guint               mips[2])
{
  const CleaveVolumeInfo *image_info = cleave_source_get_info (self->source, CLEAVE_LAYER_IMAGE);

  mips[CLEAVE_LAYER_SEGMENTATION] = choose_mip (self, cleave_source_get_info (self->source, CLEAVE_LAYER_SEGMENTATION),
                                                vg->px_per_nm);
  mips[CLEAVE_LAYER_IMAGE] = image_info ? choose_mip (self, image_info, vg->px_per_nm) : 0;
}

/* The key of the picture the view would draw now, from the chunks drawn
 * in the last frame (render has just marked this frame's). */
static void
picture_key (CleaveSliceView    *self,
             const ViewGeometry *vg,
             const guint         mips[2],
             PictureKey         *key)
{
  guint64 hovered = cleave_viewport_get_hovered (self->viewport);
  guint64 selected = cleave_viewport_get_selected (self->viewport);

  memset (key, 0, sizeof *key);
  key->width = vg->pw;
  key->height = vg->ph;
  key->px_per_nm = vg->px_per_nm;
  key->x0 = vg->x0;
  key->y0 = vg->y0;
  key->depth = vg->depth;
  memcpy (key->mips, mips, sizeof key->mips);
  key->content = self->content;
  key->show_segmentation = cleave_viewport_get_show_segmentation (self->viewport);
  if (!key->show_segmentation)
    return;
  key->opacity = (float) cleave_viewport_get_opacity (self->viewport);
  key->other_alpha = key->opacity;
  if (cleave_viewport_get_dim_others (self->viewport) && selected != 0)
    key->other_alpha *= DIM_FACTOR;
  key->seed = cleave_viewport_get_color_seed (self->viewport);
  key->hovered = root_drawn (self, 0, hovered) ? hovered : 0;
  key->selected = root_drawn (self, 1, selected) ? selected : 0;
}

/* 0: the same picture; 1: the same moved by whole pixels; 2: another. */
static int
compare_keys (CleaveSliceView  *self,
              const PictureKey *a,
              const PictureKey *b)
{
  if (a->width != b->width || a->height != b->height || a->px_per_nm != b->px_per_nm
      || !same_slice (self, a->depth, b->depth) || memcmp (a->mips, b->mips, sizeof a->mips) != 0
      || a->show_segmentation != b->show_segmentation || a->opacity != b->opacity
      || a->other_alpha != b->other_alpha || a->seed != b->seed || a->hovered != b->hovered
      || a->selected != b->selected || a->content != b->content)
    return 2;
  if (a->x0 == b->x0 && a->y0 == b->y0)
    return 0;
  if (ABS (a->x0 - b->x0) >= a->width || ABS (a->y0 - b->y0) >= a->height)
    return 2;
  return 1;
}

/* The chunks of @layer to draw, coarse first, uploading what is ready
 * (within the frame's budget); the missing and stale ones are appended to
 * @request. */
static void
plan_layer (CleaveSliceView    *self,
            const ViewGeometry *vg,
            CleaveLayer         layer,
            guint               target_mip,
            GArray             *items,
            GArray             *request,
            gsize              *uploaded,
            guint              *missing)
{
  const CleaveVolumeInfo *info = cleave_source_get_info (self->source, layer);
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint epoch = cleave_source_get_epoch (self->source);
  guint seed = cleave_viewport_get_color_seed (self->viewport);
  guint64 hovered = cleave_viewport_get_hovered (self->viewport);
  guint64 selected = cleave_viewport_get_selected (self->viewport);
  guint layer_missing = 0;

  if (info == NULL)
    return;

  /* The target mip's chunks go up first; if every one is there, coarser
   * mips are not drawn at all (software GL pays for every pass). */
  visible_chunks (self, vg, layer, target_mip, keys);
  for (guint i = 0; i < keys->len; i++)
    {
      guint64 key = g_array_index (keys, guint64, i);
      Tex *tex = g_hash_table_lookup (self->textures, &key);

      if (tex != NULL && layer == CLEAVE_LAYER_SEGMENTATION && tex->epoch != epoch)
        {
          tex = refresh_tex (self, key, tex, uploaded);
          if (tex->epoch != epoch)
            {
              g_array_append_val (request, key);
              (*missing)++;
            }
        }
      if (tex == NULL && *uploaded < UPLOAD_BUDGET)
        {
          g_autoptr(CleaveSliceChunk) chunk = cleave_source_lookup (self->source, key);

          if (chunk != NULL)
            {
              tex = upload (self, chunk);
              *uploaded += tex->bytes;
              insert_tex (self, key, tex);
              if (layer == CLEAVE_LAYER_SEGMENTATION && tex->epoch != epoch)
                {
                  g_array_append_val (request, key);
                  (*missing)++;
                }
            }
        }
      if (tex == NULL)
        {
          g_array_append_val (request, key);
          (*missing)++;
          layer_missing++;
        }
    }

  /* Coarse mips first, where needed: they stand in where the finer chunks
   * have not arrived yet, and the finer ones are drawn over them. */
  for (int mip = layer_missing ? (int) info->scales->len - 1 : (int) target_mip; mip >= (int) target_mip; mip--)
    {
      if (layer_missing)
        {
          g_array_set_size (keys, 0);
          visible_chunks (self, vg, layer, (guint) mip, keys);
        }

      for (guint i = 0; i < keys->len; i++)
        {
          Tex *tex = g_hash_table_lookup (self->textures, &g_array_index (keys, guint64, i));
          DrawItem item = { tex, (guint) mip, &self->programs.image };

          if (tex == NULL)
            continue;
          tex->last_frame = self->frame;
          if (tex->empty)
            continue;
          if (layer == CLEAVE_LAYER_SEGMENTATION)
            {
              if (tex->seed != seed)
                {
                  /* Shuffled colours: the same roots, new colours. */
                  tex->seed = seed;
                  fill_palette (&tex->palette, tex->roots, tex->n_labels, seed);
                  self->content++;
                }
              /* The outline costs four more lookups a pixel: only where
               * the hovered or selected object is. */
              item.program = tex_has_root (tex, 0, hovered) || tex_has_root (tex, 1, selected)
                             ? &self->programs.outline : &self->programs.seg;
            }
          g_array_append_val (items, item);
        }
    }
}

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
use_program (CleaveSliceView    *self,
             Program            *p,
             const ViewGeometry *vg,
             const PictureKey   *key,
             mat4                mvp)
{
  mat3 p2w;

  plane_to_world_matrix (self, p2w);
  glUseProgram (p->program);
  glUniformMatrix4fv (p->mvp, 1, GL_FALSE, (float *) mvp);
  glUniformMatrix3fv (p->plane_to_world, 1, GL_FALSE, (float *) p2w);
  glUniform1f (p->depth, (float) vg->depth);
  glUniform1i (p->sampler, 0);
  if (p == &self->programs.image)
    return;

  glUniform1i (p->palette, 1);
  glUniform1f (p->opacity, key->opacity);
  glUniform1f (p->other_alpha, key->other_alpha);
  if (p == &self->programs.outline)
    {
      guint64 hovered = cleave_viewport_get_hovered (self->viewport);
      guint64 selected = cleave_viewport_get_selected (self->viewport);
      int step_u[3] = { 0 }, step_v[3] = { 0 };

      step_u[self->axes[0]] = 1;
      step_v[self->axes[1]] = 1;
      glUniform3iv (p->step_u, 1, step_u);
      glUniform3iv (p->step_v, 1, step_v);
      glUniform2ui (p->hovered, (guint32) hovered, (guint32) (hovered >> 32));
      glUniform2ui (p->selected, (guint32) selected, (guint32) (selected >> 32));
    }
}

/* Draws @items (image first, then the segmentation over it) into the
 * bound framebuffer; with @box (x, y, width, height in GL's pixels), only
 * there, and only the chunks that reach it. */
static void
draw_items (CleaveSliceView    *self,
            const ViewGeometry *vg,
            const PictureKey   *key,
            GArray             *items,
            const int          *box)
{
  guint au = self->axes[0], av = self->axes[1];
  Program *current = NULL;
  mat4 mvp;

  glm_ortho ((float) (vg->u0 - vg->center_u), (float) (vg->u1 - vg->center_u),
             (float) (vg->v1 - vg->center_v), (float) (vg->v0 - vg->center_v), -1.0f, 1.0f, mvp);
  /* Relative to the centre so float precision follows the view, not the dataset. */
  glm_translate (mvp, (vec3) { (float) -vg->center_u, (float) -vg->center_v, 0.0f });

  if (box != NULL)
    {
      glEnable (GL_SCISSOR_TEST);
      glScissor (box[0], box[1], box[2], box[3]);
    }
  glClearColor (0.118f, 0.118f, 0.118f, 1.0f);
  glClear (GL_COLOR_BUFFER_BIT);
  glBindVertexArray (self->vao);
  glDisable (GL_DEPTH_TEST);
  glDisable (GL_BLEND);
  glBlendFunc (GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
  for (guint i = 0; i < items->len; i++)
    {
      DrawItem *item = &g_array_index (items, DrawItem, i);
      Tex *tex = item->tex;
      const CleaveScale *s = &g_array_index (cleave_source_get_info (self->source, tex->layer)->scales,
                                             CleaveScale, item->mip);

      if (box != NULL)
        {
          /* The chunk's rectangle in GL's pixels (rows up). */
          double x0 = tex->lo[au] * s->resolution[au] * vg->px_per_nm - vg->x0;
          double x1 = (tex->lo[au] + tex->size[au]) * s->resolution[au] * vg->px_per_nm - vg->x0;
          double y1 = vg->ph - (tex->lo[av] * s->resolution[av] * vg->px_per_nm - vg->y0);
          double y0 = vg->ph - ((tex->lo[av] + tex->size[av]) * s->resolution[av] * vg->px_per_nm - vg->y0);

          if (x1 < box[0] || x0 > box[0] + box[2] || y1 < box[1] || y0 > box[1] + box[3])
            continue;
        }
      if (item->program != current)
        {
          /* The image is opaque; the segmentation is premultiplied, over it. */
          if (item->program == &self->programs.image)
            glDisable (GL_BLEND);
          else
            glEnable (GL_BLEND);
          current = item->program;
          use_program (self, current, vg, key, mvp);
        }
      glUniform3f (current->res, (float) s->resolution[0], (float) s->resolution[1], (float) s->resolution[2]);
      glUniform4f (current->rect,
                   (float) (tex->lo[au] * s->resolution[au]), (float) (tex->lo[av] * s->resolution[av]),
                   (float) ((tex->lo[au] + tex->size[au]) * s->resolution[au]),
                   (float) ((tex->lo[av] + tex->size[av]) * s->resolution[av]));
      glUniform3i (current->chunk_lo, (int) tex->lo[0], (int) tex->lo[1], (int) tex->lo[2]);
      glUniform3i (current->chunk_size, tex->size[0], tex->size[1], tex->size[2]);
      glActiveTexture (GL_TEXTURE0);
      glBindTexture (GL_TEXTURE_3D, tex->texture);
      if (tex->palette)
        {
          glActiveTexture (GL_TEXTURE1);
          glBindTexture (GL_TEXTURE_2D, tex->palette);
        }
      glDrawArrays (GL_TRIANGLE_STRIP, 0, 4);
    }
  glDisable (GL_BLEND);
  glDisable (GL_SCISSOR_TEST);
  glBindVertexArray (0);
  glUseProgram (0);
}

static void
ensure_pictures (CleaveSliceView *self,
                 int              width,
                 int              height)
{
  GdkGLContext *context = gtk_gl_area_get_context (GTK_GL_AREA (self->area));
  GLenum format = gdk_gl_context_get_use_es (context) ? GL_RGBA : GL_BGRA;

  if (self->picture_width == width && self->picture_height == height)
    return;
  delete_pictures (self);
  glGenFramebuffers (2, self->picture_fbo);
  glGenTextures (2, self->picture_texture);
  for (guint i = 0; i < 2; i++)
    {
      glBindTexture (GL_TEXTURE_2D, self->picture_texture[i]);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
      /* As GtkGLArea makes its own, so that copying one into the other
       * is a plain copy. */
      glTexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, format, GL_UNSIGNED_BYTE, NULL);
      glBindFramebuffer (GL_FRAMEBUFFER, self->picture_fbo[i]);
      glFramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, self->picture_texture[i], 0);
    }
  self->picture_width = width;
  self->picture_height = height;
  self->picture_valid = FALSE;
}

/* The new picture, in the spare buffer, from the last one moved by
 * (dx, dy) px; the strips it uncovers are drawn. */
static void
scroll_picture (CleaveSliceView    *self,
                const ViewGeometry *vg,
                const PictureKey   *key,
                GArray             *items,
                gint64              dx,
                gint64              dy)
{
  int w = vg->pw, h = vg->ph;
  int sx0 = (int) MAX (0, dx), sx1 = (int) MIN (w, w + dx);
  int sy0 = (int) MAX (0, -dy), sy1 = (int) MIN (h, h - dy);
  guint next = 1 - self->picture;

  /* GL rows go up, picture rows down: a view moved down by dy moves the
   * picture up, so old row r lands on row r + dy. */
  glBindFramebuffer (GL_READ_FRAMEBUFFER, self->picture_fbo[self->picture]);
  glBindFramebuffer (GL_DRAW_FRAMEBUFFER, self->picture_fbo[next]);
  glBlitFramebuffer (sx0, sy0, sx1, sy1, (int) (sx0 - dx), (int) (sy0 + dy), (int) (sx1 - dx), (int) (sy1 + dy),
                     GL_COLOR_BUFFER_BIT, GL_NEAREST);
  glBindFramebuffer (GL_FRAMEBUFFER, self->picture_fbo[next]);
  if (dx != 0)
    {
      int box[4] = { dx > 0 ? (int) (w - dx) : 0, 0, (int) ABS (dx), h };

      draw_items (self, vg, key, items, box);
    }
  if (dy != 0)
    {
      int box[4] = { 0, dy > 0 ? 0 : (int) (h + dy), w, (int) ABS (dy) };

      draw_items (self, vg, key, items, box);
    }
  self->picture = next;
}

static void
request_chunks (CleaveSliceView *self,
                GArray          *keys)
{
  cleave_source_request (self->source, self->client, (guint64 *) (gpointer) keys->data, keys->len);
  g_array_set_size (self->waiting, 0);
  g_array_append_vals (self->waiting, keys->data, keys->len);
}

/* What the view will draw, asked for before it draws: a new source starts
 * loading in the frame it is set, not once each view has drawn. */
static void
request_visible (CleaveSliceView *self)
{
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  ViewGeometry vg;
  guint mips[2];

  if (gtk_widget_get_width (GTK_WIDGET (self)) <= 0 || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  view_geometry (self, &vg);
  choose_mips (self, &vg, mips);
  visible_chunks (self, &vg, CLEAVE_LAYER_IMAGE, mips[CLEAVE_LAYER_IMAGE], keys);
  if (cleave_viewport_get_show_segmentation (self->viewport))
    visible_chunks (self, &vg, CLEAVE_LAYER_SEGMENTATION, mips[CLEAVE_LAYER_SEGMENTATION], keys);
  request_chunks (self, keys);
}

/* The badges: plane and slice, and the mip the view draws at. Set when
 * the viewport changes rather than after a frame, so a frame never brings
 * another one for its labels. */
static void
update_labels (CleaveSliceView *self)
{
  g_autofree char *plane = NULL;
  g_autofree char *info = NULL;
  double pos[3], res[3];
  guint an = self->axes[2];
  ViewGeometry vg;
  guint mips[2];

  if (self->source == NULL)
    return;
  view_geometry (self, &vg);
  choose_mips (self, &vg, mips);
  cleave_viewport_get_position (self->viewport, pos);
  cleave_source_get_resolution (self->source, 0, res);
  plane = g_strdup_printf ("%s  %c %" G_GINT64_FORMAT, plane_names[self->plane], axis_names[an],
                           (gint64) floor (pos[an] / res[an]));
  info = g_strdup_printf ("mip %u", mips[CLEAVE_LAYER_SEGMENTATION]);
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
  self->frame_cost = g_get_monotonic_time () - self->render_start;
  if (self->render_again)
    {
      self->render_again = FALSE;
      gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
    }
  update_labels (self);
  g_signal_emit (self, signals[FRAME], 0, first_complete);
  return G_SOURCE_REMOVE;
}

/* A frame: what is ready goes up, the picture is drawn again only when
 * something in it changed (moved by whole pixels, only the strips a pan
 * uncovers), and the picture is copied into the area. */
static gboolean
area_render (GtkGLArea       *area,
             GdkGLContext    *context,
             CleaveSliceView *self)
{
  ViewGeometry vg;
  PictureKey key;
  guint mips[2], missing = 0;
  gsize uploaded = 0;
  gboolean was_complete = self->complete;
  g_autoptr(GArray) items = NULL;
  g_autoptr(GArray) request = NULL;
  GLint area_fbo = 0;
  int change;

  if (self->source == NULL || self->gl_failed)
    {
      /* The window's background in the dark scheme, so the view's margin blends in. */
      glClearColor (0.118f, 0.118f, 0.118f, 1.0f);
      glClear (GL_COLOR_BUFFER_BIT);
      return TRUE;
    }

  self->render_start = g_get_monotonic_time ();
  glGetIntegerv (GL_FRAMEBUFFER_BINDING, &area_fbo);
  self->frame++;
  view_geometry (self, &vg);
  choose_mips (self, &vg, mips);
  self->mip = mips[CLEAVE_LAYER_SEGMENTATION];

  items = g_array_new (FALSE, FALSE, sizeof (DrawItem));
  request = g_array_new (FALSE, FALSE, sizeof (guint64));
  plan_layer (self, &vg, CLEAVE_LAYER_IMAGE, mips[CLEAVE_LAYER_IMAGE], items, request, &uploaded, &missing);
  if (cleave_viewport_get_show_segmentation (self->viewport))
    plan_layer (self, &vg, CLEAVE_LAYER_SEGMENTATION, mips[CLEAVE_LAYER_SEGMENTATION], items, request,
                &uploaded, &missing);
  request_chunks (self, request);

  picture_key (self, &vg, mips, &key);
  ensure_pictures (self, vg.pw, vg.ph);
  change = self->picture_valid ? compare_keys (self, &self->picture_key, &key) : 2;
  glViewport (0, 0, vg.pw, vg.ph);
  if (change == 1)
    scroll_picture (self, &vg, &key, items, key.x0 - self->picture_key.x0, key.y0 - self->picture_key.y0);
  else if (change == 2)
    {
      glBindFramebuffer (GL_FRAMEBUFFER, self->picture_fbo[self->picture]);
      draw_items (self, &vg, &key, items, NULL);
    }
  self->picture_key = key;
  self->picture_valid = TRUE;

  glBindFramebuffer (GL_READ_FRAMEBUFFER, self->picture_fbo[self->picture]);
  glBindFramebuffer (GL_DRAW_FRAMEBUFFER, (GLuint) area_fbo);
  glBlitFramebuffer (0, 0, vg.pw, vg.ph, 0, 0, vg.pw, vg.ph, GL_COLOR_BUFFER_BIT, GL_NEAREST);
  glBindFramebuffer (GL_FRAMEBUFFER, (GLuint) area_fbo);

  evict_textures (self);
  self->complete = missing == 0;
  /* What the budget held back goes up next frame (asked for after this
   * one: the area forgets a request made while it renders). */
  self->render_again = uploaded >= UPLOAD_BUDGET;

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

  /* Where the picture has it, on its grid of pixels. */
  view_geometry (self, &vg);
  world[self->axes[0]] = vg.u0 + x / vg.zoom;
  world[self->axes[1]] = vg.v0 + y / vg.zoom;
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
  ViewGeometry vg;
  PictureKey key;
  guint mips[2];

  if (self->source == NULL)
    return;
  update_labels (self);
  /* Most changes change every view, but not all: a slice step within one
   * voxel of this plane's mips, an object hovered that this view does not
   * show. Then there is nothing to draw. */
  if (self->picture_valid && self->complete && gtk_widget_get_realized (self->area))
    {
      view_geometry (self, &vg);
      choose_mips (self, &vg, mips);
      picture_key (self, &vg, mips, &key);
      if (compare_keys (self, &self->picture_key, &key) == 0)
        return;
    }
  self->complete = FALSE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
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
 * there, or now and then to show progress: every PARTIAL_INTERVAL_MS, or
 * every PARTIAL_FRAMES times what a frame costs when that is longer (with
 * software GL, frames are dear and draw CPU from the decoding). */
static void
chunks_ready (CleaveSource    *source,
              CleaveSliceView *self)
{
  guint epoch = cleave_source_get_epoch (source);
  gboolean all = TRUE;

  if (self->complete || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  for (guint i = 0; i < self->waiting->len && all; i++)
    {
      g_autoptr(CleaveSliceChunk) chunk = cleave_source_lookup (source, g_array_index (self->waiting, guint64, i));

      all = chunk != NULL && (chunk->layer == CLEAVE_LAYER_IMAGE || chunk->epoch == epoch);
    }
  if (all)
    {
      g_clear_handle_id (&self->partial_timeout, g_source_remove);
      gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
    }
  else if (self->partial_timeout == 0)
    self->partial_timeout = g_timeout_add (MAX (PARTIAL_INTERVAL_MS, PARTIAL_FRAMES * self->frame_cost / 1000),
                                           partial_render, self);
}

/* Another process changed the dataset: the segmentation drawn is stale.
 * The next frame asks for it again and keeps drawing it until the new
 * chunks are there. */
static void
data_changed (CleaveSource    *source,
              CleaveSliceView *self)
{
  self->complete = FALSE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self->area));
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
      g_clear_signal_handler (&self->data_changed_id, self->source);
      cleave_source_remove_client (self->source, self->client);
      g_clear_object (&self->source);
    }
  if (self->textures != NULL && gtk_widget_get_realized (self->area))
    {
      gtk_gl_area_make_current (GTK_GL_AREA (self->area));
      g_hash_table_remove_all (self->textures);
      self->texture_bytes = 0;
    }
  self->content++;
  self->picture_valid = FALSE;
  self->complete = FALSE;
  if (source != NULL)
    {
      self->source = g_object_ref (source);
      self->client = cleave_source_add_client (source);
      self->chunks_ready_id = g_signal_connect (source, "chunks-ready", G_CALLBACK (chunks_ready), self);
      self->data_changed_id = g_signal_connect (source, "data-changed", G_CALLBACK (data_changed), self);
    }
  gtk_widget_set_visible (self->plane_label, source != NULL);
  gtk_widget_set_visible (self->info_label, source != NULL);
  if (source != NULL)
    {
      update_labels (self);
      request_visible (self);
    }
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

gboolean
cleave_slice_view_get_drawn_root (CleaveSliceView *self,
                                  const double     world[3],
                                  guint64         *root)
{
  const CleaveVolumeInfo *info;
  const CleaveScale *s;
  g_autoptr(CleaveSliceChunk) chunk = NULL;
  gint64 v[3], g[3];
  guint64 key;
  gsize index;
  Tex *tex;

  g_return_val_if_fail (CLEAVE_IS_SLICE_VIEW (self), FALSE);

  *root = 0;
  if (self->source == NULL || self->textures == NULL || self->frame == 0)
    return FALSE;
  info = cleave_source_get_info (self->source, CLEAVE_LAYER_SEGMENTATION);
  s = &g_array_index (info->scales, CleaveScale, self->mip);
  for (guint d = 0; d < 3; d++)
    {
      v[d] = (gint64) floor (world[d] / s->resolution[d]);
      if (v[d] < s->voxel_offset[d] || v[d] >= s->voxel_offset[d] + s->size[d])
        return FALSE;
      g[d] = (v[d] - s->voxel_offset[d]) / s->chunk[d];
    }
  key = cleave_slice_chunk_key (CLEAVE_LAYER_SEGMENTATION, self->mip, g);
  tex = g_hash_table_lookup (self->textures, &key);
  if (tex == NULL || tex->last_frame != self->frame)
    return FALSE;
  if (tex->empty)
    return TRUE;
  /* The texture's indices are the source's chunk's, if it still has it. */
  chunk = cleave_source_lookup (self->source, key);
  if (chunk == NULL || chunk->voxel_serial != tex->voxel_serial)
    return FALSE;
  index = (gsize) (v[0] - chunk->lo[0])
          + (gsize) chunk->size[0] * ((gsize) (v[1] - chunk->lo[1])
                                      + (gsize) chunk->size[1] * (gsize) (v[2] - chunk->lo[2]));
  index = chunk->wide ? ((guint32 *) chunk->indices)[index] : ((guint16 *) chunk->indices)[index];
  *root = tex->roots[index];
  return TRUE;
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
  g_signal_connect (self->area, "create-context", G_CALLBACK (area_create_context), self);
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
