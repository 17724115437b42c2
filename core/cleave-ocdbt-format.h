/* cleave-ocdbt-format.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Decoding of tensorstore's OCDBT objects: the envelope, the manifest, the
 * version-tree nodes and the B+tree nodes (shared spec/ocdbt.md). Pure: bytes
 * in, structures out; the store (cleave-ocdbt.c) does the file I/O.
 *
 * Data file paths are interned strings (g_intern_string), relative to the
 * store's root directory: there is one per data file, and interning them
 * lets every structure share them without ownership bookkeeping.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_OCDBT_ERROR (cleave_ocdbt_error_quark ())

typedef enum
{
  CLEAVE_OCDBT_ERROR_CORRUPT,       /* bytes that are not valid OCDBT */
  CLEAVE_OCDBT_ERROR_UNSUPPORTED,   /* valid, but a feature Cleave does not read */
  CLEAVE_OCDBT_ERROR_NOT_FOUND,     /* no store, no such version, no such key */
  CLEAVE_OCDBT_ERROR_IO,            /* the file system failed */
  CLEAVE_OCDBT_ERROR_READ_ONLY,     /* a write through a pinned handle */
  CLEAVE_OCDBT_ERROR_EXISTS,        /* creating what is already there */
} CleaveOcdbtError;

GQuark cleave_ocdbt_error_quark (void);

#define CLEAVE_OCDBT_MAGIC_MANIFEST     0x0cdb3a2au
#define CLEAVE_OCDBT_MAGIC_VERSION_NODE 0x0cdb1234u
#define CLEAVE_OCDBT_MAGIC_BTREE_NODE   0x0cdb20deu

/* An offset or length of this value marks a missing (empty) B+tree root. */
#define CLEAVE_OCDBT_MISSING G_MAXUINT64

typedef struct
{
  guint8   uuid[16];
  guint8   manifest_kind;            /* 0 single, 1 numbered */
  guint32  max_inline_value_bytes;
  guint32  max_decoded_node_bytes;
  guint8   version_tree_arity_log2;
  guint32  compression;              /* 0 none, 1 zstd */
  gint32   zstd_level;
} CleaveOcdbtConfig;

/* Where an object lives: a byte range of a data file. @base is the
 * transitive path that nodes reached through this reference resolve their
 * own data file tables against. */
typedef struct
{
  const char *file;
  const char *base;
  guint64     offset;
  guint64     length;
} CleaveOcdbtLocation;

typedef struct
{
  guint64 num_keys;
  guint64 num_tree_bytes;
  guint64 num_indirect_value_bytes;
} CleaveOcdbtStats;

/* One generation: a leaf entry of the version tree. */
typedef struct
{
  guint64             generation;
  guint64             commit_time;   /* ns since the Unix epoch */
  guint8              root_height;
  CleaveOcdbtLocation root;          /* offset == CLEAVE_OCDBT_MISSING: empty tree */
  CleaveOcdbtStats    stats;
} CleaveOcdbtVersion;

/* A reference to a version-tree node (interior entry). */
typedef struct
{
  guint64             generation;      /* latest in the subtree */
  CleaveOcdbtLocation location;
  guint64             num_generations;
  guint64             commit_time;     /* earliest in the subtree */
  guint8              height;          /* of the node referred to */
} CleaveOcdbtVersionNodeRef;

typedef struct
{
  CleaveOcdbtConfig config;
  GArray           *versions;        /* CleaveOcdbtVersion, the inline versions */
  GArray           *version_nodes;   /* CleaveOcdbtVersionNodeRef, highest first */
} CleaveOcdbtManifest;

typedef struct
{
  guint8  height;
  GArray *versions;                  /* height 0: CleaveOcdbtVersion */
  GArray *children;                  /* height > 0: CleaveOcdbtVersionNodeRef */
} CleaveOcdbtVersionNode;

typedef enum
{
  CLEAVE_OCDBT_VALUE_INLINE = 0,
  CLEAVE_OCDBT_VALUE_INDIRECT = 1,
} CleaveOcdbtValueKind;

typedef struct
{
  guint32              key_offset;   /* into the node's key buffer */
  guint32              key_length;
  /* Leaf entries. */
  CleaveOcdbtValueKind value_kind;
  guint64              value_length;
  guint64              value_offset; /* inline: into the body; indirect: in value_file */
  const char          *value_file;
  /* Interior entries. */
  guint32              subtree_common_prefix_length;
  CleaveOcdbtLocation  child;
  CleaveOcdbtStats     child_stats;
} CleaveOcdbtEntry;

typedef struct
{
  guint8      height;
  guint       n_entries;
  CleaveOcdbtEntry *entries;
  GByteArray *keys;                  /* every key, node-relative, back to back */
  GBytes     *body;                  /* the decoded body (inline values point here) */
  gsize       decoded_size;          /* for cache accounting */
} CleaveOcdbtBtreeNode;

/* §6.4: the generations [*lo, *hi] a manifest version node of @height may
 * cover when @latest is the newest generation; FALSE when there is no such
 * slot. The decoder checks manifests against it and the writer builds them
 * by it. */
gboolean      cleave_ocdbt_version_slot (guint64  latest,
                                         guint    arity_log2,
                                         guint    height,
                                         guint64 *lo,
                                         guint64 *hi);

const guint8 *cleave_ocdbt_entry_key  (const CleaveOcdbtBtreeNode *node,
                                       guint                       i);
int           cleave_ocdbt_key_cmp    (const guint8               *a,
                                       gsize                       a_len,
                                       const guint8               *b,
                                       gsize                       b_len);

GBytes   *cleave_ocdbt_decode_envelope       (const guint8               *data,
                                              gsize                       len,
                                              guint32                     magic,
                                              const char                 *what,
                                              gsize                       base_offset,
                                              GError                    **error);

CleaveOcdbtManifest *cleave_ocdbt_manifest_decode (const guint8          *data,
                                                   gsize                  len,
                                                   const char            *what,
                                                   GError               **error);
CleaveOcdbtManifest *cleave_ocdbt_manifest_copy (const CleaveOcdbtManifest *manifest);
void      cleave_ocdbt_manifest_free         (CleaveOcdbtManifest        *manifest);

CleaveOcdbtVersionNode *cleave_ocdbt_version_node_decode (const guint8              *data,
                                                          gsize                      len,
                                                          const CleaveOcdbtLocation *location,
                                                          guint8                     arity_log2,
                                                          GError                   **error);
void      cleave_ocdbt_version_node_free     (CleaveOcdbtVersionNode     *node);

CleaveOcdbtBtreeNode *cleave_ocdbt_btree_node_decode (const guint8              *data,
                                                      gsize                      len,
                                                      const CleaveOcdbtLocation *location,
                                                      GError                   **error);
void      cleave_ocdbt_btree_node_free       (CleaveOcdbtBtreeNode       *node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveOcdbtManifest, cleave_ocdbt_manifest_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveOcdbtVersionNode, cleave_ocdbt_version_node_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveOcdbtBtreeNode, cleave_ocdbt_btree_node_free)

G_END_DECLS
