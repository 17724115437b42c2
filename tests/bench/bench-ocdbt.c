/* bench-ocdbt.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The OCDBT store on the paths the viewer and the editor hit, each against a
 * reference measured in the same run:
 *
 *  1. reading every chunk of a 256-chunk store with cleave_ocdbt_get, vs
 *     pread of the same byte ranges from the same data files;
 *  2. decoding a leaf of a few thousand entries, vs ZSTD_decompress of its
 *     frame alone;
 *  3. commit latency (one chunk, 64 chunks; with and without fsync) on a
 *     store of 10k keys, vs writing as many bytes to a new file, fsync and
 *     rename;
 *  4. listing 100k keys, vs walking a sorted in-memory array of them.
 *
 * Ratios are "reference time / Cleave time": 1.00x is as fast as the
 * reference. Nothing here asserts on time.
 */

#define G_LOG_DOMAIN "bench-ocdbt"

#include "cleave-ocdbt-encode.h"
#include "cleave-ocdbt.h"
#include "cleave-ocdbt-format.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-test.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define READ_CHUNKS     256
#define READ_ROUNDS     9
#define DECODE_ENTRIES  4096
#define DECODE_ROUNDS   5
#define COMMIT_BASE     10000
#define COMMIT_COUNT    30
#define COMMIT_WARMUP   2
#define COMMIT_CHUNK    (100u << 10)
#define LIST_KEYS       100000
#define LIST_ROUNDS     5

static char *root_dir;

/* Benchmarks fail loudly, but first remove the scratch store. */
static void
check (gboolean    ok,
       GError     *error,
       const char *doing)
{
  if (ok)
    return;
  if (root_dir != NULL)
    cleave_test_rm_rf (root_dir);
  g_error ("%s: %s", doing, error ? error->message : "failed");
}

static void
check_errno (gboolean    ok,
             const char *path,
             const char *doing)
{
  int errsv = errno;

  if (ok)
    return;
  if (root_dir != NULL)
    cleave_test_rm_rf (root_dir);
  g_error ("%s: %s: %s", path, doing, g_strerror (errsv));
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Incompressible like the zstd-compressed chunks a real store holds. */
static void
fill_random (guint8  *buf,
             gsize    len,
             guint64 *state)
{
  guint64 x = *state;

  for (gsize i = 0; i < len; i += 8)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy (buf + i, &x, MIN (8, len - i));
    }
  *state = x;
}

static guint64
next_random (guint64 *state)
{
  guint64 x;

  fill_random ((guint8 *) &x, sizeof x, state);
  return x;
}

static char *
chunk_key (guint x,
           guint y,
           guint z)
{
  return g_strdup_printf ("seg/%u-%u_%u-%u_%u-%u",
                          x * 64, x * 64 + 64, y * 64, y * 64 + 64, z * 64, z * 64 + 64);
}

static int
cmp_str (const void *a,
         const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static guint64
dir_bytes (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      struct stat st;

      if (stat (child, &st) == 0 && S_ISREG (st.st_mode))
        total += st.st_size;
    }
  return total;
}

static void
pread_all (int         fd,
           guint8     *buf,
           gsize       len,
           guint64     offset,
           const char *path)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = pread (fd, buf + done, len - done, offset + done);

      if (n < 0 && errno == EINTR)
        continue;
      check_errno (n > 0, path, "cannot read");
      done += n;
    }
}

static void
write_all (int           fd,
           const guint8 *buf,
           gsize         len,
           const char   *path)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      check_errno (n > 0, path, "cannot write");
      buf += n;
      len -= n;
    }
}

/* ---- 1. Reading values ------------------------------------------------- */

typedef struct
{
  const char *file;   /* interned, relative to the store */
  guint64     offset;
  guint64     length;
} ValueRange;

static guint8 *
read_object (const char                *dir,
             const CleaveOcdbtLocation *loc)
{
  g_autofree char *path = g_build_filename (dir, loc->file, NULL);
  guint8 *data = g_malloc (loc->length);
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  check_errno (fd >= 0, path, "cannot open");
  pread_all (fd, data, loc->length, loc->offset, path);
  close (fd);
  return data;
}

/* Where the store put every value, found by walking its B+tree with the
 * format decoder: the reference then reads exactly the bytes get() does. */
