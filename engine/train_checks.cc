// Range checks of the training settings (engine/train_checks.h).
#include "engine/train_checks.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace fcn {
namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void require_int(const char* flag, int64_t value, int64_t lo, int64_t hi, const char* note = "") {
  if (value >= lo && value <= hi) return;
  throw std::invalid_argument(std::string(flag) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                              note + ", got " + std::to_string(value));
}

// lo_open: value > lo (else >= lo); hi_open: value < hi (else <= hi).
void require_real(const char* flag, double value, double lo, bool lo_open, double hi, bool hi_open) {
  const bool ok = std::isfinite(value) && (lo_open ? value > lo : value >= lo) && (hi_open ? value < hi : value <= hi);
  if (ok) return;
  std::string range = std::string(lo_open ? "> " : ">= ") + number_text(lo);
  if (std::isfinite(hi)) range += std::string(" and ") + (hi_open ? "< " : "<= ") + number_text(hi);
  throw std::invalid_argument(std::string(flag) + " must be a finite number " + range + ", got " + number_text(value));
}

}  // namespace

std::string model_config_problem(const ModelConfig& m) {
  try {
    require_int("the model's input channels", m.in_channels, 1, ModelLimits::kMaxInChannels);
    require_int("--channels", m.channels, 1, ModelLimits::kMaxChannels);
    require_int("--layers", m.layers, 1, ModelLimits::kMaxLayers);
    require_int("--kernel", m.kernel, 1, ModelLimits::kMaxKernel);
    if (m.kernel % 2 == 0) return "--kernel must be odd, got " + std::to_string(m.kernel);
    require_int("the number of classes", m.classes, 1, ModelLimits::kMaxClasses);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

void check_train_options(const TrainOptions& o) {
  const RunSettings& s = o.settings;
  const double inf = INFINITY;
  require_int("--steps", o.steps, 0, INT64_MAX);
  require_int("--batch", s.batch, 1, 1 << 20);
  require_int("--size", s.size, 1, 1 << 20);
  require_real("--lr", s.adam.lr, 0, true, inf, false);
  require_real("--beta1", s.adam.beta1, 0, false, 1, true);
  require_real("--beta2", s.adam.beta2, 0, false, 1, true);
  require_real("--eps", s.adam.eps, 0, true, inf, false);
  require_real("--weight-decay", s.weight_decay, 0, false, inf, false);
  require_real("--test-fraction", s.test_fraction, 0, false, 1, true);
  require_int("--shuffle-buffer", s.shuffle_buffer, 1, 1 << 24);
  require_int("--threads", o.threads, 0, 1024, " (0: all cores)");
  require_int("--loader-threads", o.loader_threads, 1, 256);
  require_int("--prefetch", o.prefetch, 1, 1024);
  require_int("--cache-mb", o.cache_mb, 0, INT64_MAX / (1 << 20));
  require_int("--eval-every", o.eval_every, 0, INT64_MAX, " (0: at the end)");
  require_int("--save-every", o.save_every, 0, INT64_MAX, " (0: at the end)");
  require_int("--log-images", o.log_images, 0, 1024);
  require_int("--check-every", o.check_every, 0, INT64_MAX);
  require_real("--max-skipped", o.max_skipped, 0, false, 1, false);
  if (const std::string problem = model_config_problem(s.model); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
}

}  // namespace fcn
