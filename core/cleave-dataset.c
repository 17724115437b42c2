/* cleave-dataset.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-dataset"

#include "cleave-dataset.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "cleave-pyramid.h"

G_DEFINE_QUARK (cleave-dataset-error-quark, cleave_dataset_error)

struct _CleaveDataset
{
  char         *dir;
  CleaveVolume *seg;
  CleaveVolume *image;
};

static CleaveVolume *
open_volume (CleaveOcdbt *store,
             const char  *dir,
             const char  *name,
             GError     **error)
{
  g_autofree char *what = g_build_filename (dir, name, NULL);

  return cleave_volume_open (store, "", what, error);
}

CleaveDataset *
cleave_dataset_open (const char *dir,
                     GError    **error)
{
  g_autoptr(CleaveDataset) ds = g_new0 (CleaveDataset, 1);
  g_autofree char *base = g_build_filename (dir, "seg", "base", NULL);
  g_autofree char *fork = g_build_filename (dir, "seg", "fork", NULL);
  g_autofree char *base_manifest = g_build_filename (base, "manifest.ocdbt", NULL);
  g_autofree char *fork_manifest = g_build_filename (fork, "manifest.ocdbt", NULL);
  g_autofree char *image = g_build_filename (dir, "image", NULL);
  g_autoptr(CleaveOcdbt) seg_store = NULL;

  ds->dir = g_strdup (dir);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CLEAVE_DATASET_ERROR, CLEAVE_DATASET_ERROR_NOT_A_DATASET,
                   "%s: no such directory", dir);
      return NULL;
    }
  if (!g_file_test (base_manifest, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_DATASET_ERROR, CLEAVE_DATASET_ERROR_NOT_A_DATASET,
                   "%s: not a Cleave dataset (no segmentation store seg/base)", dir);
      return NULL;
    }
  if (!g_file_test (fork_manifest, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_DATASET_ERROR, CLEAVE_DATASET_ERROR_NOT_A_DATASET,
                   "%s: the segmentation fork seg/fork is missing; recreate it with "
                   "`cleavectl kv fork %s %s` (edits made in it are lost)", dir, base, fork);
      return NULL;
    }
  seg_store = cleave_ocdbt_open_fork (base, fork, error);
  if (seg_store == NULL)
    return NULL;
  ds->seg = open_volume (seg_store, dir, "seg", error);
  if (ds->seg == NULL)
    return NULL;
  if (g_file_test (image, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(CleaveOcdbt) image_store = cleave_ocdbt_open (image, error);

      if (image_store == NULL || (ds->image = open_volume (image_store, dir, "image", error)) == NULL)
        return NULL;
    }
  return g_steal_pointer (&ds);
}

void
cleave_dataset_free (CleaveDataset *ds)
{
  if (ds == NULL)
    return;
  g_clear_pointer (&ds->seg, cleave_volume_unref);
  g_clear_pointer (&ds->image, cleave_volume_unref);
  g_free (ds->dir);
  g_free (ds);
}

const char *
cleave_dataset_get_dir (CleaveDataset *ds)
{
  return ds->dir;
}

CleaveVolume *
cleave_dataset_get_seg (CleaveDataset *ds)
{
  return ds->seg;
}

CleaveVolume *
cleave_dataset_get_image (CleaveDataset *ds)
{
  return ds->image;
}

static gboolean
is_empty_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);

  return d != NULL && g_dir_read_name (d) == NULL;
}

gboolean
cleave_dataset_create (const char             *dir,
                       const CleaveVolumeInfo *seg_info,
                       const CleaveVolumeInfo *image_info,
                       CleaveVolume          **seg_base_out,
                       CleaveVolume          **image_out,
                       GError                **error)
{
  g_autofree char *base = g_build_filename (dir, "seg", "base", NULL);
  g_autofree char *image = g_build_filename (dir, "image", NULL);
  g_autofree char *seg_what = g_build_filename (dir, "seg", NULL);
  g_autofree char *image_what = g_build_filename (dir, "image", NULL);
  g_autoptr(CleaveOcdbt) base_store = NULL;
  g_autoptr(CleaveOcdbt) image_store = NULL;

  *seg_base_out = NULL;
  if (image_out)
    *image_out = NULL;
  /* A pyramid whose factor changes from scale to scale would be
   * downsampled wrongly by the worker: refuse it before anything exists. */
  {
    guint factor[3];

    if (!cleave_pyramid_factor (seg_info, seg_what, factor, error) ||
        (image_info != NULL && !cleave_pyramid_factor (image_info, image_what, factor, error)))
      return FALSE;
  }
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !is_empty_dir (dir))
    {
      g_set_error (error, CLEAVE_DATASET_ERROR, CLEAVE_DATASET_ERROR_EXISTS,
                   "%s: already exists and is not empty; choose a new directory", dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot create: %s",
                   dir, g_strerror (errno));
      return FALSE;
    }
  base_store = cleave_ocdbt_create (base, NULL, error);
  if (base_store == NULL)
    return FALSE;
  *seg_base_out = cleave_volume_create (base_store, "", seg_info, seg_what, error);
  if (*seg_base_out == NULL)
    return FALSE;
  if (image_info != NULL)
    {
      image_store = cleave_ocdbt_create (image, NULL, error);
      if (image_store == NULL)
        return FALSE;
      *image_out = cleave_volume_create (image_store, "", image_info, image_what, error);
      if (*image_out == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
cleave_dataset_finish (const char *dir,
                       GError    **error)
{
  g_autofree char *base = g_build_filename (dir, "seg", "base", NULL);
  g_autofree char *fork = g_build_filename (dir, "seg", "fork", NULL);

  return cleave_ocdbt_fork (base, fork, FALSE, error);
}
