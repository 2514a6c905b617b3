// ProgressLine (see progress.h).
#include "engine/progress.h"

#include <unistd.h>

#include <cstdio>

namespace fcn {

ProgressLine::ProgressLine(int64_t total_steps, bool quiet)
    : total_(total_steps), quiet_(quiet), live_(isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(int64_t step, double loss, double images_per_s) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) {
    first_step_ = step;
    start_ = now;
  }
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t done = step - first_step_ + 1;
  const double eta = done > 0 ? elapsed / double(done) * double(total_ - step) : 0.0;
  const int eta_min = int(eta) / 60;
  const int eta_sec = int(eta) % 60;
  std::printf("%sstep %lld/%lld | loss %.4f | %.1f img/s | ETA %dm%02ds%s", live_ ? "\r\033[K" : "",
              static_cast<long long>(step), static_cast<long long>(total_), loss, images_per_s, eta_min, eta_sec,
              live_ ? "" : "\n");
  std::fflush(stdout);
  line_open_ = live_;
}

void ProgressLine::pause() {
  if (line_open_) {
    std::printf("\n");
    std::fflush(stdout);
    line_open_ = false;
  }
}

}  // namespace fcn
