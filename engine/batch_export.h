// BatchExporter: writes exactly what the model trains on, so an independent implementation (the PyTorch
// reference, scripts/reference/torch_train.py) can train the same model on the same batches:
//   DIR/meta.json        {"batch", "size", "classes", "channels", "steps", "test_images", "lr", "reduction", ...}
//   DIR/init.safetensors the initial weights (HWIO, parameter_layout names)
//   DIR/train_x.f32      [steps, B, S, S, 3]  raw little-endian float32
//   DIR/train_t.f32      [steps, B, S, S, C]
//   DIR/test_x.f32       [T, S, S, 3]
//   DIR/test_t.f32       [T, S, S, C]
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "engine/trainer.h"

namespace fcn {

class Loader;

class BatchExporter {
 public:
  // Writes init.safetensors and the test set right away (using the model's input buffers).
  BatchExporter(const std::string& dir, const TrainOptions& options, Model& model, Backend& backend,
                Loader& loader);
  ~BatchExporter();  // writes meta.json
  // Appends the batch now in model.input() / model.targets().
  void add_train_batch(Backend& backend, Model& model, int batch);

 private:
  void append(std::FILE* file, Backend& backend, const float* src, int64_t count);
  std::string dir_;
  TrainOptions options_;
  int64_t steps_ = 0;
  int64_t test_images_ = 0;
  std::FILE* train_x_ = nullptr;
  std::FILE* train_t_ = nullptr;
};

}  // namespace fcn