static void
collect_values (const char                *dir,
                const CleaveOcdbtLocation *loc,
                GArray                    *out)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = read_object (dir, loc);
  g_autoptr(CleaveOcdbtBtreeNode) node = cleave_ocdbt_btree_node_decode (data, loc->length, loc, &error);

  check (node != NULL, error, "decoding a b+tree node");
  for (guint i = 0; i < node->n_entries; i++)
    {
      const CleaveOcdbtEntry *e = &node->entries[i];
      ValueRange v = { e->value_file, e->value_offset, e->value_length };

      if (node->height > 0)
        collect_values (dir, &e->child, out);
      else if (e->value_kind == CLEAVE_OCDBT_VALUE_INDIRECT)
        g_array_append_val (out, v);
    }
}

typedef enum
{
  PREAD_REUSE,    /* descriptors open, one buffer */
  PREAD_MALLOC,   /* descriptors open, a fresh buffer per value */
  PREAD_OPEN,     /* open, fstat, malloc, pread, close per value */
} PreadKind;

static guint64
pread_values (const char *dir,
              GArray     *ranges,
              GHashTable *fds,
              guint8     *buf,
              PreadKind   kind)
{
  guint64 sink = 0;

  for (guint i = 0; i < ranges->len; i++)
    {
      const ValueRange *v = &g_array_index (ranges, ValueRange, i);
      int fd = GPOINTER_TO_INT (g_hash_table_lookup (fds, v->file)) - 1;
      g_autofree char *path = NULL;
      guint8 *dst = buf;
      struct stat st;

      if (kind == PREAD_OPEN)
        {
          path = g_build_filename (dir, v->file, NULL);
          fd = open (path, O_RDONLY | O_CLOEXEC);
          check_errno (fd >= 0 && fstat (fd, &st) == 0, path, "cannot open");
        }
      if (kind != PREAD_REUSE)
        dst = g_malloc (v->length);
      pread_all (fd, dst, v->length, v->offset, v->file);
      sink += dst[v->length - 1];
      if (kind != PREAD_REUSE)
        g_free (dst);
      if (kind == PREAD_OPEN)
        close (fd);
    }
  return sink;
}

static guint64
get_values (const char  *dir,
            char       **keys,
            guint        n_keys)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  guint64 sink = 0;

  check (store != NULL, error, "opening the store");
  for (guint i = 0; i < n_keys; i++)
    {
      g_autoptr(GBytes) value = NULL;
      gsize len;
      const guint8 *data;

      check (cleave_ocdbt_get (store, (const guint8 *) keys[i], strlen (keys[i]), &value, &error),
             error, "get");
      check (value != NULL, NULL, "get: a key is missing");
      data = g_bytes_get_data (value, &len);
      sink += data[len - 1];
    }
  return sink;
}

