// Tests of agg (the results aggregator): job lists, eval.csv parsing and its errors, grouping,
// final scores, curve step intersection, bootstrap intervals, normalisation, the area under the
// curve and the output files.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg.h"
#include "episodes.h"

// |got - want| <= tol, printing both
#define NEAR(got, want, tol)                                                                  \
  do {                                                                                        \
    double g_ = (got), w_ = (want);                                                           \
    cr_assert(fabs(g_ - w_) <= (tol), "%s = %.17g, expected %.17g (tol %g)", #got, g_, w_,    \
              (double)(tol));                                                                 \
  } while (0)

static char dir[64], err[4096];

static void setup(void) {
  strcpy(dir, "/tmp/mb_agg_XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(agg, .init = setup, .fini = teardown);

// dir/rel in one of a few rotating buffers (so two can be used in one call)
static const char *at(const char *rel) {
  static char buf[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, rel);
  return buf[k];
}

static void put(const char *rel, const char *text) {
  FILE *f = fopen(at(rel), "w");
  cr_assert(f, "cannot write %s", at(rel));
  fputs(text, f);
  fclose(f);
}

// the whole file (malloc'd), or NULL if it does not exist
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

// A finished run dir/name: evaluation i at steps[i] with two episodes of returns v - 1 and v + 1
// (mean exactly v for the values used here), and DONE unless done is 0.
static void mkrun(const char *name, const long long *steps, const double *v, int n, int done) {
  cr_assert_eq(mkdir(at(name), 0777), 0);
  char rel[128];
  snprintf(rel, sizeof rel, "%s/eval.csv", name);
  FILE *f = fopen(at(rel), "w");
  cr_assert(f);
  fprintf(f, "%s\n", EVAL_CSV_HEADER);
  for (int i = 0; i < n; i++)
    for (int e = 0; e < 2; e++)
      fprintf(f, "%lld,%d,%d,%.17g,1000,%d.5\n", steps[i], i, e, v[i] + (e ? 1.0 : -1.0), i);
  fclose(f);
  if (done) {
    snprintf(rel, sizeof rel, "%s/DONE", name);
    put(rel, "");
  }
}

// dir/name/manifest.ini of a run of task with seed
static void manifest(const char *name, const char *task, unsigned seed) {
  char rel[128], text[256];
  snprintf(rel, sizeof rel, "%s/manifest.ini", name);
  snprintf(text, sizeof text, "; a run manifest\n[meta]\nprogram = sac\n\n[run]\nenv = %s\n"
           "seed = %u ; the seed\nsteps = 1000\n", task, seed);
  put(rel, text);
}

// a run whose first evaluation (step 0) is 100, above every final score, and whose last
// (step 1000) is `final`: the headline is the last one, never the best
static void mkfinal(const char *name, double final) {
  long long steps[] = {0, 1000};
  double v[] = {100, final};
  mkrun(name, steps, v, 2, 1);
}

// a job list naming runs in dir: lines "LABEL TASK SEED NAME" with NAME made absolute
static void jobs_file(const char *rel, const char *const *lines, int n) {
  FILE *f = fopen(at(rel), "w");
  cr_assert(f);
  fprintf(f, "# label task seed dir\n");
  for (int i = 0; i < n; i++) {
    char l[64], t[64], d[64];
    unsigned s;
    cr_assert_eq(sscanf(lines[i], "%63s %63s %u %63s", l, t, &s, d), 4);
    fprintf(f, "%s %s %u %s/%s\n", l, t, s, dir, d);
    // the runs' own record agrees (tests of a disagreeing one write theirs afterwards)
    struct stat st;
    if (stat(at(d), &st) == 0) manifest(d, t, s);
  }
  fclose(f);
}

static void load(AggSet *set, const char *jobs_rel) {
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at(jobs_rel), err, sizeof err), 0, "%s", err);
  agg_set_init(set);
  cr_assert_eq(agg_set_load(set, &jobs, AGG_EVAL_FILE, err, sizeof err), 0, "%s", err);
  agg_jobs_free(&jobs);
}

static const AggOptions opts = {.reps = 2000, .conf = 0.95, .seed = 0};

Test(agg, eval_header_matches_episodes) {
  cr_assert_str_eq(AGG_EVAL_HEADER, EVAL_CSV_HEADER);
}

Test(agg, final_mean_and_iqm_hand_computed) {
  mkfinal("r1", 1), mkfinal("r2", 2), mkfinal("r3", 3), mkfinal("r4", 10);
  const char *lines[] = {"sac Hopper 1 r1", "sac Hopper 2 r2", "sac Hopper 3 r3",
                         "sac Hopper 4 r4"};
  jobs_file("jobs", lines, 4);
  AggSet set;
  load(&set, "jobs");
  cr_assert_eq(set.n, 1);
  cr_assert_eq(set.group[0].n, 4);
  Rng r;
  rng_init(&r, 0, RNG_STREAM_BOOTSTRAP);
  AggSummary s;
  agg_group_final(&set.group[0], &s, &opts, &r);
  // the last evaluations 1, 2, 3, 10 (not the first ones, 100): mean 16 / 4 = 4; IQM drops
  // floor(4 / 4) = 1 from each end: (2 + 3) / 2 = 2.5
  cr_assert_eq(s.runs, 4);
  NEAR(s.mean.point, 4.0, 0.0);
  NEAR(s.iqm.point, 2.5, 0.0);
  // each interval holds its point and is not a point (the runs differ)
  cr_assert(s.mean.lo <= 4.0 && 4.0 <= s.mean.hi && s.mean.lo < s.mean.hi, "mean [%g, %g]",
            s.mean.lo, s.mean.hi);
  cr_assert(s.iqm.lo <= 2.5 && 2.5 <= s.iqm.hi && s.iqm.lo < s.iqm.hi, "iqm [%g, %g]", s.iqm.lo,
            s.iqm.hi);
  // replicate means lie in [1, 10]
  cr_assert(s.mean.lo >= 1.0 && s.mean.hi <= 10.0);
  agg_set_free(&set);
}

Test(agg, interval_collapses_when_runs_agree) {
  mkfinal("a", 7.5), mkfinal("b", 7.5), mkfinal("c", 7.5);
  const char *lines[] = {"x T 1 a", "x T 2 b", "x T 3 c"};
  jobs_file("jobs", lines, 3);
  AggSet set;
  load(&set, "jobs");
  Rng r;
  rng_init(&r, 0, RNG_STREAM_BOOTSTRAP);
  AggSummary s;
  agg_group_final(&set.group[0], &s, &opts, &r);
  // every resample is three 7.5s
  NEAR(s.mean.point, 7.5, 0.0);
  NEAR(s.mean.lo, 7.5, 0.0);
  NEAR(s.mean.hi, 7.5, 0.0);
  NEAR(s.iqm.point, 7.5, 0.0);
  NEAR(s.iqm.lo, 7.5, 0.0);
  NEAR(s.iqm.hi, 7.5, 0.0);
  agg_set_free(&set);
}

