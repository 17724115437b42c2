/* cleave-dataset.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A Cleave dataset on disk (shared DESIGN.md §2):
 *
 *   NAME.cleave/
 *     seg/base/    OCDBT store: the segmentation as created or imported
 *     seg/fork/    its fork: every edit lands here (read as seg/base+seg/fork)
 *     image/       OCDBT store: the EM image (optional)
 *
 * Each store holds one precomputed volume at its root (key "info").
 */

#pragma once

#include "cleave-volume.h"

G_BEGIN_DECLS

#define CLEAVE_DATASET_ERROR (cleave_dataset_error_quark ())

typedef enum
{
  CLEAVE_DATASET_ERROR_NOT_A_DATASET,
  CLEAVE_DATASET_ERROR_EXISTS,
} CleaveDatasetError;

GQuark cleave_dataset_error_quark (void);

typedef struct _CleaveDataset CleaveDataset;

CleaveDataset *cleave_dataset_open      (const char    *dir,
                                         GError       **error);
void           cleave_dataset_free      (CleaveDataset *dataset);
const char    *cleave_dataset_get_dir   (CleaveDataset *dataset);
/* The segmentation as read and edited: the fork over the base. */
CleaveVolume  *cleave_dataset_get_seg   (CleaveDataset *dataset);
/* NULL when the dataset has no image. */
CleaveVolume  *cleave_dataset_get_image (CleaveDataset *dataset);

/* Creating one: a new (or empty) directory with the base stores and their
 * infos written; after the data, finish makes the fork. */
gboolean       cleave_dataset_create    (const char             *dir,
                                         const CleaveVolumeInfo *seg_info,
                                         const CleaveVolumeInfo *image_info,
                                         CleaveVolume          **seg_base_out,
                                         CleaveVolume          **image_out,
                                         GError                **error);
gboolean       cleave_dataset_finish    (const char             *dir,
                                         GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveDataset, cleave_dataset_free)

G_END_DECLS