static void
bench_read (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (root_dir, "read", NULL);
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (ValueRange));
  g_autoptr(GHashTable) fds = g_hash_table_new (NULL, NULL);
  g_autofree guint8 *buf = NULL;
  char **keys = g_new0 (char *, READ_CHUNKS + 1);
  CleaveOcdbtVersion version;
  guint64 state = 0x9e3779b97f4a7c15u, sink = 0, total = 0, max_len = 0;
  double t_get = G_MAXDOUBLE, t_ref = G_MAXDOUBLE, t_malloc = G_MAXDOUBLE, t_open = G_MAXDOUBLE;
  GHashTableIter iter;
  gpointer fd;

  check (store != NULL, error, "creating the store");
  txn = cleave_ocdbt_txn_new (store);
  for (guint i = 0; i < READ_CHUNKS; i++)
    {
      gsize len = (64u << 10) + next_random (&state) % (236u << 10);
      guint8 *data = g_malloc (len);

      fill_random (data, len, &state);
      keys[i] = chunk_key (i % 8, i / 8 % 8, i / 64);
      g_ptr_array_add (values, g_bytes_new_take (data, len));
      cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) keys[i], strlen (keys[i]), values->pdata[i]);
      total += len;
    }
  check (cleave_ocdbt_txn_commit (txn, NULL, &error), error, "committing the chunks");

  version = cleave_ocdbt_get_version (store);
  collect_values (dir, &version.root, ranges);
  check (ranges->len == READ_CHUNKS, NULL, "the store does not hold every chunk out of line");
  for (guint i = 0; i < ranges->len; i++)
    {
      const ValueRange *v = &g_array_index (ranges, ValueRange, i);

      max_len = MAX (max_len, v->length);
      if (!g_hash_table_contains (fds, v->file))
        {
          g_autofree char *path = g_build_filename (dir, v->file, NULL);
          int f = open (path, O_RDONLY | O_CLOEXEC);

          check_errno (f >= 0, path, "cannot open");
          g_hash_table_insert (fds, (gpointer) v->file, GINT_TO_POINTER (f + 1));
        }
    }
  buf = g_malloc (max_len);

  /* Once untimed, checking every value, which also warms the page cache. */
  for (guint i = 0; i < READ_CHUNKS; i++)
    {
      g_autoptr(GBytes) value = NULL;

      check (cleave_ocdbt_get (store, (const guint8 *) keys[i], strlen (keys[i]), &value, &error),
             error, "get");
      check (value != NULL && g_bytes_equal (value, values->pdata[i]), NULL, "a value reads back wrong");
    }
  sink += pread_values (dir, ranges, fds, buf, PREAD_REUSE);

  /* Interleaved, so drift in the machine hits every variant alike. */
  for (guint r = 0; r < READ_ROUNDS; r++)
    {
      double t0 = now ();
      sink += pread_values (dir, ranges, fds, buf, PREAD_REUSE);
      double t1 = now ();
      sink += get_values (dir, keys, READ_CHUNKS);
      double t2 = now ();
      sink += pread_values (dir, ranges, fds, buf, PREAD_MALLOC);
      double t3 = now ();
      sink += pread_values (dir, ranges, fds, buf, PREAD_OPEN);
      double t4 = now ();

      t_ref = MIN (t_ref, t1 - t0);
      t_get = MIN (t_get, t2 - t1);
      t_malloc = MIN (t_malloc, t3 - t2);
      t_open = MIN (t_open, t4 - t3);
    }

  g_hash_table_iter_init (&iter, fds);
  while (g_hash_table_iter_next (&iter, NULL, &fd))
    close (GPOINTER_TO_INT (fd) - 1);
  g_strfreev (keys);

  g_print ("1. read %u values, %.1f MB (64-300 KiB each, out of line), best of %u, warm page cache:\n",
           READ_CHUNKS, total / 1e6, READ_ROUNDS);
  g_print ("   cleave_ocdbt_get, fresh handle:       %7.2f ms  %6.2f GB/s  %5.1f us/value\n",
           t_get * 1e3, total / t_get / 1e9, t_get * 1e6 / READ_CHUNKS);
  g_print ("   pread, fds open, one buffer (ref):    %7.2f ms  %6.2f GB/s  %5.1f us/value\n",
           t_ref * 1e3, total / t_ref / 1e9, t_ref * 1e6 / READ_CHUNKS);
  g_print ("   pread, fds open, g_malloc per value:  %7.2f ms  %6.2f GB/s  %5.1f us/value\n",
           t_malloc * 1e3, total / t_malloc / 1e9, t_malloc * 1e6 / READ_CHUNKS);
  g_print ("   open+fstat+g_malloc+pread+close:      %7.2f ms  %6.2f GB/s  %5.1f us/value\n",
           t_open * 1e3, total / t_open / 1e9, t_open * 1e6 / READ_CHUNKS);
  g_print ("   ratio get / pread: %.2fx (goal >= 0.50x)\n", t_ref / t_get);
  g_print ("   (sink %" G_GUINT64_FORMAT ")\n", sink);
}

/* ---- 2. Decoding a leaf ------------------------------------------------ */

static gboolean
read_varint (const guint8 *data,
             gsize         len,
             gsize        *pos)
{
  for (guint shift = 0; *pos < len && shift < 64; shift += 7)
    if ((data[(*pos)++] & 0x80) == 0)
      return TRUE;
  return FALSE;
}

/* The zstd frame of an envelope: after u32be magic, u64le length and the
 * version and compression varints, up to the 4-byte crc. */
static void
envelope_frame (const guint8  *data,
                gsize          len,
                const guint8 **frame,
                gsize         *frame_len)
{
  gsize pos = 12;

  check (len > 16 && read_varint (data, len, &pos) && read_varint (data, len, &pos),
         NULL, "a malformed envelope");
  *frame = data + pos;
  *frame_len = len - 4 - pos;
}

