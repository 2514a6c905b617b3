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

// Lines of RUN_DIR/metrics.jsonl after `resumed_step`: what a resume from that step supersedes.
// Rewrites the file without them (atomically) and returns how many were dropped; a line cut short by a
// crash counts as superseded too. No file: 0.
int64_t drop_superseded_metrics(const std::string& run_dir, int64_t resumed_step);

class RunLog {
 public:
  // resumed_step < 0: a new run (metrics.jsonl truncated). Otherwise a resume from that step: the lines
  // of later steps are dropped (drop_superseded_metrics), new ones are appended, and both event files
  // start with a SessionLog START at resumed_step + 1, which makes TensorBoard discard the earlier
  // files' events from that step on (its purge of orphaned data), so no step is shown twice.
  RunLog(const std::string& run_dir, int64_t resumed_step);
  ~RunLog();
  int64_t superseded_lines() const { return superseded_lines_; }  // dropped from metrics.jsonl
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
  int64_t superseded_lines_ = 0;
  std::ofstream metrics_;
  std::unique_ptr<EventWriter> train_events_;
  std::unique_ptr<EventWriter> test_events_;
  std::vector<std::vector<uint8_t>> progress_frames_;  // overlays of test image 0, [S, S, 3] each
  std::vector<int64_t> progress_steps_;
  int progress_size_ = 0;
};

}  // namespace fcn
