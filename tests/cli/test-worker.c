/* test-worker.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl worker as a user runs it: a job for the whole volume on a
 * consistent pyramid changes nothing; a worker killed before its commit
 * leaves a claimed job and a downsample lock that `info` and `locks` show,
 * and the next `worker --once` takes the job over and empties the queue;
 * the refusals.
 */

#include "cleave-fault.h"
#include "cleave-queue.h"
#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

static JsonObject *
parse (const char *text,
       JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static gint64
queue_count (const char *dir,
             const char *member)
{
  g_auto(CleaveTestRun) info = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  RUN (&info, "info", dir, "--json");
  g_assert_cmpint (info.status, ==, 0);
  o = parse (info.out, parser);
  g_assert_true (json_object_has_member (o, "downsample_queue"));
  return json_object_get_int_member (json_object_get_object_member (o, "downsample_queue"), member);
}

static void
test_worker (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "w.cleave", NULL);
  g_auto(CleaveTestRun) demo = { 0 };
  g_auto(CleaveTestRun) all = { 0 };
  g_auto(CleaveTestRun) info = { 0 };
  g_auto(CleaveTestRun) killed = { 0 };
  g_auto(CleaveTestRun) locks = { 0 };
  g_auto(CleaveTestRun) again = { 0 };
  g_auto(CleaveTestRun) locks_after = { 0 };
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  JsonObject *o;

  RUN (&demo, "demo", dir, "--size", "160,128,32", "--chunk", "32,32,16", "--seed", "2");
  g_assert_cmpint (demo.status, ==, 0);
  RUN (&info, "info", dir);
  g_assert_cmpint (info.status, ==, 0);
  g_assert_nonnull (strstr (info.out, "downsample queue: 0 pending, 0 claimed, 0 failed"));

  /* The demo's pyramid is already what the worker makes: nothing changes. */
  RUN (&all, "worker", dir, "--enqueue", "all", "--once", "--json");
  g_assert_cmpint (all.status, ==, 0);
  o = parse (all.out, p1);
  g_assert_cmpint (json_object_get_int_member (o, "jobs_done"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "blocks"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "chunks_written"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "voxels"), ==, 160 * 128 * 32);

  /* Killed before its commit: the job stays, claimed, its block locked. */
  cleave_test_run (&killed, NULL, "/usr/bin/env", "CLEAVE_FAULT=downsample-before-commit",
                   cleave_test_env ("CLEAVECTL"), "worker", dir, "--enqueue", "10,10,0:50,40,8", "--once",
                   "--claim-ttl", "0.5", NULL);
  g_assert_cmpint (killed.status, ==, CLEAVE_FAULT_EXIT_STATUS);
  g_assert_cmpint (queue_count (dir, "pending") + queue_count (dir, "claimed"), ==, 1);
  RUN (&locks, "locks", dir);
  g_assert_cmpint (locks.status, ==, 0);
  g_assert_nonnull (strstr (locks.out, "downsample"));

  /* The next worker waits out the claim, takes the job over and frees the
   * dead worker's lock. */
  RUN (&again, "worker", dir, "--once", "--json");
  g_assert_cmpint (again.status, ==, 0);
  o = parse (again.out, p2);
  g_assert_cmpint (json_object_get_int_member (o, "jobs_done"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "jobs_taken_over"), ==, 1);
  g_assert_cmpint (queue_count (dir, "pending") + queue_count (dir, "claimed") + queue_count (dir, "failed"), ==, 0);
  RUN (&locks_after, "locks", dir);
  g_assert_cmpint (locks_after.status, ==, 0);
  g_assert_null (strstr (locks_after.out, "downsample"));
  cleave_test_rm_rf (tmp);
}

/* A job killed on every attempt runs out of them: it shows as failed, a
 * drain says so with a non-zero exit, and --retry-failed brings it back. */
static void
test_retry_failed (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "r.cleave", NULL);
  g_auto(CleaveTestRun) demo = { 0 };
  g_auto(CleaveTestRun) stuck = { 0 };
  g_auto(CleaveTestRun) retried = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();

  RUN (&demo, "demo", dir, "--size", "160,128,32", "--chunk", "32,32,16", "--seed", "3");
  g_assert_cmpint (demo.status, ==, 0);
  for (guint i = 0; i < CLEAVE_QUEUE_MAX_ATTEMPTS; i++)
    {
      g_auto(CleaveTestRun) killed = { 0 };

      cleave_test_run (&killed, NULL, "/usr/bin/env", "CLEAVE_FAULT=downsample-before-commit",
                       cleave_test_env ("CLEAVECTL"), "worker", dir, "--once", "--claim-ttl", "0.1",
                       i == 0 ? "--enqueue" : NULL, "0,0,0:40,40,8", NULL);
      g_assert_cmpint (killed.status, ==, CLEAVE_FAULT_EXIT_STATUS);
    }
  /* The last claim counts as failed once it has expired. */
  g_usleep (300 * 1000);
  g_assert_cmpint (queue_count (dir, "failed"), ==, 1);

  RUN (&stuck, "worker", dir, "--once", "--claim-ttl", "0.1");
  g_assert_cmpint (stuck.status, ==, 1);
  g_assert_nonnull (strstr (stuck.err, "1 job(s) ran out of attempts"));
  g_assert_nonnull (strstr (stuck.err, "--retry-failed"));
  g_assert_cmpint (queue_count (dir, "failed"), ==, 1);

  RUN (&retried, "worker", dir, "--retry-failed", "--once", "--json");
  g_assert_cmpint (retried.status, ==, 0);
  g_assert_nonnull (strstr (retried.err, "1 failed job(s) queued again"));
  g_assert_cmpint (json_object_get_int_member (parse (retried.out, parser), "jobs_done"), ==, 1);
  g_assert_cmpint (queue_count (dir, "pending") + queue_count (dir, "claimed") + queue_count (dir, "failed"), ==, 0);
  cleave_test_rm_rf (tmp);
}

static void
test_refusals (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *missing = g_build_filename (tmp, "none.cleave", NULL);
  g_auto(CleaveTestRun) budget = { 0 };
  g_auto(CleaveTestRun) box = { 0 };
  g_auto(CleaveTestRun) backwards = { 0 };
  g_auto(CleaveTestRun) no_dataset = { 0 };

  RUN (&budget, "worker", missing, "--budget", "0", "--once");
  g_assert_cmpint (budget.status, ==, 2);
  g_assert_nonnull (strstr (budget.err, "--budget"));
  RUN (&box, "worker", missing, "--enqueue", "1,2", "--once");
  g_assert_cmpint (box.status, ==, 2);
  RUN (&backwards, "worker", missing, "--enqueue", "5,5,5:1,9,9", "--once");
  g_assert_cmpint (backwards.status, ==, 2);
  g_assert_nonnull (strstr (backwards.err, "ends before it starts"));
  RUN (&no_dataset, "worker", missing, "--once");
  g_assert_cmpint (no_dataset.status, ==, 1);
  g_assert_nonnull (strstr (no_dataset.err, missing));
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/worker/drain-crash-takeover", test_worker);
  g_test_add_func ("/worker/retry-failed", test_retry_failed);
  g_test_add_func ("/worker/refusals", test_refusals);
  return g_test_run ();
}