static void
bench_decode (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(CleaveOcdbtBtreeNode) node = NULL;
  g_autofree CleaveOcdbtEncodeEntry *entries = g_new0 (CleaveOcdbtEncodeEntry, DECODE_ENTRIES);
  g_autofree char **keys = g_new0 (char *, DECODE_ENTRIES + 1);
  g_autofree guint8 *out = NULL;
  const char *files[16];
  CleaveOcdbtConfig config;
  CleaveOcdbtLocation loc;
  const guint8 *data, *frame;
  gsize len, frame_len, body_len;
  unsigned long long content;
  guint64 state = 0x2545f4914f6cdd1du, offset = 0, sink = 0;
  double t_decode = G_MAXDOUBLE, t_zstd = G_MAXDOUBLE;
  guint iters = 1;

  /* A leaf of a chunk store: 16^3 chunk keys, every value out of line in
   * one of 16 data files (runs of neighbouring chunks written together). */
  for (guint i = 0; i < 16; i++)
    {
      g_autofree char *name = g_strdup_printf ("d/%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                                               next_random (&state), next_random (&state));
      files[i] = g_intern_string (name);
    }
  for (guint i = 0; i < DECODE_ENTRIES; i++)
    keys[i] = chunk_key (i % 16, i / 16 % 16, i / 256);
  qsort (keys, DECODE_ENTRIES, sizeof *keys, cmp_str);
  for (guint i = 0; i < DECODE_ENTRIES; i++)
    {
      CleaveOcdbtEncodeEntry *e = &entries[i];

      e->key = (const guint8 *) keys[i];
      e->key_len = strlen (keys[i]);
      e->value_kind = CLEAVE_OCDBT_VALUE_INDIRECT;
      e->value_length = (64u << 10) + next_random (&state) % (236u << 10);
      e->value_location.file = files[i / 64 % 16];
      e->value_location.base = g_intern_static_string ("");
      e->value_location.offset = offset;
      offset += e->value_length;
    }
  cleave_ocdbt_config_init_default (&config);
  encoded = cleave_ocdbt_btree_node_encode (0, entries, DECODE_ENTRIES, &config);
  g_strfreev (g_steal_pointer (&keys));
  data = g_bytes_get_data (encoded, &len);
  loc = (CleaveOcdbtLocation) { g_intern_static_string ("d/bench-node"), g_intern_static_string (""), 0, len };

  node = cleave_ocdbt_btree_node_decode (data, len, &loc, &error);
  check (node != NULL, error, "decoding the leaf");
  check (node->n_entries == DECODE_ENTRIES, NULL, "the leaf decodes to the wrong entries");
  body_len = g_bytes_get_size (node->body);

  envelope_frame (data, len, &frame, &frame_len);
  content = ZSTD_getFrameContentSize (frame, frame_len);
  check (content == body_len, NULL, "the zstd frame does not hold the node body");
  out = g_malloc (body_len);

  /* Enough iterations per round for ~50 ms of work. */
  {
    double t0 = now ();
    g_clear_pointer (&node, cleave_ocdbt_btree_node_free);
    node = cleave_ocdbt_btree_node_decode (data, len, &loc, &error);
    check (node != NULL, error, "decoding the leaf");
    iters = MAX (1, (guint) (0.05 / MAX (now () - t0, 1e-6)));
  }

  for (guint r = 0; r < DECODE_ROUNDS; r++)
    {
      double t0 = now (), t1, t2;

      for (guint i = 0; i < iters; i++)
        {
          size_t n = ZSTD_decompress (out, body_len, frame, frame_len);

          check (!ZSTD_isError (n) && n == body_len, NULL, "ZSTD_decompress failed");
          sink += out[n - 1];
        }
      t1 = now ();
      for (guint i = 0; i < iters; i++)
        {
          CleaveOcdbtBtreeNode *n = cleave_ocdbt_btree_node_decode (data, len, &loc, &error);

          check (n != NULL, error, "decoding the leaf");
          sink += n->n_entries;
          cleave_ocdbt_btree_node_free (n);
        }
      t2 = now ();
      t_zstd = MIN (t_zstd, (t1 - t0) / iters);
      t_decode = MIN (t_decode, (t2 - t1) / iters);
    }

  g_print ("2. decode a leaf of %u entries (indirect values, zstd): %" G_GSIZE_FORMAT
           " bytes encoded, %" G_GSIZE_FORMAT " decoded, best of %u x %u:\n",
           DECODE_ENTRIES, len, body_len, DECODE_ROUNDS, iters);
  g_print ("   cleave_ocdbt_btree_node_decode: %8.1f us  %7.1f MB/s decoded  %5.0f ns/entry\n",
           t_decode * 1e6, body_len / t_decode / 1e6, t_decode * 1e9 / DECODE_ENTRIES);
  g_print ("   ZSTD_decompress of the frame:   %8.1f us  %7.1f MB/s decoded (ref)\n",
           t_zstd * 1e6, body_len / t_zstd / 1e6);
  g_print ("   ratio decode / zstd: %.2fx\n", t_zstd / t_decode);
  g_print ("   (sink %" G_GUINT64_FORMAT ")\n", sink);
}

/* ---- 3. Commit latency ------------------------------------------------- */

typedef struct
{
  double median;
  double p90;
} Latency;

static Latency
latency (double *t,
         guint   n)
{
  Latency l;

  l.median = cleave_test_percentile (t, n, 0.5);
  l.p90 = cleave_test_percentile (t, n, 0.9);
  return l;
}

/* Commits of @n_chunks chunks of COMMIT_CHUNK bytes, overwriting keys of
 * the store (so it keeps its size); returns the bytes each commit added. */
static Latency
time_commits (CleaveOcdbt *store,
              const char  *dir,
              char       **keys,
              guint        n_chunks,
              GBytes      *chunk,
              gboolean     durable,
              guint64     *bytes_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (dir, "d", NULL);
  g_autofree char *manifest = g_build_filename (dir, "manifest.ocdbt", NULL);
  double t[COMMIT_COUNT];
  guint64 before = 0;
  struct stat st;

  cleave_ocdbt_set_sync (store, durable);
  sync ();   /* no earlier writeback lands on these commits */
  for (guint c = 0; c < COMMIT_WARMUP + COMMIT_COUNT; c++)
    {
      g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (store);
      double t0;

      if (c == COMMIT_WARMUP)
        before = dir_bytes (data_dir);
      for (guint i = 0; i < n_chunks; i++)
        {
          const char *key = keys[(c * 997 + i * 131) % COMMIT_BASE];
          cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) key, strlen (key), chunk);
        }
      t0 = now ();
      check (cleave_ocdbt_txn_commit (txn, NULL, &error), error, "commit");
      if (c >= COMMIT_WARMUP)
        t[c - COMMIT_WARMUP] = now () - t0;
    }
  check_errno (stat (manifest, &st) == 0, manifest, "cannot stat");
  *bytes_out = (dir_bytes (data_dir) - before) / COMMIT_COUNT + st.st_size;
  cleave_ocdbt_set_sync (store, TRUE);
  return latency (t, COMMIT_COUNT);
}

