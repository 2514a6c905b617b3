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
  require_int("--max-pixels", o.max_pixels, 1, INT64_MAX);
  if (const std::string problem = model_config_problem(s.model); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
}

std::vector<std::string> legend_warnings(const std::vector<std::string>& names, const std::vector<int>& values,
                                         const RawBatch& batch, const std::string& export_path) {
  std::vector<int64_t> pixels_of(256, 0);  // label value -> pixels in the batch
  for (int i = 0; i < batch.count; ++i) {
    const RawSampleInfo& info = batch.info[size_t(i)];
    const uint8_t* label = batch.bytes + info.label_offset;
    const int64_t n = int64_t(info.height) * info.width;
    for (int64_t p = 0; p < n; ++p) ++pixels_of[label[p]];
  }
  std::string present;  // the values the labels do hold, for the messages
  for (int v = 0; v < 256; ++v) {
    if (pixels_of[size_t(v)] > 0) present += (present.empty() ? "" : ", ") + std::to_string(v);
  }
  const std::string hint = "HINT: compare the legend with the label values `fcn inspect " + export_path + "` counts";
  std::vector<std::string> warnings;
  for (size_t c = 0; c < values.size() && c < names.size(); ++c) {
    const std::string which = "legend class \"" + names[c] + "\" (pixel value " + std::to_string(values[c]) + ")";
    if (values[c] == 0) {
      warnings.push_back(which + " is value 0, which Labelbox reserves for unlabeled pixels: this class is the "
                                 "background\n" + hint);
    } else if (values[c] >= 0 && values[c] < 256 && pixels_of[size_t(values[c])] == 0) {
      warnings.push_back(which + " appears in no label of the first " + std::to_string(batch.count) +
                         " training records (their labels hold the values " + present + ")\n" + hint);
    }
  }
  return warnings;
}

}  // namespace fcn
