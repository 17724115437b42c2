/* cleave-recover.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Stuck ops and their replay (shared spec/reference-pcg.md §5): an op that
 * died during a supervoxel split leaves its L2 chunk scope on its log row
 * and its indefinite cells held. Replay puts the scoped chunks back as
 * they were at the op's time, takes the op's partial graph rows out, and
 * runs the op again, privileged, with its own id and time.
 */

#pragma once

#include "cleave-dataset.h"
#include "cleave-edit.h"

G_BEGIN_DECLS

typedef struct
{
  guint64         op_id;
  char           *kind;
  char           *user;
  CleaveOpStatus  status;
  gint64          ts;           /* the op's time, ns since the epoch */
  gint64          age_ns;
  GArray         *scope;        /* guint64 L2 chunk ids, sorted */
} CleaveStuckOp;

void     cleave_stuck_op_clear    (CleaveStuckOp  *op);

/* Ops with a lock scope, not SUCCESS, at least @min_age_ns old; by id. */
GArray  *cleave_recover_list      (CleaveGraph    *graph,
                                   gint64          min_age_ns,
                                   GError        **error);

/* Replays stuck op @op_id: refused (CLEAVE_EDIT_ERROR_STUCK, nothing
 * changed) unless every scoped chunk's indefinite cell is held by it. */
gboolean cleave_recover_replay    (CleaveGraph      *graph,
                                   CleaveDataset    *dataset,
                                   guint64           op_id,
                                   guint            *n_reverted_out,
                                   CleaveEditResult *result,
                                   GError          **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveStuckOp, cleave_stuck_op_clear)

G_END_DECLS
