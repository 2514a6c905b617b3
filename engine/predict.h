// Inference on one image at its original size: resize to the model's input size (the training resize),
// forward, sigmoid, and resize the probability maps back with the same bilinear filter.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/model.h"

namespace fcn {

// Bilinear resize of one float plane, TensorFlow's arithmetic (kernels/pixel_math.h).
void resize_plane(float* out,        // [out_h, out_w]
                  const float* in,   // [in_h, in_w]
                  int in_h, int in_w, int out_h, int out_w, ResizeMapping mapping);

// Probabilities of every class at the image's size: [classes][h * w]. model.max_batch() >= 1.
// staging must come from backend.staging_allocator() and hold at least h * w * 4 bytes; it is reused
// across calls by the caller.
std::vector<std::vector<float>> predict_probabilities(Model& model, Backend& backend, const RunSettings& s,
                                                      const uint8_t* rgb,  // [h, w, 3]
                                                      int h, int w, RawBatch& staging);

// The files fcn predict writes for one input image: per class, its probability map and overlay.
struct PredictionFiles {
  std::vector<std::string> probability;  // [classes]
  std::vector<std::string> overlay;      // [classes]
};

// Output paths for every input, all distinct: OUT/<stem>.probability.png and OUT/<stem>.overlay.png for
// one class, OUT/<stem>.probability.<class>.png ... for several. Inputs sharing a stem (a/x.png and
// b/x.jpg, or one image given twice) get <stem>-2, <stem>-3, ... in input order; class names are made
// filename-safe (characters other than letters, digits, '-', '_' and '.' become '_') and, where two
// still clash, get their pixel value appended.
std::vector<PredictionFiles> prediction_file_names(const std::vector<std::string>& inputs,
                                                   const std::vector<std::string>& class_names,
                                                   const std::vector<int>& class_values, const std::string& out_dir);

}  // namespace fcn
