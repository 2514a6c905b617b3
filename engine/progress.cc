// ProgressLine (see progress.h).
#include "engine/progress.h"

#include <unistd.h>

#include <cstdio>

namespace fcn {

namespace {
constexpr double kPlainLineMaxGapSeconds = 60.0;  // a plain line at least this often, whatever the interval
}  // namespace

int64_t plain_line_interval(int64_t total_steps) {
  const int64_t target = total_steps / 10;
  int64_t best = 1;
  for (int64_t power = 1; power <= target; power *= 10) {
    for (int64_t m : {1, 2, 5}) {
      if (m * power <= target) best = m * power;
    }
    if (power > target / 10) break;
  }
  return best;
}

ProgressLine::ProgressLine(int64_t total_steps, bool quiet)
    : ProgressLine(total_steps, quiet, isatty(STDOUT_FILENO) != 0) {}

ProgressLine::ProgressLine(int64_t total_steps, bool quiet, bool live)
    : total_(total_steps), quiet_(quiet), live_(live), interval_(plain_line_interval(total_steps)),
      start_(std::chrono::steady_clock::now()), last_line_(start_) {}

void ProgressLine::update(int64_t step, double loss, double images_per_s) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool first = first_step_ < 0;
  if (first) {
    first_step_ = step;
    start_ = now;
  }
  if (!live_) {
    const bool due = first || step == total_ || step % interval_ == 0 ||
                     std::chrono::duration<double>(now - last_line_).count() >= kPlainLineMaxGapSeconds;
    if (!due) return;
  }
  last_line_ = now;
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
