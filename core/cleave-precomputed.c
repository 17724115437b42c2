/* cleave-precomputed.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-volume"

#include "cleave-precomputed.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (cleave-volume-error-quark, cleave_volume_error)

static void
scale_clear (CleaveScale *s)
{
  g_free (s->key);
}

CleaveVolumeInfo *
cleave_volume_info_new (gboolean       segmentation,
                        CleaveDataType data_type)
{
  CleaveVolumeInfo *info = g_new0 (CleaveVolumeInfo, 1);

  info->segmentation = segmentation;
  info->data_type = data_type;
  info->scales = g_array_new (FALSE, TRUE, sizeof (CleaveScale));
  g_array_set_clear_func (info->scales, (GDestroyNotify) scale_clear);
  return info;
}

CleaveScale *
cleave_volume_info_add_scale (CleaveVolumeInfo *info,
                              const char       *key)
{
  CleaveScale s = { 0 };

  s.key = g_strdup (key);
  for (guint i = 0; i < 3; i++)
    {
      s.resolution[i] = 1;
      s.chunk[i] = 64;
      s.block[i] = 8;
    }
  g_array_append_val (info->scales, s);
  return &g_array_index (info->scales, CleaveScale, info->scales->len - 1);
}

void
cleave_volume_info_free (CleaveVolumeInfo *info)
{
  if (info == NULL)
    return;
  g_array_unref (info->scales);
  g_free (info->mesh);
  g_free (info->skeletons);
  g_free (info->segment_properties);
  g_free (info->downsampling);
  g_free (info);
}

CleaveVolumeInfo *
cleave_volume_info_copy (const CleaveVolumeInfo *info)
{
  CleaveVolumeInfo *copy = cleave_volume_info_new (info->segmentation, info->data_type);

  for (guint i = 0; i < info->scales->len; i++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, i);
      CleaveScale *c = cleave_volume_info_add_scale (copy, s->key);
      char *key = c->key;

      *c = *s;
      c->key = key;
    }
  copy->mesh = g_strdup (info->mesh);
  copy->skeletons = g_strdup (info->skeletons);
  copy->segment_properties = g_strdup (info->segment_properties);
  copy->downsampling = g_strdup (info->downsampling);
  return copy;
}

#define SET_INVALID(...) g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID, __VA_ARGS__)
#define SET_UNSUPPORTED(...) g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_UNSUPPORTED, __VA_ARGS__)
#define INVALID(...) (SET_INVALID (__VA_ARGS__), FALSE)
#define UNSUPPORTED(...) (SET_UNSUPPORTED (__VA_ARGS__), FALSE)

/* A member that must be an array of three numbers; integers unless
 * @real. */
static gboolean
read_triple (JsonObject  *obj,
             const char  *member,
             gboolean     required,
             gboolean     real,
             double       out[3],
             const char  *what,
             const char  *where,
             GError     **error)
{
  JsonNode *node = json_object_get_member (obj, member);
  JsonArray *arr;

  if (node == NULL)
    return required ? INVALID ("%s: %s: \"%s\" is missing", what, where, member) : TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (arr = json_node_get_array (node)) != 3)
    return INVALID ("%s: %s: \"%s\" must be an array of 3 numbers", what, where, member);
  for (guint i = 0; i < 3; i++)
    {
      JsonNode *e = json_array_get_element (arr, i);
      GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;

      if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return INVALID ("%s: %s: \"%s\" must be an array of 3 numbers", what, where, member);
      out[i] = json_node_get_double (e);
      if (!real && (t != G_TYPE_INT64 && out[i] != floor (out[i])))
        return INVALID ("%s: %s: \"%s\" must hold integers", what, where, member);
      if (!real && t == G_TYPE_INT64)
        out[i] = (double) json_node_get_int (e);
    }
  return TRUE;
}

