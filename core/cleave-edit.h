/* cleave-edit.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Edit operations on the graph (shared DESIGN.md §4, spec/reference-pcg.md
 * §2 and §4). An edit is a set of edges made to join (merge) or no longer
 * join (split) supervoxels. Executing one: the roots it touches are locked,
 * an op-log row is written CREATED, the new hierarchy of the touched
 * objects is computed, and the edge rows, the new nodes, lineage and the
 * op row (WRITE_STARTED) are written in one transaction at the op's logical
 * time, then the row becomes SUCCESS and the locks are released. Nodes whose
 * children do not change keep their ids and cells. Undo and redo are new
 * operations linked to the ones they revert.
 */

#pragma once

#include "cleave-graph.h"

G_BEGIN_DECLS

#define CLEAVE_EDIT_ERROR (cleave_edit_error_quark ())

typedef enum
{
  CLEAVE_EDIT_ERROR_PRECONDITION,   /* the request cannot be done as asked; the message says why */
  CLEAVE_EDIT_ERROR_NOT_FOUND,      /* no such op */
  CLEAVE_EDIT_ERROR_POSTCONDITION,  /* the edit computed something it must not write */
  CLEAVE_EDIT_ERROR_STUCK,          /* an op is stuck, or is not stuck as asked */
} CleaveEditError;

GQuark cleave_edit_error_quark (void);

typedef enum
{
  CLEAVE_OP_SUCCESS = 0,
  CLEAVE_OP_CREATED = 1,
  CLEAVE_OP_EXCEPTION = 2,
  CLEAVE_OP_WRITE_STARTED = 3,
  CLEAVE_OP_WRITE_FAILED = 4,
} CleaveOpStatus;

const char *cleave_op_status_name (CleaveOpStatus status);

/* Where an edit's time went (cleavectl --verbose), in the order it
 * happens. */
typedef enum
{
  CLEAVE_EDIT_STAGE_CHECK,     /* the request checked, before any op exists */
  CLEAVE_EDIT_STAGE_LOCK,      /* an op id, the root lock, the op row CREATED */
  CLEAVE_EDIT_STAGE_COMPUTE,   /* the changes worked out under the lock (a split's multicut) */
  CLEAVE_EDIT_STAGE_PERSIST,   /* the new hierarchy written in one transaction */
  CLEAVE_EDIT_STAGE_FINISH,    /* SUCCESS on the op row, the locks released */
  CLEAVE_EDIT_N_STAGES
} CleaveEditStage;

const char *cleave_edit_stage_name (CleaveEditStage stage);

typedef struct
{
  guint64         op_id;
  CleaveOpStatus  status;
  GArray         *new_roots;        /* guint64 */
  guint           n_activated;
  guint           n_deactivated;
  double          stage_ms[CLEAVE_EDIT_N_STAGES];
} CleaveEditResult;

void     cleave_edit_result_clear (CleaveEditResult *result);

/* Joins the objects of two supervoxels with a merge edge (finite and
 * cuttable). @xyz_a, @xyz_b: where the user clicked (recorded), or NULL. */
gboolean cleave_edit_merge        (CleaveGraph      *graph,
                                   guint64           sv_a,
                                   guint64           sv_b,
                                   const gint64     *xyz_a,
                                   const gint64     *xyz_b,
                                   const char       *user,
                                   CleaveEditResult *result,
                                   GError          **error);
/* Splits one object by taking @edges (pairs of supervoxel ids) out of it;
 * the multicut computes them. @inputs_json is recorded on the op row. */
gboolean cleave_edit_remove_edges (CleaveGraph      *graph,
                                   const char       *kind,
                                   const guint64    *edges,
                                   guint             n_edges,
                                   const char       *inputs_json,
                                   const char       *user,
                                   CleaveEditResult *result,
                                   GError          **error);
gboolean cleave_edit_undo         (CleaveGraph      *graph,
                                   guint64           op_id,
                                   const char       *user,
                                   CleaveEditResult *result,
                                   GError          **error);
gboolean cleave_edit_redo         (CleaveGraph      *graph,
                                   guint64           op_id,
                                   const char       *user,
                                   CleaveEditResult *result,
                                   GError          **error);

typedef struct
{
  guint64         id;
  char           *kind;
  char           *user;
  CleaveOpStatus  status;
  gint64          ts;
  char           *inputs;          /* JSON */
  GArray         *new_roots;       /* guint64 */
  guint64         undo_of, redo_of, undone_by;
  char           *exception;
  GArray         *l2_scope;        /* guint64 */
  guint           n_activated, n_deactivated;
} CleaveOpInfo;

void     cleave_op_info_clear     (CleaveOpInfo     *info);
/* The op log, oldest first. */
GArray  *cleave_edit_list_ops     (CleaveGraph      *graph,
                                   GError          **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveOpInfo, cleave_op_info_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveEditResult, cleave_edit_result_clear)

G_END_DECLS