// The curve of group 0 of the job list `lines` (a fresh set, bootstrap seed 0)
static size_t first_curve(const char *const *lines, int nl, AggSet *set, AggPoint **p) {
  jobs_file("jobs", lines, nl);
  load(set, "jobs");
  Rng r;
  rng_init(&r, 0, RNG_STREAM_BOOTSTRAP);
  return agg_group_curve(&set->group[0], p, &opts, &r);
}

Test(agg, curve_at_the_steps_every_run_has) {
  long long s0[] = {0, 100, 200, 300}, s1[] = {0, 200, 300, 400}, s2[] = {0, 100, 200};
  double v0[] = {1, 2, 3, 4}, v1[] = {5, 6, 7, 8}, v2[] = {9, 10, 11};
  mkrun("r0", s0, v0, 4, 1), mkrun("r1", s1, v1, 4, 1), mkrun("r2", s2, v2, 3, 1);
  const char *lines[] = {"a T 0 r0", "a T 1 r1", "a T 2 r2"};
  AggSet set;
  AggPoint *p;
  size_t n = first_curve(lines, 3, &set, &p);
  // steps 0, 200 are in all three runs (100 is not in r1; 300 not in r2; 400 only in r1)
  cr_assert_eq(n, 2);
  cr_assert_eq(p[0].step, 0);
  cr_assert_eq(p[1].step, 200);
  cr_assert_eq(p[0].seeds, 3);
  // step 0: 1, 5, 9: mean 5; n = 3 drops floor(3 / 4) = 0, so the IQM is the mean
  NEAR(p[0].mean, 5.0, 0.0);
  NEAR(p[0].iqm.point, 5.0, 0.0);
  // step 200: 3, 6, 11: mean 20 / 3
  NEAR(p[1].mean, 20.0 / 3.0, 1e-15);
  NEAR(p[1].iqm.point, 20.0 / 3.0, 1e-15);
  cr_assert(p[1].iqm.lo >= 3.0 && p[1].iqm.lo <= 20.0 / 3.0 && p[1].iqm.hi <= 11.0 &&
                p[1].iqm.hi >= 20.0 / 3.0,
            "[%g, %g]", p[1].iqm.lo, p[1].iqm.hi);
  free(p);
  agg_set_free(&set);
}

// ARS evaluates at the end of an iteration: seeds reach the same evaluation point at nearby steps
Test(agg, curve_pairs_nearby_evaluations) {
  long long s0[] = {0, 1010, 2003, 3000}, s1[] = {0, 990, 2010, 2500};
  double v0[] = {1, 2, 3, 4}, v1[] = {5, 6, 7, 8};
  mkrun("r0", s0, v0, 4, 1), mkrun("r1", s1, v1, 4, 1);
  const char *lines[] = {"a T 0 r0", "a T 1 r1"};
  AggSet set;
  AggPoint *p;
  size_t n = first_curve(lines, 2, &set, &p);
  // 990 and 2010 are within half a gap of 1010 and 2003 (points at the smaller step); 2500 is 500
  // from 3000, more than half of 3000's gap of 997 to 2003: not the same evaluation
  cr_assert_eq(n, 3);
  cr_assert_eq(p[0].step, 0);
  cr_assert_eq(p[1].step, 990);
  cr_assert_eq(p[2].step, 2003);
  NEAR(p[1].mean, 4.0, 0.0);
  NEAR(p[2].mean, 5.0, 0.0);
  free(p);
  agg_set_free(&set);
}

// eval.csv with this text must fail with a message containing "PATH:want"
static void bad_eval(const char *text, const char *want) {
  put("e.csv", text);
  AggCurve c;
  char expect[512];
  snprintf(expect, sizeof expect, "%s:%s", at("e.csv"), want);
  cr_assert_eq(agg_curve_read(&c, at("e.csv"), err, sizeof err), -1, "accepted: %s", text);
  cr_assert(strstr(err, expect), "message '%s' lacks '%s'", err, expect);
}

#define H AGG_EVAL_HEADER "\n"

Test(agg, eval_errors_name_file_and_line) {
  bad_eval("step,eval,episode,return,len,wall_s\n0,0,0,1,1,0\n", "1: bad header");
  bad_eval("", "1: empty file");
  bad_eval(H, "1: no evaluation rows");
  bad_eval(H "0,0,0,1,1,0\n0,0,1,1,1\n", "3: 5 columns, expected 6");
  bad_eval(H "0,0,0,1,1,0,7\n", "2: 7 columns, expected 6");
  bad_eval(H "0,0,0,abc,1,0\n", "2: return: not a number: 'abc'");
  bad_eval(H "0,0,0,,1,0\n", "2: return: not a number");
  bad_eval(H "0,0,0,1x,1,0\n", "2: return: not a number: '1x'");
  bad_eval(H "1.5,0,0,1,1,0\n", "2: step: not a non-negative integer: '1.5'");
  bad_eval(H "-5,0,0,1,1,0\n", "2: step: not a non-negative integer");
  bad_eval(H "0,0,0,1,1,0\n0,0,1,inf,1,0\n", "3: return is not finite");
  bad_eval(H "0,0,0,nan,1,0\n", "2: return is not finite");
  bad_eval(H "0,0,0,1,1,0\n100,1,0,1,1,0\n50,2,0,1,1,0\n", "4: step 50 decreases");
  bad_eval(H "0,0,0,1,1,0\n10,0,1,1,1,0\n", "3: step 10 in evaluation 0");
  bad_eval(H "0,0,0,1,1,0\n0,1,0,1,1,0\n", "3: evaluation 1 repeats step 0");
  bad_eval(H "0,0,0,1,1,0\n10,1,0,1,1,0\n20,2,0,1,1,0\n30,1,0,1,1,0\n",
           "5: evaluation index 1 after 2");
  // the order envs/episodes.c writes: a repeated, lost or moved row is named, not averaged in
  bad_eval(H "0,0,0,1,1,0\n0,0,0,1,1,0\n", "3: episode 0 after episode 0 of evaluation 0");
  bad_eval(H "0,0,0,1,1,0\n0,0,1,1,1,0\n0,0,1,1,1,0\n", "4: episode 1 after episode 1");
  bad_eval(H "0,0,0,1,1,0\n0,0,2,1,1,0\n", "3: episode 2 after episode 0 of evaluation 0 "
           "(expected 1");
  bad_eval(H "0,1,0,1,1,0\n10,2,0,1,1,0\n", "2: the first evaluation is 1 (expected 0)");
  bad_eval(H "0,0,0,1,1,0\n10,2,0,1,1,0\n", "3: evaluation 2 after 0 (expected 1: lost rows)");
  bad_eval(H "0,0,1,1,1,0\n", "2: evaluation 0 starts at episode 1");
  bad_eval(H "0,0,0,1,1,0\n0,0,1,1,1,0\n10,1,1,1,1,0\n", "4: evaluation 1 starts at episode 1");
  // a lost last episode, in the middle and at the end of the file
  bad_eval(H "0,0,0,1,1,0\n0,0,1,1,1,0\n10,1,0,1,1,0\n20,2,0,1,1,0\n20,2,1,1,1,0\n",
           "4: evaluation 1 has 1 episodes, evaluation 0 has 2");
  bad_eval(H "0,0,0,1,1,0\n0,0,1,1,1,0\n10,1,0,1,1,0\n",
           "4: evaluation 1 has 1 episodes, evaluation 0 has 2");
  bad_eval(H "0,0,0,1,1,0\n10,1,0,1,1,0\n10,1,1,1,1,0\n",
           "4: evaluation 1 has 2 episodes, evaluation 0 has 1");
  // wrong widths and values where numbers belong, in every column
  bad_eval(H "0,0,0,1,1,0\n10,1,0,1,1\n", "3: 5 columns, expected 6");
  bad_eval(H "0,0,0,1,1,0\n10,1,0,1,1,0,\n", "3: 7 columns, expected 6");
  bad_eval(H "0,0,0,1,1,0\n\n", "3: 1 column, expected 6");
  bad_eval(H "0,0,0,1,1,0\nx,1,0,1,1,0\n", "3: step: not a non-negative integer: 'x'");
  bad_eval(H "0,x,0,1,1,0\n", "2: eval: not a non-negative integer: 'x'");
  bad_eval(H "0,0,-1,1,1,0\n", "2: episode: not a non-negative integer: '-1'");
  bad_eval(H "0,0,0,1,1e3,0\n", "2: length: not a non-negative integer: '1e3'");
  bad_eval(H "0,0,0,1,0,0\n", "2: length 0");
  bad_eval(H "0,0,0,1,1,x\n", "2: wall_s: not a number: 'x'");
  bad_eval(H "0,0,0,1,1,0\n10,1,0,1,1,nan\n", "3: wall_s is not finite: 'nan'");
  bad_eval(H "0,0,0,1,1,-inf\n", "2: wall_s is not finite");
  bad_eval(H "0,0,0,-inf,1,0\n", "2: return is not finite");
}