static const char *
get_string (JsonObject *obj,
            const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
parse_scale (CleaveVolumeInfo *info,
             JsonNode         *node,
             guint             index,
             const char       *what,
             GError          **error)
{
  g_autofree char *where = g_strdup_printf ("scales[%u]", index);
  JsonObject *obj;
  JsonNode *chunks;
  const char *key, *encoding;
  CleaveScale *s;
  double v[3];

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return INVALID ("%s: %s must be an object", what, where);
  obj = json_node_get_object (node);
  key = get_string (obj, "key");
  if (key == NULL || *key == '\0')
    return INVALID ("%s: %s: \"key\" is missing", what, where);
  g_free (where);
  where = g_strdup_printf ("scale '%s'", key);
  s = cleave_volume_info_add_scale (info, key);

  if (json_object_has_member (obj, "sharding") && !JSON_NODE_HOLDS_NULL (json_object_get_member (obj, "sharding")))
    return UNSUPPORTED ("%s: %s is sharded; Cleave reads unsharded scales only", what, where);

  if (!read_triple (obj, "size", TRUE, FALSE, v, what, where, error))
    return FALSE;
  for (guint i = 0; i < 3; i++)
    s->size[i] = (gint64) v[i];
  if (!read_triple (obj, "resolution", TRUE, TRUE, s->resolution, what, where, error))
    return FALSE;
  memset (v, 0, sizeof v);
  if (!read_triple (obj, "voxel_offset", FALSE, FALSE, v, what, where, error))
    return FALSE;
  for (guint i = 0; i < 3; i++)
    s->voxel_offset[i] = (gint64) v[i];

  chunks = json_object_get_member (obj, "chunk_sizes");
  if (chunks == NULL || !JSON_NODE_HOLDS_ARRAY (chunks) || json_array_get_length (json_node_get_array (chunks)) == 0)
    return INVALID ("%s: %s: \"chunk_sizes\" must be a non-empty array of [x, y, z]", what, where);
  {
    /* Several chunk sizes are allowed; the first is the storage layout. */
    g_autoptr(JsonObject) wrap = json_object_new ();

    json_object_set_member (wrap, "chunk_size", json_node_copy (json_array_get_element (json_node_get_array (chunks), 0)));
    if (!read_triple (wrap, "chunk_size", TRUE, FALSE, v, what, where, error))
      return FALSE;
    for (guint i = 0; i < 3; i++)
      {
        if (v[i] < 1 || v[i] > 1 << 16)
          return INVALID ("%s: %s: chunk size %g is out of range (1 to 65536)", what, where, v[i]);
        s->chunk[i] = (guint) v[i];
      }
  }

  encoding = get_string (obj, "encoding");
  if (encoding == NULL)
    return INVALID ("%s: %s: \"encoding\" is missing", what, where);
  if (!cleave_encoding_from_name (encoding, &s->encoding))
    return UNSUPPORTED ("%s: %s: encoding '%s' is not supported (raw, compressed_segmentation)",
                        what, where, encoding);
  if (s->encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION)
    {
      if (!read_triple (obj, "compressed_segmentation_block_size", TRUE, FALSE, v, what, where, error))
        return FALSE;
      for (guint i = 0; i < 3; i++)
        {
          if (v[i] < 1 || v[i] > 1024)
            return INVALID ("%s: %s: block size %g is out of range (1 to 1024)", what, where, v[i]);
          s->block[i] = (guint) v[i];
        }
    }
  return TRUE;
}

gboolean
cleave_volume_info_validate (const CleaveVolumeInfo *info,
                             const char             *what,
                             GError                **error)
{
  if (info->scales->len == 0)
    return INVALID ("%s: no scales", what);
  if (info->segmentation && info->data_type != CLEAVE_DATA_TYPE_UINT32 && info->data_type != CLEAVE_DATA_TYPE_UINT64)
    return UNSUPPORTED ("%s: a segmentation must be uint32 or uint64, not %s",
                        what, cleave_data_type_to_name (info->data_type));
  for (guint i = 0; i < info->scales->len; i++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, i);

      for (guint d = 0; d < 3; d++)
        {
          if (s->size[d] < 1 || s->size[d] > (G_GINT64_CONSTANT (1) << 40))
            return INVALID ("%s: scale '%s': size %" G_GINT64_FORMAT " is out of range", what, s->key, s->size[d]);
          if (s->voxel_offset[d] < -(G_GINT64_CONSTANT (1) << 40) || s->voxel_offset[d] > (G_GINT64_CONSTANT (1) << 40))
            return INVALID ("%s: scale '%s': voxel_offset %" G_GINT64_FORMAT " is out of range",
                            what, s->key, s->voxel_offset[d]);
          if (!(s->resolution[d] > 0) || !isfinite (s->resolution[d]))
            return INVALID ("%s: scale '%s': resolution must be positive", what, s->key);
          if (s->chunk[d] < 1)
            return INVALID ("%s: scale '%s': chunk size must be positive", what, s->key);
          if (i > 0 && s->resolution[d] < g_array_index (info->scales, CleaveScale, i - 1).resolution[d])
            return INVALID ("%s: scale '%s': resolution decreases from the scale before it", what, s->key);
        }
      if (s->encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION &&
          info->data_type != CLEAVE_DATA_TYPE_UINT32 && info->data_type != CLEAVE_DATA_TYPE_UINT64)
        return UNSUPPORTED ("%s: scale '%s': compressed_segmentation needs uint32 or uint64, not %s",
                            what, s->key, cleave_data_type_to_name (info->data_type));
      if (strstr (s->key, "..") != NULL || s->key[0] == '/')
        return UNSUPPORTED ("%s: scale '%s': keys outside the volume's own prefix are not supported", what, s->key);
      for (guint j = 0; j < i; j++)
        if (strcmp (g_array_index (info->scales, CleaveScale, j).key, s->key) == 0)
          return INVALID ("%s: two scales have the key '%s'", what, s->key);
    }
  return TRUE;
}

