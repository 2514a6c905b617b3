// ProgressLine: one live line on a terminal (step/total, loss, images/s, ETA), or plain log lines when
// the output is not a terminal (CI, pipes), so long runs show what they are doing either way.
#pragma once
#include <chrono>
#include <cstdint>

namespace fcn {

class ProgressLine {
 public:
  ProgressLine(int64_t total_steps, bool quiet);
  void update(int64_t step, double loss, double images_per_s);
  void pause();  // ends a live line so other output starts on a fresh line
 private:
  int64_t total_;
  bool quiet_;
  bool live_;
  bool line_open_ = false;
  int64_t first_step_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fcn