/* The least a durable commit of @len bytes can cost: write them to a new
 * file, fsync it, rename it into place and fsync the directory. */
static Latency
time_file_writes (const char   *dir,
                  const guint8 *data,
                  gsize         len,
                  gboolean      durable)
{
  g_autofree char *tmp = g_build_filename (dir, "ref.tmp", NULL);
  g_autofree char *path = g_build_filename (dir, "ref", NULL);
  double t[COMMIT_COUNT];

  sync ();
  for (guint c = 0; c < COMMIT_WARMUP + COMMIT_COUNT; c++)
    {
      double t0 = now ();
      int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int dfd;

      check_errno (fd >= 0, tmp, "cannot create");
      write_all (fd, data, len, tmp);
      check_errno (!durable || fsync (fd) == 0, tmp, "cannot fsync");
      close (fd);
      check_errno (rename (tmp, path) == 0, tmp, "cannot rename");
      if (durable)
        {
          dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          check_errno (dfd >= 0 && fsync (dfd) == 0, dir, "cannot fsync");
          close (dfd);
        }
      if (c >= COMMIT_WARMUP)
        t[c - COMMIT_WARMUP] = now () - t0;
    }
  unlink (path);
  return latency (t, COMMIT_COUNT);
}

static void
bench_commit (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (root_dir, "commit", NULL);
  g_autofree char *ref_dir = g_build_filename (root_dir, "commit-ref", NULL);
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(GBytes) small = NULL;
  g_autoptr(GBytes) chunk = NULL;
  g_autofree guint8 *buf = g_malloc (COMMIT_CHUNK);
  g_autofree guint8 *ref_data = NULL;
  char **keys = g_new0 (char *, COMMIT_BASE + 1);
  guint64 state = 0xd1b54a32d192ed03u;
  guint sizes[] = { 1, 64 };

  check (store != NULL, error, "creating the store");
  check_errno (g_mkdir_with_parents (ref_dir, 0755) == 0, ref_dir, "cannot create");

  /* 10k chunk keys whose values are out of line, as in a chunk store (1 KiB
   * each keeps the set-up quick); populated without fsync. */
  fill_random (buf, COMMIT_CHUNK, &state);
  small = g_bytes_new (buf, 1024);
  txn = cleave_ocdbt_txn_new (store);
  for (guint i = 0; i < COMMIT_BASE; i++)
    {
      keys[i] = chunk_key (i % 25, i / 25 % 20, i / 500);
      cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) keys[i], strlen (keys[i]), small);
    }
  cleave_ocdbt_set_sync (store, FALSE);
  check (cleave_ocdbt_txn_commit (txn, NULL, &error), error, "populating the store");
  chunk = g_bytes_new_take (g_steal_pointer (&buf), COMMIT_CHUNK);

  g_print ("3. commit latency on a store of %u keys, %u commits each (median / p90):\n",
           COMMIT_BASE, COMMIT_COUNT);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint64 bytes_sync, bytes_nosync;
      Latency l_sync, l_nosync, r_sync, r_nosync;

      l_sync = time_commits (store, dir, keys, sizes[s], chunk, TRUE, &bytes_sync);
      l_nosync = time_commits (store, dir, keys, sizes[s], chunk, FALSE, &bytes_nosync);
      ref_data = g_realloc (ref_data, bytes_sync);
      fill_random (ref_data, bytes_sync, &state);
      r_sync = time_file_writes (ref_dir, ref_data, bytes_sync, TRUE);
      r_nosync = time_file_writes (ref_dir, ref_data, bytes_sync, FALSE);

      g_print ("   %2u chunk%s of 100 KiB (%" G_GUINT64_FORMAT " bytes written per commit):\n",
               sizes[s], sizes[s] == 1 ? " " : "s", bytes_sync);
      g_print ("     commit, fsync:                      %8.2f / %8.2f ms\n", l_sync.median * 1e3, l_sync.p90 * 1e3);
      g_print ("     commit, no fsync:                   %8.2f / %8.2f ms\n", l_nosync.median * 1e3, l_nosync.p90 * 1e3);
      g_print ("     write+fsync+rename+fsync dir (ref): %8.2f / %8.2f ms\n", r_sync.median * 1e3, r_sync.p90 * 1e3);
      g_print ("     write+rename, no fsync (ref):       %8.2f / %8.2f ms\n", r_nosync.median * 1e3, r_nosync.p90 * 1e3);
      g_print ("     fsync / no fsync: %.1fx slower;  ratio ref / commit: %.2fx with fsync, %.2fx without\n",
               l_sync.median / l_nosync.median, r_sync.median / l_sync.median, r_nosync.median / l_nosync.median);
    }
  g_strfreev (keys);
}