CleaveVolumeInfo *
cleave_volume_info_parse (const char *json,
                          gsize       len,
                          const char *what,
                          GError    **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(CleaveVolumeInfo) info = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *root;
  JsonNode *scales, *channels;
  const char *type, *data_type;
  CleaveDataType dt;

  if (!json_parser_load_from_data (parser, json, len, &local))
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID, "%s: not JSON: %s", what, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      SET_INVALID ("%s: not a JSON object", what);
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  type = get_string (root, "type");
  if (type == NULL)
    {
      SET_INVALID ("%s: \"type\" is missing", what);
      return NULL;
    }
  if (strcmp (type, "image") != 0 && strcmp (type, "segmentation") != 0)
    {
      SET_UNSUPPORTED ("%s: type '%s' is not supported (image, segmentation)", what, type);
      return NULL;
    }
  data_type = get_string (root, "data_type");
  if (data_type == NULL)
    {
      SET_INVALID ("%s: \"data_type\" is missing", what);
      return NULL;
    }
  if (!cleave_data_type_from_name (data_type, &dt))
    {
      SET_UNSUPPORTED ("%s: data_type '%s' is not supported (uint8, uint16, uint32, uint64)", what, data_type);
      return NULL;
    }
  channels = json_object_get_member (root, "num_channels");
  if (channels != NULL && (!JSON_NODE_HOLDS_VALUE (channels) || json_node_get_int (channels) != 1))
    {
      SET_UNSUPPORTED ("%s: num_channels must be 1", what);
      return NULL;
    }

  info = cleave_volume_info_new (strcmp (type, "segmentation") == 0, dt);
  info->mesh = g_strdup (get_string (root, "mesh"));
  info->skeletons = g_strdup (get_string (root, "skeletons"));
  info->segment_properties = g_strdup (get_string (root, "segment_properties"));
  info->downsampling = g_strdup (get_string (root, "downsampling"));

  scales = json_object_get_member (root, "scales");
  if (scales == NULL || !JSON_NODE_HOLDS_ARRAY (scales))
    {
      SET_INVALID ("%s: \"scales\" is missing", what);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (scales)); i++)
    if (!parse_scale (info, json_array_get_element (json_node_get_array (scales), i), i, what, error))
      return NULL;
  if (!cleave_volume_info_validate (info, what, error))
    return NULL;
  return g_steal_pointer (&info);
}

static void
add_number (JsonBuilder *b,
            double       v)
{
  if (v == floor (v) && fabs (v) < 1e15)
    json_builder_add_int_value (b, (gint64) v);
  else
    json_builder_add_double_value (b, v);
}

static void
add_triple (JsonBuilder *b,
            const char  *member,
            double       x,
            double       y,
            double       z)
{
  if (member != NULL)
    json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  add_number (b, x);
  add_number (b, y);
  add_number (b, z);
  json_builder_end_array (b);
}