Test(agg, eval_rows_become_evaluation_means) {
  // CRLF line ends and a last line without one are read; wall_s may be any finite number
  put("e.csv", AGG_EVAL_HEADER "\r\n0,0,0,1,1000,0.1\r\n0,0,1,2,1000,0.1\r\n0,0,2,6,1000,0.2\r\n"
               "5000,1,0,-4.5,10,-3\n5000,1,1,0.5,10,1e300\n5000,1,2,-2,1,0");
  AggCurve c;
  cr_assert_eq(agg_curve_read(&c, at("e.csv"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.n, 2);
  cr_assert_eq(c.step[0], 0);
  cr_assert_eq(c.step[1], 5000);
  NEAR(c.ret[0], 3.0, 0.0);    // (1 + 2 + 6) / 3
  NEAR(c.ret[1], -2.0, 0.0);   // (-4.5 + 0.5 - 2) / 3
  agg_curve_free(&c);
}

// a job list with this text must fail with a message containing "PATH:want"
static void bad_jobs(const char *text, const char *want) {
  put("j.txt", text);
  AggJobs j;
  char expect[512];
  snprintf(expect, sizeof expect, "%s:%s", at("j.txt"), want);
  cr_assert_eq(agg_jobs_read(&j, at("j.txt"), err, sizeof err), -1, "accepted: %s", text);
  cr_assert(strstr(err, expect), "message '%s' lacks '%s'", err, expect);
}

Test(agg, job_list_errors) {
  bad_jobs("a T 1 d\nb T 2\n", "2: 3 fields, expected 4");
  bad_jobs("a T 1 d extra\n", "1: 5 fields, expected 4");
  bad_jobs("a T -1 d\n", "1: bad seed '-1'");
  bad_jobs("a T x d\n", "1: bad seed 'x'");
  bad_jobs("a T 4294967296 d\n", "1: bad seed '4294967296'");
  bad_jobs("a,b T 1 d\n", "1: LABEL 'a,b' contains a comma");
  bad_jobs("# c\n\na T 1 d1\nb T 1 d2\na T 1 d3\n",
           "5: run a T seed 1 is listed twice (lines 3 and 5)");
  put("j.txt", "# nothing\n\n");
  AggJobs j;
  cr_assert_eq(agg_jobs_read(&j, at("j.txt"), err, sizeof err), -1);
  cr_assert(strstr(err, "no runs listed"), "%s", err);
}

Test(agg, job_list_parsed) {
  put("j.txt", "  # comment\n\nsac Hopper 3 runs/x\n\tdemorl-H5  Walker2d 4294967295 /abs/y  \n"
               "sac Hopper 4 runs/z");
  AggJobs j;
  cr_assert_eq(agg_jobs_read(&j, at("j.txt"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(j.n, 3);
  cr_assert_str_eq(j.job[0].label, "sac");
  cr_assert_str_eq(j.job[0].task, "Hopper");
  cr_assert_eq(j.job[0].seed, 3);
  cr_assert_str_eq(j.job[0].dir, "runs/x");
  cr_assert_eq(j.job[0].line, 3);
  cr_assert_str_eq(j.job[1].label, "demorl-H5");
  cr_assert_eq(j.job[1].seed, 4294967295u);
  cr_assert_str_eq(j.job[1].dir, "/abs/y");
  cr_assert_eq(j.job[2].line, 5);
  agg_jobs_free(&j);
}

Test(agg, missing_runs_reported_and_skipped) {
  mkfinal("ok", 1);
  mkfinal("ok2", 3);
  long long s[] = {0};
  double v[] = {1};
  mkrun("nodone", s, v, 1, 0);
  cr_assert_eq(mkdir(at("noeval"), 0777), 0);
  put("noeval/DONE", "");
  cr_assert_null(agg_run_missing(at("ok"), AGG_EVAL_FILE));
  cr_assert_str_eq(agg_run_missing(at("nodone"), AGG_EVAL_FILE), "no DONE");
  cr_assert_str_eq(agg_run_missing(at("noeval"), AGG_EVAL_FILE), "no eval.csv");
  cr_assert_str_eq(agg_run_missing(at("nodir"), AGG_EVAL_FILE), "no directory");

  // group b's only run is missing and group a's first: a stays first, b is left out
  const char *lines[] = {"a T 1 nodir", "b T 1 nodone", "a T 2 ok", "c T 1 noeval", "a T 3 ok2"};
  jobs_file("jobs", lines, 5);
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs"), err, sizeof err), 0, "%s", err);
  FILE *f = tmpfile();
  cr_assert_eq(agg_report_missing(&jobs, AGG_EVAL_FILE, f), 3);
  rewind(f);
  char text[2048];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  char want[512];
  snprintf(want, sizeof want, ": missing run b T seed 1: %s (no DONE)\n", at("nodone"));
  cr_assert(strstr(text, want), "'%s' lacks '%s'", text, want);
  snprintf(want, sizeof want, ": missing run a T seed 1: %s (no directory)\n", at("nodir"));
  cr_assert(strstr(text, want), "'%s' lacks '%s'", text, want);
  cr_assert(strstr(text, "(no eval.csv)"), "%s", text);

  AggSet set;
  agg_set_init(&set);
  cr_assert_eq(agg_set_load(&set, &jobs, AGG_EVAL_FILE, err, sizeof err), 0, "%s", err);
  cr_assert_eq(set.n, 1);
  cr_assert_str_eq(set.group[0].label, "a");
  cr_assert_eq(set.group[0].n, 2);
  cr_assert(agg_set_find(&set, "b", "T") == NULL);
  agg_set_free(&set);
  agg_jobs_free(&jobs);
}

Test(agg, malformed_run_stops_loading) {
  mkfinal("ok", 1);
  cr_assert_eq(mkdir(at("bad"), 0777), 0);
  put("bad/DONE", "");
  put("bad/eval.csv", AGG_EVAL_HEADER "\n0,0,0,1,1,0\n0,0,1,zz,1,0\n");
  const char *lines[] = {"a T 1 ok", "a T 2 bad"};
  jobs_file("jobs", lines, 2);
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs"), err, sizeof err), 0, "%s", err);
  AggSet set;
  agg_set_init(&set);
  cr_assert_eq(agg_set_load(&set, &jobs, AGG_EVAL_FILE, err, sizeof err), -1);
  char want[512];
  snprintf(want, sizeof want, "%s:3: return: not a number", at("bad/eval.csv"));
  cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
  agg_set_free(&set);
  agg_jobs_free(&jobs);
}

// run r's manifest.ini with this text must fail agg_set_load (a job list of runs a and r) with a
// message containing "DIR/manifest.ini:want"
static void bad_manifest(const char *text, const char *want) {
  mkfinal("a", 1);
  mkfinal("r", 2);
  const char *lines[] = {"x Hopper 1 a", "x Hopper 2 r"};
  jobs_file("jobs", lines, 2);
  if (text) put("r/manifest.ini", text);
  else remove(at("r/manifest.ini"));
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs"), err, sizeof err), 0, "%s", err);
  AggSet set;
  agg_set_init(&set);
  cr_assert_eq(agg_set_load(&set, &jobs, AGG_EVAL_FILE, err, sizeof err), -1, "accepted: %s",
               text ? text : "(no manifest)");
  char expect[512];
  snprintf(expect, sizeof expect, "%s:%s", at("r/manifest.ini"), want);
  cr_assert(strstr(err, expect), "message '%s' lacks '%s'", err, expect);
  agg_set_free(&set);
  agg_jobs_free(&jobs);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s/a %s/r", dir, dir);
  cr_assert_eq(system(cmd), 0);
}

// A run directory is the job list's run: its manifest names the same task and seed.
Test(agg, manifest_must_match_the_job_list) {
  bad_manifest("[meta]\nprogram = sac\n[run]\nenv = Walker2d\nseed = 2\n",
               "4: env = Walker2d, but the job list (line 3) runs Hopper");
  bad_manifest("[meta]\nprogram = sac\n[run]\nenv = Hopper\nseed = 1 ; a comment\n",
               "5: seed = 1, but the job list (line 3) has seed 2");
  bad_manifest("[meta]\nprogram = sac\n[run]\nenv = Hopper\nseed = x\n", "5: seed = x");
  bad_manifest(NULL, " cannot open");
  bad_manifest("[meta]\nprogram = sac\n[run]\nseed = 2\n", " no [run] env");
  bad_manifest("[meta]\nprogram = sac\n[sac]\nenv = Hopper\nseed = 2\n", " no [run] env");
  bad_manifest("[run]\nenv = Hopper\nseed = 2\n", " no [meta] program");
  bad_manifest("[meta]\nprogram = sac\n[run]\nenv = Hopper\nseed = 2\nenv = Walker2d\n",
               "6: [run] env given twice (line 4)");
  // as the programs write it: comments, blanks around '=', other keys and sections
  mkfinal("a", 1);
  put("a/manifest.ini", "; mirrorbench run manifest\n[meta]\nprogram = sac\ncommand = sac "
                        "--env Hopper --seed 3\n\n[run]\nenv = Hopper\nseed=3\nsteps = 1000\n"
                        "[sac]\nseed = 9\n");
  char e[256];
  cr_assert_eq(agg_manifest_check(at("a"), "Hopper", 3, 1, e, sizeof e), 0, "%s", e);
  cr_assert_eq(agg_manifest_check(at("a"), "Hopper", 9, 1, e, sizeof e), -1);
}

// Another log with eval.csv's columns (eval_mpc.csv, eval_policy.csv) is read the same way, and
// its absence, its header and its rows are reported under its own name.
Test(agg, other_evaluation_log) {
  mkfinal("r1", 1);
  mkfinal("r2", 3);
  put("r1/eval_mpc.csv",
      AGG_EVAL_HEADER "\n0,0,0,7,1,0\n0,0,1,7,1,0\n1000,1,0,20,1,0\n1000,1,1,30,1,0\n");
  put("r2/eval_mpc.csv", AGG_EVAL_HEADER "\n");
  cr_assert(agg_eval_name_ok("eval_mpc.csv"));
  cr_assert(!agg_eval_name_ok("") && !agg_eval_name_ok("a/eval.csv") && !agg_eval_name_ok(".."));
  cr_assert_str_eq(agg_run_missing(at("r1"), "eval_policy.csv"), "no eval_policy.csv");
  cr_assert_null(agg_run_missing(at("r1"), "eval_mpc.csv"));

  const char *one_run[] = {"a T 1 r1"};
  jobs_file("jobs1", one_run, 1);
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs1"), err, sizeof err), 0, "%s", err);
  AggSet set;
  agg_set_init(&set);
  cr_assert_eq(agg_set_load(&set, &jobs, "eval_mpc.csv", err, sizeof err), 0, "%s", err);
  cr_assert_eq(set.n, 1);
  cr_assert_eq(set.group[0].run[0].n, 2);
  cr_assert_eq(set.group[0].run[0].ret[1], 25.0, "the MPC log's mean, not eval.csv's 1");
  agg_set_free(&set);
  agg_jobs_free(&jobs);

  // a header without rows (the programs' log when no such episodes were asked for) is an error
  const char *both[] = {"a T 1 r1", "a T 2 r2"};
  jobs_file("jobs2", both, 2);
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs2"), err, sizeof err), 0, "%s", err);
  agg_set_init(&set);
  cr_assert_eq(agg_set_load(&set, &jobs, "eval_mpc.csv", err, sizeof err), -1);
  char want[512];
  snprintf(want, sizeof want, "%s:1: no evaluation rows", at("r2/eval_mpc.csv"));
  cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
  agg_set_free(&set);
  agg_jobs_free(&jobs);
}

// a run with one evaluation at step 1000 of value v
static void one(AggSet *s, const char *label, const char *task, double v) {
  AggCurve c = {malloc(sizeof(int64_t)), malloc(sizeof(double)), 1};
  c.step[0] = 1000;
  c.ret[0] = v;
  agg_set_add(s, label, task, &c);
  cr_assert(c.step == NULL && c.n == 0, "the set takes the curve over");
}

static void bad_refs(const char *text, const char *want) {
  put("ref.txt", text);
  AggRefs refs;
  char expect[512];
  snprintf(expect, sizeof expect, "%s:%s", at("ref.txt"), want);
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), -1, "accepted: %s", text);
  cr_assert(strstr(err, expect), "message '%s' lacks '%s'", err, expect);
}

Test(agg, references_and_normalisation) {
  bad_refs("Hopper 0\n", "1: 2 fields, expected 3");
  bad_refs("# c\nHopper 0 x\n", "2: HIGH: not a finite number: 'x'");
  bad_refs("Hopper inf 1\n", "1: LOW: not a finite number");
  bad_refs("Hopper 5 5\n", "1: LOW and HIGH are both 5");
  bad_refs("A 0 1\n\nA 0 2\n", "3: task A has a reference already (line 1)");

  AggRef r = {"T", 10, 110};
  NEAR(agg_normalize(60, &r), 0.5, 0.0);   // (60 - 10) / 100
  NEAR(agg_normalize(10, &r), 0.0, 0.0);
  NEAR(agg_normalize(110, &r), 1.0, 0.0);
  NEAR(agg_normalize(-40, &r), -0.5, 0.0);   // (-40 - 10) / 100
  AggRef down = {"T", 0, -200};   // a cost-like task: lower is better
  NEAR(agg_normalize(-50, &down), 0.25, 0.0);

  put("ref.txt", "# task low high\nA 0 10\nB -100 100\n");
  AggRefs refs;
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(refs.n, 2);
  NEAR(agg_refs_find(&refs, "B")->low, -100.0, 0.0);
  cr_assert(agg_refs_find(&refs, "C") == NULL);

  AggSet s;
  agg_set_init(&s);
  // x: A {5, 10} -> {0.5, 1}; B {0, 100} -> {0.5, 1}; C has no reference (left out)
  one(&s, "x", "A", 5), one(&s, "x", "A", 10), one(&s, "x", "C", 1000);
  one(&s, "y", "C", 3);   // no task with a reference: y is left out
  one(&s, "x", "B", 0), one(&s, "x", "B", 100);
  // z: A {0, 0} -> {0, 0}; B {100, 100} -> {1, 1}: every stratified resample is {0, 0, 1, 1}
  one(&s, "z", "A", 0), one(&s, "z", "B", 100), one(&s, "z", "A", 0), one(&s, "z", "B", 100);
  Rng rng;
  rng_init(&rng, 0, RNG_STREAM_BOOTSTRAP);
  AggNorm *a;
  size_t n = agg_normalized(&s, &refs, &a, &opts, &rng);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(a[0].label, "x");
  cr_assert_eq(a[0].tasks, 2);
  cr_assert_eq(a[0].runs, 4);
  // {0.5, 1, 0.5, 1}: mean 3 / 4 = 0.75; IQM drops one from each end of 0.5 0.5 1 1: 0.75
  NEAR(a[0].score.mean.point, 0.75, 0.0);
  NEAR(a[0].score.iqm.point, 0.75, 0.0);
  cr_assert(a[0].score.mean.lo >= 0.5 && a[0].score.mean.lo <= 0.75 &&
            a[0].score.mean.hi >= 0.75 && a[0].score.mean.hi <= 1.0);
  cr_assert_str_eq(a[1].label, "z");
  cr_assert_eq(a[1].tasks, 2);
  // stratified by task, the mean is 0.5 in every replicate; pooled resampling of {0, 0, 1, 1}
  // would spread it over [0.25, 0.75] at 95%
  NEAR(a[1].score.mean.point, 0.5, 0.0);
  NEAR(a[1].score.mean.lo, 0.5, 0.0);
  NEAR(a[1].score.mean.hi, 0.5, 0.0);
  NEAR(a[1].score.iqm.lo, 0.5, 0.0);   // IQM of 0 0 1 1: (0 + 1) / 2
  NEAR(a[1].score.iqm.hi, 0.5, 0.0);
  free(a);
  agg_set_free(&s);
  agg_refs_free(&refs);
}

Test(agg, output_files_exact) {
  AggSet s;
  agg_set_init(&s);
  one(&s, "demo_rl", "Hop&per", 12.5), one(&s, "demo_rl", "Hop&per", 12.5);
  one(&s, "a|b", "T_1", -3.5), one(&s, "a|b", "T_1", -3.5);
  // equal runs: every interval is its point, so each file is known in full
  cr_assert_eq(agg_write_all(&s, NULL, at("out/sub"), &opts, err, sizeof err), 0, "%s", err);
  char *t = slurp(at("out/sub/curves.csv"));
  cr_assert(t);
  cr_assert_str_eq(t, "label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi,diverged\n"
                      "demo_rl,Hop&per,1000,2,12.5,12.5,12.5,12.5,0\n"
                      "a|b,T_1,1000,2,-3.5,-3.5,-3.5,-3.5,0\n");
  free(t);
  t = slurp(at("out/sub/final.csv"));
  cr_assert_str_eq(t, "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged\n"
                      "demo_rl,Hop&per,2,12.5,12.5,12.5,12.5,12.5,12.5,0\n"
                      "a|b,T_1,2,-3.5,-3.5,-3.5,-3.5,-3.5,-3.5,0\n");
  free(t);
  t = slurp(at("out/sub/final.md"));
  cr_assert_str_eq(t, "| label | task | seeds | IQM [lo, hi] | mean [lo, hi] |\n"
                      "| --- | --- | ---: | ---: | ---: |\n"
                      "| demo_rl | Hop&per | 2 | 12.5 [12.5, 12.5] | 12.5 [12.5, 12.5] |\n"
                      "| a\\|b | T_1 | 2 | -3.5 [-3.5, -3.5] | -3.5 [-3.5, -3.5] |\n");
  free(t);
  t = slurp(at("out/sub/final.tex"));
  cr_assert_str_eq(t, "\\begin{tabular}{llrrr}\n\\toprule\n"
                      "label & task & seeds & IQM [lo, hi] & mean [lo, hi] \\\\\n\\midrule\n"
                      "demo\\_rl & Hop\\&per & 2 & 12.5 [12.5, 12.5] & 12.5 [12.5, 12.5] \\\\\n"
                      "a\\textbar{}b & T\\_1 & 2 & -3.5 [-3.5, -3.5] & -3.5 [-3.5, -3.5] \\\\\n"
                      "\\bottomrule\n\\end{tabular}\n");
  free(t);
  // no references, no normalized.csv; no temporary files left
  cr_assert_null(slurp(at("out/sub/normalized.csv")));
  cr_assert_null(slurp(at("out/sub/final.csv.tmp")));
  agg_set_free(&s);
}

// mark run name diverged: DIVERGED with this text, DONE removed
static void diverge(const char *name, const char *text) {
  char rel[128];
  snprintf(rel, sizeof rel, "%s/DIVERGED", name);
  put(rel, text);
  snprintf(rel, sizeof rel, "%s/DONE", name);
  remove(at(rel));
}

// A diverged run is an outcome: left out of every statistic, counted per group and label, and a
// group of diverged runs only has no score (empty cells, "all diverged"), never 0.
Test(agg, diverged_runs_counted_never_averaged) {
  mkfinal("a1", 4), mkfinal("a2", 6), mkfinal("a3", 1000);
  mkfinal("b1", 7), mkfinal("b2", 8);
  mkfinal("c1", 3);
  const char *lines[] = {"x T 1 a1", "x T 2 a2", "x T 3 a3", "y T 1 b1", "y T 2 b2",
                         "y U 1 c1"};
  jobs_file("jobs", lines, 6);
  diverge("a3", "diverged at step 120: Q loss is nan\n");
  diverge("b1", "diverged at step 0: observation 3 is inf\n");
  diverge("b2", "diverged at step 5: actor parameter is nan\n");
  // not missing, and the reason read back
  cr_assert_null(agg_run_missing(at("a3"), AGG_EVAL_FILE));
  char why[256];
  cr_assert_eq(agg_run_diverged(at("a3"), why, sizeof why, err, sizeof err), 1, "%s", err);
  cr_assert_str_eq(why, "diverged at step 120: Q loss is nan");
  cr_assert_eq(agg_run_diverged(at("a1"), why, sizeof why, err, sizeof err), 0);
  AggSet set;
  load(&set, "jobs");
  cr_assert_eq(set.n, 3, "the group of diverged runs only is kept");
  const AggGroup *x = agg_set_find(&set, "x", "T"), *y = agg_set_find(&set, "y", "T");
  cr_assert(x && y);
  cr_assert_eq(x->n, 2);
  cr_assert_eq(x->diverged, 1);
  cr_assert_eq(y->n, 0);
  cr_assert_eq(y->diverged, 2);
  Rng r;
  rng_init(&r, 0, RNG_STREAM_BOOTSTRAP);
  AggSummary sx, sy;
  agg_group_final(x, &sx, &opts, &r);
  agg_group_final(y, &sy, &opts, &r);
  // 4 and 6, not the diverged run's 1000
  NEAR(sx.mean.point, 5.0, 0.0);
  cr_assert_eq(sx.runs, 2);
  cr_assert_eq(sx.diverged, 1);
  cr_assert(isnan(sy.mean.point) && isnan(sy.iqm.hi), "no mean of no runs");
  AggPoint *p;
  cr_assert_eq(agg_group_curve(y, &p, &opts, &r), 0);
  free(p);

  put("ref.txt", "T 0 10\nU 0 10\n");
  AggRefs refs;
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(agg_write_all(&set, &refs, at("out"), &opts, err, sizeof err), 0, "%s", err);
  char *t = slurp(at("out/final.csv"));
  cr_assert(strstr(t, "\nx,T,2,5,"), "%s", t);
  cr_assert(strstr(t, ",1\ny,T,0,,,,,,,2\ny,U,1,3,3,3,3,3,3,0\n"), "%s", t);
  free(t);
  t = slurp(at("out/final.md"));
  cr_assert(strstr(t, "| x | T | 2/3, 1 diverged | 5.0 ["), "%s", t);
  cr_assert(strstr(t, "| y | T | 0/2, 2 diverged | all diverged | all diverged |\n"), "%s", t);
  cr_assert(strstr(t, "| y | U | 1 | 3.0 [3.0, 3.0] |"), "%s", t);
  free(t);
  t = slurp(at("out/final.tex"));
  cr_assert(strstr(t, "y & T & 0/2, 2 diverged & all diverged & all diverged \\\\\n"), "%s", t);
  free(t);
  t = slurp(at("out/curves.csv"));
  cr_assert(strstr(t, "x,T,1000,2,5,5,") && !strstr(t, "y,T,"), "%s", t);
  cr_assert(strstr(t, ",1\n"), "the curve rows count the diverged run: %s", t);
  free(t);
  // y: T's two diverged, U's one run (0.3); x: T's 0.4 and 0.6 and one diverged
  t = slurp(at("out/normalized.csv"));
  cr_assert(strstr(t, "\nx,1,2,0.5,"), "%s", t);
  cr_assert(strstr(t, "\ny,1,1,0.29999999999999999,"), "%s", t);
  cr_assert(strstr(t, ",2\n"), "%s", t);
  free(t);
  agg_refs_free(&refs);
  agg_set_free(&set);

  // every run of a label diverged: a normalized.csv row without scores
  AggSet s2;
  agg_set_init(&s2);
  one(&s2, "z", "U", 5);
  const char *zl[] = {"w T 1 b1", "w T 2 b2"};
  jobs_file("jobs2", zl, 2);
  diverge("b1", "diverged at step 0: observation 3 is inf\n");
  diverge("b2", "diverged at step 5: actor parameter is nan\n");
  AggJobs jobs;
  cr_assert_eq(agg_jobs_read(&jobs, at("jobs2"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(agg_set_load(&s2, &jobs, AGG_EVAL_FILE, err, sizeof err), 0, "%s", err);
  agg_jobs_free(&jobs);
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(agg_write_all(&s2, &refs, at("out2"), &opts, err, sizeof err), 0, "%s", err);
  t = slurp(at("out2/normalized.csv"));
  cr_assert(strstr(t, "\nw,0,0,,,,,,,2\n"), "%s", t);
  free(t);
  agg_refs_free(&refs);
  agg_set_free(&s2);
}

// DIVERGED must be the one line the programs write, and a run ends one way
Test(agg, diverged_file_checked) {
  static const char *const bad[] = {"", "diverged at step 12: nan", "diverged at step 12:\n",
                                    "diverged at step : x\n", "diverged at step 1: a\nb\n",
                                    "Diverged at step 1: a\n", "diverged at step -1: a\n",
                                    "diverged at step 1 x\n"};
  mkfinal("r", 1);
  const char *lines[] = {"x T 1 r"};
  jobs_file("jobs", lines, 1);
  char why[64];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    diverge("r", bad[i]);
    cr_assert_eq(agg_run_diverged(at("r"), why, sizeof why, err, sizeof err), -1, "accepted '%s'",
                 bad[i]);
    char want[256];
    snprintf(want, sizeof want, "%s:1: not one line 'diverged at step N: WHAT'", at("r/DIVERGED"));
    cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
    // and agg_set_load stops on it
    AggJobs jobs;
    cr_assert_eq(agg_jobs_read(&jobs, at("jobs"), err, sizeof err), 0, "%s", err);
    AggSet set;
    agg_set_init(&set);
    cr_assert_eq(agg_set_load(&set, &jobs, AGG_EVAL_FILE, err, sizeof err), -1);
    cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
    agg_set_free(&set);
    agg_jobs_free(&jobs);
  }
  put("r/DIVERGED", "diverged at step 3: x\n");
  put("r/DONE", "");
  cr_assert_eq(agg_run_diverged(at("r"), why, sizeof why, err, sizeof err), -1);
  cr_assert(strstr(err, ": both DONE and DIVERGED"), "%s", err);
}

// a curve of n evaluations (steps, values) that the caller frees with agg_curve_free
static AggCurve curve(const long long *steps, const double *v, size_t n) {
  AggCurve c = {malloc(n * sizeof(int64_t)), malloc(n * sizeof(double)), n};
  for (size_t i = 0; i < n; i++) c.step[i] = steps[i], c.ret[i] = v[i];
  return c;
}

// The AUC is the trapezoidal area over the span of steps: the curve's average over steps.
Test(agg, auc_of_hand_made_curves) {
  struct {
    long long steps[4];
    double v[4];
    size_t n;
    double want;
  } cases[] = {
      // a straight line: the mean of its ends, (0 + 30) / 2, whatever the spacing
      {{0, 1000, 3000}, {0, 10, 30}, 3, 15.0},
      {{0, 500, 1000, 4000}, {-20, -15, -10, 20}, 4, 0.0},
      // constant: its value
      {{0, 1000, 2000}, {7.25, 7.25, 7.25}, 3, 7.25},
      // a tent: (1000 x 50 + 1000 x 50) / 2000
      {{0, 1000, 2000}, {0, 100, 0}, 3, 50.0},
      // a fast rise then a plateau: (1000 x 50 + 4000 x 100) / 5000 = 90, where the final score
      // is 100 and the curve's plain mean (0 + 100 + 100) / 3 is 66.7
      {{0, 1000, 5000}, {0, 100, 100}, 3, 90.0},
      // a rise at the end scores less than at the start: (4000 x 0 + 1000 x 50) / 5000
      {{0, 4000, 5000}, {0, 0, 100}, 3, 10.0},
      // a first evaluation after step 0: from it to the last, (10 + 20) / 2
      {{1000, 2000}, {10, 20}, 2, 15.0},
      // one evaluation: its return
      {{0}, {42.5}, 1, 42.5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    AggCurve c = curve(cases[i].steps, cases[i].v, cases[i].n);
    cr_assert_eq(agg_run_auc(&c), cases[i].want, "case %zu: AUC %.17g, expected %.17g", i,
                 agg_run_auc(&c), cases[i].want);
    agg_curve_free(&c);
  }
}

// Per group: the mean and IQM of the runs' AUCs, normalised by a reference when given, the
// diverged runs counted and left out; the tables in final.md's form; per label normalised and
// pooled over tasks as normalized.csv.
Test(agg, auc_per_group_and_normalised) {
  // x on T: three lines from 0 (AUC = half the last value: 10, 20, 30) and a fourth run that is
  // 1000 from the start (AUC 1000); one more that diverged
  long long st[] = {0, 1000, 2000};
  double l1[] = {0, 10, 20}, l2[] = {0, 20, 40}, l3[] = {0, 30, 60}, top[] = {1000, 1000, 1000};
  mkrun("a1", st, l1, 3, 1), mkrun("a2", st, l2, 3, 1), mkrun("a3", st, l3, 3, 1);
  mkrun("a4", st, top, 3, 1), mkrun("a5", st, top, 3, 1);
  // y on T: two equal tents (AUC 50: every interval is its point); y on U: a diverged run only
  double tent[] = {0, 100, 0};
  mkrun("b1", st, tent, 3, 1), mkrun("b2", st, tent, 3, 1), mkrun("c1", st, tent, 3, 1);
  const char *lines[] = {"x T 1 a1", "x T 2 a2", "x T 3 a3", "x T 4 a4", "x T 5 a5",
                         "y T 1 b1", "y T 2 b2", "y U 1 c1"};
  jobs_file("jobs", lines, 8);
  diverge("a5", "diverged at step 1500: Q loss is nan\n");
  diverge("c1", "diverged at step 10: actor parameter is nan\n");
  AggSet set;
  load(&set, "jobs");
  const AggGroup *x = agg_set_find(&set, "x", "T"), *y = agg_set_find(&set, "y", "T"),
                 *yu = agg_set_find(&set, "y", "U");
  cr_assert(x && y && yu);
  Rng r;
  rng_init(&r, 0, RNG_STREAM_BOOTSTRAP);
  AggSummary sx, sy, su, sn;
  agg_group_auc(x, NULL, &sx, &opts, &r);
  // 10, 20, 30, 1000 (not the diverged run's): mean 1060 / 4 = 265; IQM (20 + 30) / 2 = 25
  cr_assert_eq(sx.runs, 4);
  cr_assert_eq(sx.diverged, 1);
  NEAR(sx.mean.point, 265.0, 0.0);
  NEAR(sx.iqm.point, 25.0, 0.0);
  cr_assert(sx.iqm.lo <= 25.0 && 25.0 <= sx.iqm.hi && sx.iqm.lo < sx.iqm.hi, "iqm [%g, %g]",
            sx.iqm.lo, sx.iqm.hi);
  agg_group_auc(y, NULL, &sy, &opts, &r);
  NEAR(sy.mean.point, 50.0, 0.0);
  NEAR(sy.mean.lo, 50.0, 0.0);
  NEAR(sy.iqm.hi, 50.0, 0.0);
  agg_group_auc(yu, NULL, &su, &opts, &r);
  cr_assert_eq(su.runs, 0);
  cr_assert(isnan(su.mean.point) && isnan(su.iqm.point), "no AUC of no runs");
  // normalised by (AUC - 10) / (110 - 10): 0, 0.1, 0.2, 9.9
  AggRef ref = {"T", 10, 110};
  agg_group_auc(x, &ref, &sn, &opts, &r);
  NEAR(sn.mean.point, (0.0 + 0.1 + 0.2 + 9.9) / 4, 1e-15);
  NEAR(sn.iqm.point, 0.15, 1e-15);

  put("ref.txt", "T 0 100\nU 0 10\n");
  AggRefs refs;
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(agg_write_all(&set, &refs, at("out"), &opts, err, sizeof err), 0, "%s", err);
  char *t = slurp(at("out/auc.csv"));
  cr_assert(t);
  const char *head = "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged\n"
                     "x,T,4,265,";
  cr_assert(!strncmp(t, head, strlen(head)), "%s", t);
  cr_assert(strstr(t, ",1\ny,T,2,50,50,50,50,50,50,0\ny,U,0,,,,,,,1\n"), "%s", t);
  free(t);
  t = slurp(at("out/auc.md"));
  cr_assert(strstr(t, "| label | task | seeds | IQM [lo, hi] | mean [lo, hi] |\n"), "%s", t);
  cr_assert(strstr(t, "| x | T | 4/5, 1 diverged | 25.0 ["), "%s", t);
  cr_assert(strstr(t, "| y | T | 2 | 50.0 [50.0, 50.0] | 50.0 [50.0, 50.0] |\n"), "%s", t);
  cr_assert(strstr(t, "| y | U | 0/1, 1 diverged | all diverged | all diverged |\n"), "%s", t);
  free(t);
  t = slurp(at("out/auc.tex"));
  cr_assert(strstr(t, "y & T & 2 & 50.0 [50.0, 50.0] & 50.0 [50.0, 50.0] \\\\\n"), "%s", t);
  cr_assert(strstr(t, "\\bottomrule\n\\end{tabular}\n"), "%s", t);
  free(t);
  // per label over the tasks with a reference: x on T 0.1, 0.2, 0.3, 10 (mean 2.65); y on T 0.5,
  // 0.5 and on U nothing but a diverged run
  t = slurp(at("out/auc_normalized.csv"));
  head = "label,tasks,runs,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged\nx,1,4,";
  cr_assert(!strncmp(t, head, strlen(head)), "%s", t);
  cr_assert(fabs(strtod(t + strlen(head), NULL) - 2.65) < 1e-15, "%s", t);
  cr_assert(strstr(t, "\ny,1,2,0.5,0.5,0.5,0.5,0.5,0.5,1\n"), "%s", t);
  free(t);
  // the final scores are untouched by the AUC: x's last evaluations 20, 40, 60, 1000
  t = slurp(at("out/final.csv"));
  cr_assert(strstr(t, "\nx,T,4,280,"), "%s", t);
  free(t);
  // without references, the AUC tables but no auc_normalized.csv
  cr_assert_eq(agg_write_all(&set, NULL, at("out2"), &opts, err, sizeof err), 0, "%s", err);
  t = slurp(at("out2/auc.csv"));
  cr_assert(t && strstr(t, "\ny,T,2,50,"));
  free(t);
  cr_assert_null(slurp(at("out2/auc_normalized.csv")));
  agg_refs_free(&refs);
  agg_set_free(&set);
}

// The AUC's bootstrap draws come after every other output's (agg.h): the outputs before it are
// those of one stream used for them alone, and the AUC's intervals continue that stream.
Test(agg, auc_draws_after_the_others) {
  static const double v[] = {3.7, 12.1, -4.2, 8.8, 0.5, 19.3};
  AggSet s;
  agg_set_init(&s);
  for (int i = 0; i < 6; i++) {
    long long st[] = {0, 1000, 2000};
    double c3[] = {v[i], 2 * v[i], -v[i]};
    AggCurve c = curve(st, c3, 3);
    agg_set_add(&s, "a", i < 4 ? "T1" : "T2", &c);
  }
  put("ref.txt", "T1 -5 20\nT2 0 40\n");
  AggRefs refs;
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  AggOptions o = {.reps = 300, .conf = 0.9, .seed = 3};
  cr_assert_eq(agg_write_all(&s, &refs, at("o"), &o, err, sizeof err), 0, "%s", err);
  // the same draws by hand: curves, final scores, normalised finals, then the AUCs
  Rng r;
  rng_init(&r, o.seed, RNG_STREAM_BOOTSTRAP);
  for (size_t i = 0; i < s.n; i++) {
    AggPoint *p;
    agg_group_curve(&s.group[i], &p, &o, &r);
    free(p);
  }
  AggSummary f[2], a[2];
  for (size_t i = 0; i < s.n; i++) agg_group_final(&s.group[i], &f[i], &o, &r);
  AggNorm *nf, *na;
  agg_normalized(&s, &refs, &nf, &o, &r);
  for (size_t i = 0; i < s.n; i++) agg_group_auc(&s.group[i], NULL, &a[i], &o, &r);
  agg_auc_normalized(&s, &refs, &na, &o, &r);
  char want[512];
  snprintf(want, sizeof want, "\na,T1,4,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,0\n", a[0].mean.point,
           a[0].mean.lo, a[0].mean.hi, a[0].iqm.point, a[0].iqm.lo, a[0].iqm.hi);
  char *t = slurp(at("o/auc.csv"));
  cr_assert(strstr(t, want), "auc.csv lacks '%s': %s", want, t);
  free(t);
  snprintf(want, sizeof want, "\na,2,6,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,0\n",
           na[0].score.mean.point, na[0].score.mean.lo, na[0].score.mean.hi,
           na[0].score.iqm.point, na[0].score.iqm.lo, na[0].score.iqm.hi);
  t = slurp(at("o/auc_normalized.csv"));
  cr_assert(strstr(t, want), "auc_normalized.csv lacks '%s': %s", want, t);
  free(t);
  snprintf(want, sizeof want, "\na,T2,2,%.17g,%.17g,%.17g,", f[1].mean.point, f[1].mean.lo,
           f[1].mean.hi);
  t = slurp(at("o/final.csv"));
  cr_assert(strstr(t, want), "final.csv lacks '%s': %s", want, t);
  free(t);
  free(nf);
  free(na);
  agg_refs_free(&refs);
  agg_set_free(&s);
}

static void write_varied(const char *out, uint32_t seed, const AggRefs *refs) {
  static const double v[] = {3.7, 12.1, -4.2, 8.8, 0.5, 19.3, 7.7, 2.2};
  AggSet s;
  agg_set_init(&s);
  for (int i = 0; i < 8; i++) one(&s, "a", "T1", v[i]);
  for (int i = 0; i < 5; i++) one(&s, "a", "T2", 2 * v[i] + 1);
  AggOptions o = {.reps = 500, .conf = 0.9, .seed = seed};
  cr_assert_eq(agg_write_all(&s, refs, at(out), &o, err, sizeof err), 0, "%s", err);
  agg_set_free(&s);
}

Test(agg, deterministic_and_seeded) {
  put("ref.txt", "T1 -5 20\nT2 0 40\n");
  AggRefs refs;
  cr_assert_eq(agg_refs_read(&refs, at("ref.txt"), err, sizeof err), 0, "%s", err);
  write_varied("o1", 0, &refs);
  write_varied("o2", 0, &refs);
  write_varied("o3", 1, &refs);
  const char *files[] = {"curves.csv", "final.csv", "final.md",       "final.tex",
                         "normalized.csv", "auc.csv", "auc_normalized.csv"};
  for (int i = 0; i < 7; i++) {
    char r1[64], r2[64], r3[64];
    snprintf(r1, sizeof r1, "o1/%s", files[i]);
    snprintf(r2, sizeof r2, "o2/%s", files[i]);
    snprintf(r3, sizeof r3, "o3/%s", files[i]);
    char *a = slurp(at(r1)), *b = slurp(at(r2)), *c = slurp(at(r3));
    cr_assert(a && b && c, "%s missing", files[i]);
    cr_assert_str_eq(a, b, "%s differs between two identical calls", files[i]);
    // another bootstrap seed moves the interval ends (the data have no ties to hide behind)
    if (strcmp(files[i], "final.csv") == 0 || strcmp(files[i], "normalized.csv") == 0 ||
        strcmp(files[i], "auc_normalized.csv") == 0)
      cr_assert_str_neq(a, c, "%s is the same for seeds 0 and 1", files[i]);
    free(a), free(b), free(c);
  }
  agg_refs_free(&refs);
}

Test(agg, parse_uint) {
  uint64_t u;
  cr_assert_eq(agg_parse_uint("0", 10, &u), 0);
  cr_assert_eq(u, 0);
  cr_assert_eq(agg_parse_uint("4294967295", UINT32_MAX, &u), 0);
  cr_assert_eq(u, 4294967295u);
  cr_assert_eq(agg_parse_uint("4294967296", UINT32_MAX, &u), -1);
  cr_assert_eq(agg_parse_uint("18446744073709551616", UINT64_MAX, &u), -1);
  cr_assert_eq(agg_parse_uint("", 10, &u), -1);
  cr_assert_eq(agg_parse_uint("+1", 10, &u), -1);
  cr_assert_eq(agg_parse_uint(" 1", 10, &u), -1);
  cr_assert_eq(agg_parse_uint("11", 10, &u), -1);
}
