// Inference helpers for `fcn predict` (see predict.h).
#include "engine/predict.h"

#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace fcn {

void resize_plane(float* out, const float* in, int in_h, int in_w, int out_h, int out_w, ResizeMapping mapping) {
  const float scale_y = resize_scale(in_h, out_h);
  const float scale_x = resize_scale(in_w, out_w);
  for (int y = 0; y < out_h; ++y) {
    const BilinearTap ty = bilinear_tap(y, scale_y, in_h, mapping);
    for (int x = 0; x < out_w; ++x) {
      const BilinearTap tx = bilinear_tap(x, scale_x, in_w, mapping);
      out[int64_t(y) * out_w + x] =
          bilinear_mix(in[int64_t(ty.lower) * in_w + tx.lower], in[int64_t(ty.lower) * in_w + tx.upper],
                       in[int64_t(ty.upper) * in_w + tx.lower], in[int64_t(ty.upper) * in_w + tx.upper],
                       tx.lerp, ty.lerp);
    }
  }
}

std::vector<std::vector<float>> predict_probabilities(Model& model, Backend& backend, const RunSettings& s,
                                                      const uint8_t* rgb, int h, int w, RawBatch& staging) {
  const int64_t pixels = int64_t(h) * w;
  if (size_t(pixels * 4) > staging.capacity_bytes) {
    throw std::logic_error("predict_probabilities: staging buffer too small");
  }
  // A one-image RawBatch: the RGB bytes, then an all-zero label (targets are not used).
  staging.count = 1;
  staging.info.assign(1, RawSampleInfo{});
  staging.info[0].height = h;
  staging.info[0].width = w;
  staging.info[0].image_offset = 0;
  staging.info[0].label_offset = size_t(pixels) * 3;
  std::memcpy(staging.bytes, rgb, size_t(pixels) * 3);
  std::memset(staging.bytes + pixels * 3, 0, size_t(pixels));
  staging.used_bytes = size_t(pixels) * 4;
  backend.prepare_batch(model.input(), model.targets(), staging, s.size, s.class_values, s.mapping,
                        s.nearest_targets);
  model.forward(1);

  const int classes = s.model.classes;
  const int64_t plane = int64_t(s.size) * s.size;
  std::vector<float> logits(plane * classes);
  backend.download(logits.data(), model.logits(), plane * classes);
  std::vector<std::vector<float>> result(classes, std::vector<float>(pixels));
  std::vector<float> prob(plane);
  for (int c = 0; c < classes; ++c) {
    for (int64_t p = 0; p < plane; ++p) prob[p] = sigmoid_stable(logits[p * classes + c]);
    resize_plane(result[c].data(), prob.data(), s.size, s.size, h, w, s.mapping);
  }
  return result;
}

namespace {

std::string filename_safe(const std::string& name) {
  std::string safe = name.empty() ? "class" : name;
  for (char& c : safe) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) c = '_';
  }
  if (safe == "." || safe == "..") safe = "class";
  return safe;
}

}  // namespace

std::vector<PredictionFiles> prediction_file_names(const std::vector<std::string>& inputs,
                                                   const std::vector<std::string>& class_names,
                                                   const std::vector<int>& class_values, const std::string& out_dir) {
  // The class part of the names: "" for one class, else ".<safe name>", made distinct.
  std::vector<std::string> suffixes;
  if (class_names.size() > 1) {
    std::set<std::string> seen, clashing;
    for (const std::string& name : class_names) {
      if (!seen.insert(filename_safe(name)).second) clashing.insert(filename_safe(name));
    }
    for (size_t c = 0; c < class_names.size(); ++c) {
      std::string safe = filename_safe(class_names[c]);
      if (clashing.count(safe)) safe += "-" + std::to_string(c < class_values.size() ? class_values[c] : int(c));
      suffixes.push_back("." + safe);
    }
  } else {
    suffixes.assign(class_names.size(), "");
  }
  std::set<std::string> taken;
  for (const std::string& input : inputs) taken.insert(std::filesystem::path(input).stem().string());
  std::set<std::string> used;
  std::vector<PredictionFiles> files;
  for (const std::string& input : inputs) {
    const std::string stem = std::filesystem::path(input).stem().string();
    std::string base = stem;
    for (int k = 2; used.count(base) || (base != stem && taken.count(base)); ++k) base = stem + "-" + std::to_string(k);
    used.insert(base);
    const std::string prefix = (std::filesystem::path(out_dir) / base).string();
    PredictionFiles f;
    for (const std::string& suffix : suffixes) {
      f.probability.push_back(prefix + ".probability" + suffix + ".png");
      f.overlay.push_back(prefix + ".overlay" + suffix + ".png");
    }
    files.push_back(std::move(f));
  }
  return files;
}

}  // namespace fcn