char *
cleave_volume_info_to_json (const CleaveVolumeInfo *info)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "@type");
  json_builder_add_string_value (b, "neuroglancer_multiscale_volume");
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, info->segmentation ? "segmentation" : "image");
  json_builder_set_member_name (b, "data_type");
  json_builder_add_string_value (b, cleave_data_type_to_name (info->data_type));
  json_builder_set_member_name (b, "num_channels");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "scales");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->scales->len; i++)
    {
      const CleaveScale *s = &g_array_index (info->scales, CleaveScale, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "key");
      json_builder_add_string_value (b, s->key);
      add_triple (b, "size", s->size[0], s->size[1], s->size[2]);
      add_triple (b, "resolution", s->resolution[0], s->resolution[1], s->resolution[2]);
      add_triple (b, "voxel_offset", s->voxel_offset[0], s->voxel_offset[1], s->voxel_offset[2]);
      json_builder_set_member_name (b, "chunk_sizes");
      json_builder_begin_array (b);
      add_triple (b, NULL, s->chunk[0], s->chunk[1], s->chunk[2]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "encoding");
      json_builder_add_string_value (b, cleave_encoding_to_name (s->encoding));
      if (s->encoding == CLEAVE_ENCODING_COMPRESSED_SEGMENTATION)
        add_triple (b, "compressed_segmentation_block_size", s->block[0], s->block[1], s->block[2]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (info->mesh)
    {
      json_builder_set_member_name (b, "mesh");
      json_builder_add_string_value (b, info->mesh);
    }
  if (info->skeletons)
    {
      json_builder_set_member_name (b, "skeletons");
      json_builder_add_string_value (b, info->skeletons);
    }
  if (info->segment_properties)
    {
      json_builder_set_member_name (b, "segment_properties");
      json_builder_add_string_value (b, info->segment_properties);
    }
  if (info->downsampling)
    {
      json_builder_set_member_name (b, "downsampling");
      json_builder_add_string_value (b, info->downsampling);
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

const CleaveScale *
cleave_volume_info_get_scale (const CleaveVolumeInfo *info,
                              guint                   mip,
                              GError                **error)
{
  if (mip >= info->scales->len)
    {
      g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_NOT_FOUND,
                   "no mip %u (the volume has mips 0 to %u)", mip, info->scales->len - 1);
      return NULL;
    }
  return &g_array_index (info->scales, CleaveScale, mip);
}

void
cleave_scale_grid_size (const CleaveScale *s,
                        gint64             grid[3])
{
  for (guint d = 0; d < 3; d++)
    grid[d] = (s->size[d] + s->chunk[d] - 1) / s->chunk[d];
}

void
cleave_scale_chunk_box (const CleaveScale *s,
                        const gint64       g[3],
                        gint64             lo[3],
                        gint64             hi[3])
{
  for (guint d = 0; d < 3; d++)
    {
      lo[d] = s->voxel_offset[d] + g[d] * s->chunk[d];
      hi[d] = s->voxel_offset[d] + MIN ((g[d] + 1) * (gint64) s->chunk[d], s->size[d]);
    }
}

char *
cleave_scale_chunk_key (const CleaveScale *s,
                        const char        *prefix,
                        const gint64       g[3])
{
  gint64 lo[3], hi[3];

  cleave_scale_chunk_box (s, g, lo, hi);
  return g_strdup_printf ("%s%s/%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "_%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                          "_%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT,
                          prefix, s->key, lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]);
}

gboolean
cleave_scale_check_box (const CleaveScale *s,
                        const gint64       lo[3],
                        const gint64       hi[3],
                        const char        *what,
                        GError           **error)
{
  for (guint d = 0; d < 3; d++)
    if (lo[d] >= hi[d])
      {
        g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_INVALID,
                     "%s: empty box: %c from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                     what, "xyz"[d], lo[d], hi[d]);
        return FALSE;
      }
  for (guint d = 0; d < 3; d++)
    if (lo[d] < s->voxel_offset[d] || hi[d] > s->voxel_offset[d] + s->size[d])
      {
        g_set_error (error, CLEAVE_VOLUME_ERROR, CLEAVE_VOLUME_ERROR_OUT_OF_BOUNDS,
                     "%s: box %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                     ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT " is outside the volume (%" G_GINT64_FORMAT
                     ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                     ",%" G_GINT64_FORMAT ")",
                     what, lo[0], lo[1], lo[2], hi[0], hi[1], hi[2],
                     s->voxel_offset[0], s->voxel_offset[1], s->voxel_offset[2],
                     s->voxel_offset[0] + s->size[0], s->voxel_offset[1] + s->size[1],
                     s->voxel_offset[2] + s->size[2]);
        return FALSE;
      }
  return TRUE;
}
