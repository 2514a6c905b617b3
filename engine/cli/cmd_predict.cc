// fcn predict: per input image, a probability PNG and an overlay PNG at the image's original size.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "engine/checkpoint.h"
#include "engine/cli/commands.h"
#include "engine/memory_budget.h"
#include "engine/overlay.h"
#include "engine/predict.h"
#include "io/image_codec.h"

namespace fcn::cli {

namespace {

struct PredictArgs {
  std::string checkpoint;
  std::vector<std::string> inputs;
  std::string out_dir = "predictions";
  std::string device = "auto";
  int threads = 0;
  float threshold = 0.5f;
  int64_t max_pixels = 64ll * 1000 * 1000;
};

void run_predict(const PredictArgs& a) {
  CheckpointState ckpt = load_checkpoint(a.checkpoint);
  const RunSettings& s = ckpt.settings;
  BackendChoice choice = make_backend(a.device, a.threads);
  std::printf("%s\n", choice.note.c_str());
  Backend& backend = *choice.backend;
  // The training run's conv versions, so that predictions sum in the same order as its evaluations.
  if (!ckpt.kernel_plan.empty()) backend.set_kernel_plan(ckpt.kernel_plan);
  check_model_fits(backend, s.model, 1, s.size, s.size, "one image at the checkpoint's size " + std::to_string(s.size));
  Model model(backend, s.model, 1, s.size);
  model.set_params(ckpt.params);
  std::filesystem::create_directories(a.out_dir);

  HostAllocator allocator = backend.staging_allocator();
  RawBatch staging;
  auto release = [&allocator](RawBatch* b) {
    if (b->bytes) allocator.release(b->bytes);
  };
  std::unique_ptr<RawBatch, decltype(release)> staging_guard(&staging, release);

  const std::vector<PredictionFiles> outputs =
      prediction_file_names(a.inputs, s.class_names, s.class_values, a.out_dir);
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const std::string& input = a.inputs[i];
    const PredictionFiles& out = outputs[i];
    const std::string bytes = read_file(input);
    DecodedImage image;
    std::string error;
    if (!decode_image(bytes.data(), bytes.size(), 3, a.max_pixels, &image, &error)) {
      throw std::runtime_error("cannot decode " + input + ": " + error +
                               "\nHINT: pass PNG, JPEG, GIF or BMP images");
    }
    const size_t need = size_t(image.height) * image.width * 4;
    if (need > staging.capacity_bytes) {
      if (staging.bytes) allocator.release(staging.bytes);
      staging.bytes = static_cast<uint8_t*>(allocator.allocate(need));
      staging.capacity_bytes = need;
    }
    auto probs = predict_probabilities(model, backend, s, image.pixels.data(), image.height, image.width, staging);
    const int64_t n = int64_t(image.height) * image.width;
    std::vector<uint8_t> gray(n), overlay(n * 3);
    std::string written;
    for (size_t c = 0; c < probs.size(); ++c) {
      probability_to_gray(gray.data(), probs[c].data(), n);
      write_file(out.probability[c], encode_png(gray.data(), image.height, image.width, 1));
      draw_overlay(overlay.data(), image.pixels.data(), probs[c].data(), image.height, image.width, a.threshold);
      write_file(out.overlay[c], encode_png(overlay.data(), image.height, image.width, 3));
      written += (c ? ", " : "") + out.probability[c] + ", " + out.overlay[c];
    }
    int64_t predicted = 0;
    for (int64_t p = 0; p < n; ++p) predicted += probs[0][p] >= a.threshold;
    std::printf("%s: %dx%d, %.1f%% predicted %s -> %s\n", input.c_str(), image.width, image.height,
                100.0 * double(predicted) / double(n), s.class_names[0].c_str(), written.c_str());
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Segment images with a trained checkpoint");
  cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint written by fcn train")->required();
  cmd->add_option("--input", a->inputs, "Images (PNG, JPEG, ...)")->required()->expected(1, -1);
  cmd->add_option("--out", a->out_dir, "Output folder")->capture_default_str();
  add_device_option(cmd, a->device);
  add_max_pixels_option(cmd, a->max_pixels);
  cmd->add_option("--threads", a->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--threshold", a->threshold, "Probability at which a pixel counts as the class")
      ->capture_default_str();
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace fcn::cli
