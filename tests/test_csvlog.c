// Tests of csvlog: formatting, flushing, resume cut-back and its errors.
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvlog.h"

static char dir[64], path[128], err[512];

static void setup(void) {
  strcpy(dir, "/tmp/mb_csv_XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/log.csv", dir);
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(csvlog, .init = setup, .fini = teardown);

static void slurp(char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  cr_assert(f);
  size_t got = fread(buf, 1, n - 1, f);
  buf[got] = 0;
  fclose(f);
}

static void row(CsvLog *c, long long i, double d, float f) {
  csv_i(c, i);
  csv_d(c, d);
  csv_f(c, f);
  csv_end(c);
}

Test(csvlog, formats_round_trip) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, path, "step,value,loss", -1, err, sizeof err), 0, "%s", err);
  row(&c, 0, 0.1, 0.1f);
  row(&c, -5, 1.0 / 3, 1.0f / 3);
  row(&c, 1LL << 40, 1e-300, 3e38f);
  // flushed per row: the file has the rows before close
  char text[512];
  slurp(text, sizeof text);
  cr_assert_str_eq(text, "step,value,loss\n"
                         "0,0.10000000000000001,0.100000001\n"
                         "-5,0.33333333333333331,0.333333343\n"
                         "1099511627776,1e-300,3.00000001e+38\n");
  cr_assert_eq(c.rows, 3);
  csv_close(&c);
  // %.17g and %.9g read back to the same double and float
  cr_assert_eq(strtod("0.33333333333333331", NULL), 1.0 / 3);
  cr_assert_eq(strtof("0.333333343", NULL), 1.0f / 3);
  cr_assert_eq(strtof("3.00000001e+38", NULL), 3e38f);
}

// column mismatches are programming errors; these tests die, so they write to /dev/null
Test(csvlog_abort, too_many_values, .signal = SIGABRT) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, "/dev/null", "a,b", -1, err, sizeof err), 0);
  csv_i(&c, 1), csv_i(&c, 2), csv_i(&c, 3);
}

Test(csvlog_abort, short_rows, .signal = SIGABRT) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, "/dev/null", "a,b", -1, err, sizeof err), 0);
  csv_i(&c, 1);
  csv_end(&c);
}

// a row the system refuses (here /dev/full: ENOSPC) ends the program with exit 1, before the row
// is counted
Test(csvlog, a_failed_write_stops_the_run, .exit_code = 1) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, path, "a,b", -1, err, sizeof err), 0, "%s", err);
  fclose(c.f);
  c.f = fopen("/dev/full", "w");
  cr_assert(c.f);
  csv_i(&c, 1), csv_i(&c, 2);
  csv_end(&c);
  cr_assert_fail("csv_end returned after a failed write (rows = %lld)", (long long)c.rows);
}

Test(csvlog, a_failed_sync_stops_the_run, .exit_code = 1) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, path, "a,b", -1, err, sizeof err), 0, "%s", err);
  fclose(c.f);
  c.f = fopen("/dev/full", "w");
  fputs("1,2\n", c.f);   // buffered: the sync's flush is what fails
  csv_sync(&c);
  cr_assert_fail("csv_sync returned after a failed flush");
}

Test(csvlog, resume_cuts_back_to_the_recorded_rows) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, path, "step,value,loss", -1, err, sizeof err), 0);
  for (int i = 0; i < 5; i++) row(&c, i, i, (float)i);
  csv_close(&c);
  // a half-written last line, as a killed process leaves it
  FILE *f = fopen(path, "a");
  fputs("5,5", f);
  fclose(f);
  cr_assert_eq(csv_open(&c, path, "step,value,loss", 3, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.rows, 3);
  row(&c, 3, 30, 30);
  csv_close(&c);
  char text[256];
  slurp(text, sizeof text);
  cr_assert_str_eq(text, "step,value,loss\n0,0,0\n1,1,1\n2,2,2\n3,30,30\n");
}

Test(csvlog, resume_errors) {
  CsvLog c;
  cr_assert_eq(csv_open(&c, path, "step,value", 0, err, sizeof err), -1);
  cr_assert(strstr(err, "cannot open: No such file or directory"), "%s", err);
  cr_assert_eq(csv_open(&c, path, "step,value", -1, err, sizeof err), 0);
  csv_i(&c, 1), csv_d(&c, 2), csv_end(&c);
  csv_close(&c);
  cr_assert_eq(csv_open(&c, path, "step,other", 0, err, sizeof err), -1);
  cr_assert(strstr(err, "header differs from 'step,other'"), "%s", err);
  cr_assert_eq(csv_open(&c, path, "step,value", 2, err, sizeof err), -1);
  cr_assert(strstr(err, "has 1 complete rows, the checkpoint recorded 2"), "%s", err);
}

Test(csvlog, write_failure_is_reported) {
  CsvLog c;
  // /dev/full accepts the open and fails every write
  if (access("/dev/full", W_OK)) cr_skip_test("no /dev/full");
  cr_assert_eq(csv_open(&c, "/dev/full", "a", -1, err, sizeof err), -1);
  cr_assert(strstr(err, "cannot write"), "%s", err);
}
