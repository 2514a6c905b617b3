// Prediction images for people: the input with the predicted region tinted and outlined, a probability
// map as gray levels, and a strip of overlays from several training steps with the step under each.
// Used by `fcn predict` and by the trainer's TensorBoard images. Probabilities come from logits through
// fcn::sigmoid_stable (kernels/pixel_math.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fcn {

// Look of the overlay. Pixels below the threshold are only dimmed: round(v * kOverlayDim).
// Predicted pixels: round(v * (1 - kOverlayTintAlpha) + kOverlayTint * kOverlayTintAlpha), and those on
// the region's boundary (a 4-neighbour inside the image is not predicted) are kOverlayOutline.
constexpr float kOverlayDim = 0.8f;
constexpr float kOverlayTintAlpha = 0.55f;
constexpr uint8_t kOverlayTint[3] = {255, 0, 200};      // saturated magenta, rare in photographs
constexpr uint8_t kOverlayOutline[3] = {255, 230, 0};   // yellow

// out: [h, w, 3]; rgb: [h, w, 3]; prob: [h, w]. A pixel is predicted when prob >= threshold (NaN is not).
// out may alias rgb.
void draw_overlay(uint8_t* out, const uint8_t* rgb, const float* prob, int h, int w, float threshold = 0.5f);

// out: [n]; prob: [n]. round(clamp(p, 0, 1) * 255); NaN gives 0.
void probability_to_gray(uint8_t* out, const float* prob, int64_t n);

// Strip layout.
constexpr int kStripMaxFrames = 8;
constexpr int kStripGap = 4;                       // background pixels around and between frames
constexpr uint8_t kStripBackground[3] = {24, 24, 24};
constexpr uint8_t kStripText[3] = {235, 235, 235};

// Which of count frames a strip shows: all when count <= max_frames, else max_frames indices spread evenly
// (rounded) from 0 to count - 1, both included, ascending and distinct.
std::vector<int> select_strip_frames(int count, int max_frames = kStripMaxFrames);

// Font scale for labels under frames of width w: clamp(w / 64, 1, 4).
int strip_label_scale(int w);

// The text under a frame: "step <label>" when it fits in width w at scale, else "<label>".
std::string strip_label(int64_t label, int w, int scale);

// Lays the frames chosen by select_strip_frames left to right on a kStripBackground canvas, kStripGap
// pixels apart and around, with strip_label centred under each frame (clipped to the frame's width).
// frames: each [h, w, 3]; labels: one step number per frame. out: [*out_h, *out_w, 3] where
// *out_w = k * w + (k + 1) * kStripGap and *out_h = kStripGap + h + (5 * scale + 2 * kStripGap) for k
// shown frames. No frames gives an empty image (0 x 0). Throws std::invalid_argument when labels or a
// frame's size do not match.
void make_progress_strip(std::vector<uint8_t>* out, int* out_h, int* out_w,
                         const std::vector<std::vector<uint8_t>>& frames, int h, int w,
                         const std::vector<int64_t>& labels);

}  // namespace fcn
