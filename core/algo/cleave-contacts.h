/* cleave-contacts.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Contact faces between labels, for building the supervoxel graph of a
 * segmentation that came without one. Pure: a block of labels (and
 * optionally the image over the same voxels) in, one row per touching
 * pair of labels out.
 *
 * A block is read with a margin of one voxel on its upper sides, so each
 * face between two voxels is seen by exactly one block: the one owning the
 * lower voxel. Blocks tiling a volume therefore produce disjoint pairs
 * and face counts that add up to the volume's.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 a, b;           /* a < b, both non-zero */
  guint64 area;           /* 6-connected faces between them */
  guint64 intensity;      /* sum over those faces of image[u] + image[v] (0 without an image) */
} CleaveContact;

/* Appends to @out (CleaveContact) the pairs of different non-zero labels
 * sharing a face, sorted by (a, b), one row per pair. @labels (and @image
 * when not NULL) hold @size voxels, x fastest; only faces whose lower voxel
 * lies in [0, own) count, so own[k] is size[k] - 1 where the block has an
 * upper margin along k and size[k] where it ends at the volume's edge. */
void cleave_contacts_find (const guint64 *labels,
                           const guint8  *image,
                           const gsize    size[3],
                           const gsize    own[3],
                           GArray        *out);

G_END_DECLS
