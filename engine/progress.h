// ProgressLine: one live line on a terminal (step/total, loss, images/s, ETA), or plain log lines when
// the output is not a terminal (CI, pipes, the demo's log): there, one line every few steps (about ten
// per run, at round step numbers, plus the first and last, and at least one a minute), so logs stay
// readable while long runs still show what they are doing.
#pragma once
#include <chrono>
#include <cstdint>

namespace fcn {

// The step interval of the plain lines for a run of total_steps: total / 10 rounded down to 1, 2 or 5
// times a power of ten (at least 1).
int64_t plain_line_interval(int64_t total_steps);

class ProgressLine {
 public:
  // live: rewrite one terminal line (default: whether stdout is a terminal).
  ProgressLine(int64_t total_steps, bool quiet);
  ProgressLine(int64_t total_steps, bool quiet, bool live);
  void update(int64_t step, double loss, double images_per_s);
  void pause();  // ends a live line so other output starts on a fresh line
 private:
  int64_t total_;
  bool quiet_;
  bool live_;
  int64_t interval_;
  bool line_open_ = false;
  int64_t first_step_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_;
};

}  // namespace fcn
