// RunLog (see run_log.h).
#include "engine/run_log.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/overlay.h"
#include "io/events.h"
#include "io/image_codec.h"

namespace fcn {

int64_t drop_superseded_metrics(const std::string& run_dir, int64_t resumed_step) {
  const std::string path = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  std::ifstream in(path);
  if (!in) return 0;
  std::string kept;
  int64_t dropped = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool earlier = entry.is_object() && entry.contains("step") && entry["step"].is_number_integer() &&
                         entry["step"].get<int64_t>() <= resumed_step;
    if (earlier && in.good()) {  // !in.good(): the last line had no newline, a crash cut it
      kept += line + "\n";
    } else {
      ++dropped;
    }
  }
  in.close();
  if (dropped == 0) return 0;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kept;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp + "\nHINT: check --run-dir is writable");
  }
  std::filesystem::rename(tmp, path);
  return dropped;
}

RunLog::RunLog(const std::string& run_dir, int64_t resumed_step) : run_dir_(run_dir) {
  std::filesystem::create_directories(run_dir);
  const bool resuming = resumed_step >= 0;
  if (resuming) superseded_lines_ = drop_superseded_metrics(run_dir, resumed_step);
  const std::string metrics_path = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  metrics_.open(metrics_path, resuming ? std::ios::app : std::ios::trunc);
  if (!metrics_) {
    throw std::runtime_error("cannot write " + metrics_path + "\nHINT: check --run-dir is writable");
  }
  train_events_ = std::make_unique<EventWriter>((std::filesystem::path(run_dir) / "train").string());
  test_events_ = std::make_unique<EventWriter>((std::filesystem::path(run_dir) / "test").string());
  if (resuming) {
    train_events_->add_session_start(resumed_step + 1);
    test_events_->add_session_start(resumed_step + 1);
  }
}

RunLog::~RunLog() { flush(); }

void RunLog::train_step(int64_t step, double loss, double learning_rate, double images_per_s, double step_ms) {
  metrics_ << nlohmann::json{{"step", step}, {"split", "train"}, {"loss", loss},
                             {"images_per_s", images_per_s}, {"step_time_ms", step_ms}}.dump()
           << "\n";
  metrics_.flush();  // one short line per step: cheap, and `tail -f metrics.jsonl` stays live
  train_events_->add_scalar("loss", step, float(loss));
  train_events_->add_scalar("learning_rate", step, float(learning_rate));
  train_events_->add_scalar("images_per_s", step, float(images_per_s));
  train_events_->add_scalar("step_time_ms", step, float(step_ms));
}

void RunLog::evaluation(int64_t step, double loss, double iou, double pixel_accuracy) {
  metrics_ << nlohmann::json{{"step", step}, {"split", "test"}, {"loss", loss}, {"iou", iou},
                             {"pixel_accuracy", pixel_accuracy}}.dump()
           << "\n";
  test_events_->add_scalar("loss", step, float(loss));
  if (!std::isnan(iou)) test_events_->add_scalar("iou", step, float(iou));  // undefined: null in metrics.jsonl
  test_events_->add_scalar("pixel_accuracy", step, float(pixel_accuracy));
}

void RunLog::eval_images(int64_t step, const std::vector<EvalImage>& images) {
  for (size_t k = 0; k < images.size(); ++k) {
    const EvalImage& img = images[k];
    const int s = img.size;
    const int64_t n = int64_t(s) * s;
    std::vector<uint8_t> gray(n), prediction(n), overlay(n * 3);
    probability_to_gray(gray.data(), img.probability.data(), n);
    for (int64_t p = 0; p < n; ++p) prediction[p] = img.probability[p] >= 0.5f ? 255 : 0;
    draw_overlay(overlay.data(), img.rgb.data(), img.probability.data(), s, s);
    const std::string id = std::to_string(k);
    test_events_->add_image("input/" + id, step, img.rgb.data(), s, s, 3);
    test_events_->add_image("probability/" + id, step, gray.data(), s, s, 1);
    test_events_->add_image("prediction/" + id, step, prediction.data(), s, s, 1);
    test_events_->add_image("overlay/" + id, step, overlay.data(), s, s, 3);
    if (k == 0) keep_progress_frame(step, std::move(overlay), s);
  }
}

void RunLog::keep_progress_frame(int64_t step, std::vector<uint8_t> overlay, int size) {
  progress_frames_.push_back(std::move(overlay));
  progress_steps_.push_back(step);
  progress_size_ = size;
  // The strip shows at most kStripMaxFrames evenly spaced frames: keep a bounded, evenly thinned set
  // (every other frame, the newest always kept) so long runs with frequent evaluations stay small.
  if (int(progress_frames_.size()) > 4 * kStripMaxFrames) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<int64_t> steps;
    const size_t last = progress_frames_.size() - 1;
    for (size_t i = 0; i <= last; ++i) {
      if (i % 2 == 0 || i == last) {
        frames.push_back(std::move(progress_frames_[i]));
        steps.push_back(progress_steps_[i]);
      }
    }
    progress_frames_ = std::move(frames);
    progress_steps_ = std::move(steps);
  }
}

void RunLog::histograms(int64_t step, const std::vector<TensorInfo>& layout, const std::vector<float>& params,
                        const std::vector<float>& grads) {
  for (const TensorInfo& t : layout) {
    train_events_->add_histogram("params/" + t.name, step, params.data() + t.offset, t.size);
    train_events_->add_histogram("grads/" + t.name, step, grads.data() + t.offset, t.size);
  }
}

void RunLog::flush() {
  metrics_.flush();
  if (train_events_) train_events_->flush();
  if (test_events_) test_events_->flush();
}

std::string RunLog::write_progress_strip() {
  if (progress_frames_.empty()) return "";
  std::vector<uint8_t> strip;
  int h = 0, w = 0;
  make_progress_strip(&strip, &h, &w, progress_frames_, progress_size_, progress_size_, progress_steps_);
  const std::string path = (std::filesystem::path(run_dir_) / "progress.png").string();
  write_file(path, encode_png(strip.data(), h, w, 3));
  return path;
}

}  // namespace fcn