/* ---- 4. Listing -------------------------------------------------------- */

typedef struct
{
  guint64 n;
  guint64 sink;
} ListCount;

static gboolean
count_key (const guint8 *key,
           gsize         key_len,
           guint64       value_len,
           gpointer      user_data)
{
  ListCount *count = user_data;

  count->n++;
  count->sink += key_len + key[key_len - 1] + value_len;
  return TRUE;
}

static void
list_all (CleaveOcdbt *store,
          ListCount   *count)
{
  g_autoptr(GError) error = NULL;

  check (cleave_ocdbt_list (store, NULL, 0, NULL, 0, count_key, count, &error), error, "list");
  check (count->n == LIST_KEYS, NULL, "list does not see every key");
}

static void
bench_list (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (root_dir, "list", NULL);
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GByteArray) packed = g_byte_array_new ();
  g_autofree guint *offsets = g_new (guint, LIST_KEYS + 1);
  char **keys = g_new0 (char *, LIST_KEYS + 1);
  guint8 small[128];
  guint64 state = 0xbf58476d1ce4e5b9u, sink = 0;
  double t_fresh = G_MAXDOUBLE, t_warm = G_MAXDOUBLE, t_ref = G_MAXDOUBLE;
  guint64 n_nodes = 0;

  /* Out-of-line values (128 bytes), so the leaves hold locations as a
   * chunk store's do. */
  check (store != NULL, error, "creating the store");
  fill_random (small, sizeof small, &state);
  value = g_bytes_new (small, sizeof small);
  txn = cleave_ocdbt_txn_new (store);
  for (guint i = 0; i < LIST_KEYS; i++)
    {
      keys[i] = chunk_key (i % 50, i / 50 % 50, i / 2500);
      cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) keys[i], strlen (keys[i]), value);
    }
  cleave_ocdbt_set_sync (store, FALSE);
  check (cleave_ocdbt_txn_commit (txn, NULL, &error), error, "populating the store");
  g_clear_pointer (&store, cleave_ocdbt_unref);

  /* The reference: the keys sorted, back to back in one buffer. */
  qsort (keys, LIST_KEYS, sizeof *keys, cmp_str);
  for (guint i = 0; i < LIST_KEYS; i++)
    {
      offsets[i] = packed->len;
      g_byte_array_append (packed, (const guint8 *) keys[i], strlen (keys[i]));
    }
  offsets[LIST_KEYS] = packed->len;
  g_strfreev (keys);

  for (guint r = 0; r < LIST_ROUNDS; r++)
    {
      g_autoptr(CleaveOcdbt) s = NULL;
      ListCount fresh = { 0 }, warm = { 0 }, ref = { 0 };
      double t0, t1, t2, t3;
      guint64 misses;

      t0 = now ();
      s = cleave_ocdbt_open (dir, &error);
      check (s != NULL, error, "opening the store");
      list_all (s, &fresh);
      t1 = now ();
      list_all (s, &warm);
      t2 = now ();
      for (guint i = 0; i < LIST_KEYS; i++)
        {
          const guint8 *key = packed->data + offsets[i];
          gsize len = offsets[i + 1] - offsets[i];
          gsize prev_len = i ? offsets[i] - offsets[i - 1] : 0;

          /* In order, as list checks each key against its bounds. */
          if (i > 0 && memcmp (key - prev_len, key, MIN (len, prev_len)) > 0)
            check (FALSE, NULL, "the reference keys are not sorted");
          count_key (key, len, sizeof small, &ref);
        }
      t3 = now ();
      check (ref.n == LIST_KEYS && ref.sink == fresh.sink, NULL, "list and the reference disagree");
      cleave_ocdbt_get_cache_stats (s, NULL, NULL, &misses);
      n_nodes = misses;
      sink += fresh.sink + warm.sink + ref.sink;
      t_fresh = MIN (t_fresh, t1 - t0);
      t_warm = MIN (t_warm, t2 - t1);
      t_ref = MIN (t_ref, t3 - t2);
    }

  g_print ("4. list %u keys (%" G_GUINT64_FORMAT " b+tree nodes), best of %u:\n",
           LIST_KEYS, n_nodes, LIST_ROUNDS);
  g_print ("   cleave_ocdbt_list, fresh handle: %7.2f ms  %6.1f ns/key\n",
           t_fresh * 1e3, t_fresh * 1e9 / LIST_KEYS);
  g_print ("   cleave_ocdbt_list, warm handle:  %7.2f ms  %6.1f ns/key\n",
           t_warm * 1e3, t_warm * 1e9 / LIST_KEYS);
  g_print ("   sorted array + memcmp (ref):     %7.2f ms  %6.1f ns/key\n",
           t_ref * 1e3, t_ref * 1e9 / LIST_KEYS);
  g_print ("   ratio ref / list: %.3fx fresh, %.3fx warm\n", t_ref / t_fresh, t_ref / t_warm);
  g_print ("   (sink %" G_GUINT64_FORMAT ")\n", sink);
}

int
main (int   argc,
      char *argv[])
{
  double t0 = now ();

  /* meson test sets MALLOC_PERTURB_, which fills every allocation and
   * every freed block: a memset of each value read, which is the harness,
   * not the store. */
  mallopt (M_PERTURB, 0);
  root_dir = cleave_test_tmpdir ();
  bench_read ();
  bench_decode ();
  bench_commit ();
  bench_list ();
  cleave_test_rm_rf (root_dir);
  g_clear_pointer (&root_dir, g_free);
  g_print ("(%.1f s in all)\n", now () - t0);
  return 0;
}
