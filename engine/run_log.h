// RunLog: everything a training run writes beside checkpoints: RUN_DIR/metrics.jsonl (one JSON object per
// training step and per evaluation), TensorBoard event files in RUN_DIR/train and RUN_DIR/test (scalars,
// images of the first test images, histograms of parameters and gradients), and RUN_DIR/progress.png, a
// strip of one test image's overlay at every evaluation. Flushed at each evaluation and when destroyed.
#pragma once
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"

namespace fcn {

class EventWriter;

struct EvalImage {                 // one test image as the model saw it
  int size = 0;
  std::vector<uint8_t> rgb;        // [size, size, 3]
  std::vector<float> probability;  // [size, size] first class
  std::vector<float> target;       // [size, size] first class
};

class RunLog {
 public:
  RunLog(const std::string& run_dir, bool append);
  ~RunLog();
  void train_step(int64_t step, double loss, double learning_rate, double images_per_s, double step_ms);
  void evaluation(int64_t step, double loss, double iou, double pixel_accuracy);
  void eval_images(int64_t step, const std::vector<EvalImage>& images);
  void histograms(int64_t step, const std::vector<TensorInfo>& layout, const std::vector<float>& params,
                  const std::vector<float>& grads);
  void flush();
  // Writes RUN_DIR/progress.png from the overlays collected at each evaluation; returns its path or "".
  std::string write_progress_strip();

 private:
  void keep_progress_frame(int64_t step, std::vector<uint8_t> overlay, int size);
  std::string run_dir_;
  std::ofstream metrics_;
  std::unique_ptr<EventWriter> train_events_;
  std::unique_ptr<EventWriter> test_events_;
  std::vector<std::vector<uint8_t>> progress_frames_;  // overlays of test image 0, [S, S, 3] each
  std::vector<int64_t> progress_steps_;
  int progress_size_ = 0;
};

}  // namespace fcn
