// The synthetic cars dataset (see io/synthetic.h): scene rendering and the export writer.
//
// Sizes are expressed in "grid pixels": one pixel of the 128x128 image the network sees, i.e. width/128
// source pixels horizontally. Textures are made at that scale (and finer), so after the resize to 128x128
// the background is grainy within any 5x5 window while car paint stays smooth.
#include "io/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "io/example.h"
#include "io/image_codec.h"
#include "io/manifest.h"
#include "io/tfrecord.h"

namespace fcn {

namespace {

// ---- random numbers: splitmix64, one independent stream per image ---------------------------------------
struct Rng {
  uint64_t state;
  uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
  float range(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  int int_range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  bool chance(float p) { return uniform() < p; }
};

uint64_t image_seed(uint64_t seed, int64_t index) {
  Rng mix{seed ^ 0x5EEDCA75ull};
  uint64_t a = mix.next();
  Rng mix2{a ^ (static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull)};
  return mix2.next();
}

struct Rgb {
  float r = 0, g = 0, b = 0;
};
Rgb operator*(Rgb c, float k) { return {c.r * k, c.g * k, c.b * k}; }
Rgb operator+(Rgb a, Rgb b) { return {a.r + b.r, a.g + b.g, a.b + b.b}; }
Rgb mix(Rgb a, Rgb b, float t) { return a * (1.0f - t) + b * t; }
Rgb gray(float v) { return {v, v, v}; }

Rgb hsv(float h, float s, float v) {  // h in [0, 1), s and v in [0, 1] -> 0..255
  float h6 = (h - std::floor(h)) * 6.0f;
  int sector = static_cast<int>(h6) % 6;
  float f = h6 - std::floor(h6);
  float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  Rgb c;
  switch (sector) {
    case 0: c = {v, t, p}; break;
    case 1: c = {q, v, p}; break;
    case 2: c = {p, v, t}; break;
    case 3: c = {p, q, v}; break;
    case 4: c = {t, p, v}; break;
    default: c = {v, p, q}; break;
  }
  return c * 255.0f;
}

float smoothstep01(float t) { return t * t * (3.0f - 2.0f * t); }

// Value noise: random values on a lattice of `cell` pixels, smoothly interpolated; output in [-1, 1].
class ValueNoise {
 public:
  ValueNoise(Rng& rng, int width, int height, float cell) : cell_(std::max(cell, 1.0f)) {
    nx_ = static_cast<int>(width / cell_) + 3;
    ny_ = static_cast<int>(height / cell_) + 3;
    values_.resize(static_cast<size_t>(nx_) * ny_);
    for (float& v : values_) v = rng.range(-1.0f, 1.0f);
  }
  float at(float x, float y) const {
    float fx = std::max(x, 0.0f) / cell_, fy = std::max(y, 0.0f) / cell_;
    int ix = std::min(static_cast<int>(fx), nx_ - 2), iy = std::min(static_cast<int>(fy), ny_ - 2);
    float tx = smoothstep01(std::min(fx - ix, 1.0f)), ty = smoothstep01(std::min(fy - iy, 1.0f));
    const float* row0 = &values_[static_cast<size_t>(iy) * nx_ + ix];
    const float* row1 = row0 + nx_;
    float top = row0[0] + (row0[1] - row0[0]) * tx;
    float bottom = row1[0] + (row1[1] - row1[0]) * tx;
    return top + (bottom - top) * ty;
  }

 private:
  float cell_;
  int nx_ = 0, ny_ = 0;
  std::vector<float> values_;
};

// ---- the canvas ----------------------------------------------------------------------------------------
struct Canvas {
  int height = 0, width = 0;
  float grid = 1.0f;        // source pixels per pixel of the 128x128 view (horizontal)
  std::vector<Rgb> pixels;  // [height, width]
  std::vector<uint8_t> label;  // [height, width]
  Rgb& at(int x, int y) { return pixels[static_cast<size_t>(y) * width + x]; }
};

// One region of the background: a base colour and grain at several scales.
enum class Surface { kSky, kWall, kRoad, kGrass, kGravel };

struct SurfaceLook {
  Surface kind;
  Rgb base;
  float coarse_amp, medium_amp, fine_amp, pixel_amp;  // luminance amplitudes (0..255 units)
  float tint_amp;                                     // per-channel medium noise (hue jitter)
};

SurfaceLook pick_look(Rng& rng, Surface kind) {
  SurfaceLook look{kind, {}, 0, 0, 0, 0, 0};
  switch (kind) {
    case Surface::kSky: {  // pale, greyish blue, clouds: low chroma, grain from haze and noise
      float l = rng.range(150, 215);
      look.base = {l - rng.range(0, 12), l, l + rng.range(6, 18)};
      look.coarse_amp = rng.range(10, 22);
      look.medium_amp = rng.range(8, 14);
      look.fine_amp = rng.range(8, 14);
      look.pixel_amp = 6;
      look.tint_amp = 3;
      break;
    }
    case Surface::kWall: {  // concrete or brick-grey facade
      float l = rng.range(85, 175);
      float warm = rng.range(-10, 10);
      look.base = {l + warm, l, l - warm};
      look.coarse_amp = rng.range(8, 18);
      look.medium_amp = rng.range(12, 20);
      look.fine_amp = rng.range(14, 22);
      look.pixel_amp = 12;
      look.tint_amp = 4;
      break;
    }
    case Surface::kRoad: {  // asphalt
      float l = rng.range(70, 135);
      look.base = {l, l + rng.range(-3, 3), l + rng.range(0, 6)};
      look.coarse_amp = rng.range(6, 14);
      look.medium_amp = rng.range(10, 16);
      look.fine_amp = rng.range(14, 22);
      look.pixel_amp = 16;
      look.tint_amp = 3;
      break;
    }
    case Surface::kGrass: {  // lawn: greenish but muted, strongly grainy
      float k = rng.range(0.75f, 1.25f);
      look.base = Rgb{92, 112, 66} * k;
      look.coarse_amp = rng.range(8, 16);
      look.medium_amp = rng.range(14, 20);
      look.fine_amp = rng.range(18, 26);
      look.pixel_amp = 18;
      look.tint_amp = 8;
      break;
    }
    case Surface::kGravel: {  // beige-grey stones
      float l = rng.range(110, 170);
      look.base = {l + 8, l, l - 12};
      look.coarse_amp = rng.range(6, 12);
      look.medium_amp = rng.range(12, 18);
      look.fine_amp = rng.range(22, 30);
      look.pixel_amp = 20;
      look.tint_amp = 5;
      break;
    }
  }
  return look;
}

// Paints rows [y0, y1) with `look` where mask(y, x) holds (a function deciding region membership).
template <class Inside>
void paint_surface(Canvas& canvas, Rng& rng, const SurfaceLook& look, int y0, int y1, Inside inside) {
  const float g = canvas.grid;
  ValueNoise coarse(rng, canvas.width, canvas.height, 24 * g);
  ValueNoise medium(rng, canvas.width, canvas.height, 3.0f * g);
  ValueNoise fine(rng, canvas.width, canvas.height, 1.0f * g);
  ValueNoise tint_r(rng, canvas.width, canvas.height, 2.0f * g);
  ValueNoise tint_b(rng, canvas.width, canvas.height, 2.0f * g);
  for (int y = std::max(y0, 0); y < std::min(y1, canvas.height); ++y) {
    float sky_gradient = look.kind == Surface::kSky ? 18.0f * (static_cast<float>(y) / canvas.height) : 0.0f;
    for (int x = 0; x < canvas.width; ++x) {
      if (!inside(x, y)) continue;
      float fx = static_cast<float>(x), fy = static_cast<float>(y);
      float l = look.coarse_amp * coarse.at(fx, fy) + look.medium_amp * medium.at(fx, fy) +
                look.fine_amp * fine.at(fx, fy) + sky_gradient;
      l += look.pixel_amp * (rng.uniform() * 2.0f - 1.0f);
      float tr = look.tint_amp * tint_r.at(fx, fy), tb = look.tint_amp * tint_b.at(fx, fy);
      canvas.at(x, y) = Rgb{look.base.r + l + tr, look.base.g + l, look.base.b + l + tb};
    }
  }
}

// ---- cars ----------------------------------------------------------------------------------------------
struct Car {
  float x0 = 0;      // left end of the car (source pixels)
  float ground = 0;  // y of the wheels' bottom
  float length = 0;
  bool facing_left = false;
  Rgb paint;
  Rgb glass;
  float cabin_front = 0.82f, cabin_back = 0.2f, roof_front = 0.68f, roof_back = 0.32f;  // fractions of length
  float body_height = 0.26f, cabin_height = 0.19f;                                    // fractions of length
};

bool in_rounded_rect(float x, float y, float left, float top, float right, float bottom, float radius) {
  if (x < left || x > right || y < top || y > bottom) return false;
  float cx = std::clamp(x, left + radius, right - radius);
  float cy = std::clamp(y, top + radius, bottom - radius);
  float dx = x - cx, dy = y - cy;
  return dx * dx + dy * dy <= radius * radius;
}

void draw_shadow(Canvas& canvas, const Car& car) {
  float cx = car.x0 + 0.5f * car.length, cy = car.ground;
  float rx = 0.58f * car.length, ry = 0.06f * car.length;
  int xa = std::max(0, static_cast<int>(cx - rx)), xb = std::min(canvas.width - 1, static_cast<int>(cx + rx));
  int ya = std::max(0, static_cast<int>(cy - ry)), yb = std::min(canvas.height - 1, static_cast<int>(cy + ry));
  for (int y = ya; y <= yb; ++y) {
    for (int x = xa; x <= xb; ++x) {
      float dx = (x - cx) / rx, dy = (y - cy) / ry;
      float d = dx * dx + dy * dy;
      if (d < 1.0f) canvas.at(x, y) = canvas.at(x, y) * (0.5f + 0.5f * d);
    }
  }
}

void draw_car(Canvas& canvas, const Car& car) {
  const float L = car.length;
  const float wheel_r = 0.105f * L;
  const float body_bottom = car.ground - 0.55f * wheel_r;
  const float body_top = body_bottom - car.body_height * L;
  const float roof = body_top - car.cabin_height * L;
  const float wheel_y = car.ground - wheel_r;
  const float wheel_x[2] = {car.x0 + 0.19f * L, car.x0 + 0.81f * L};
  // Cabin extents, mirrored when the car faces left.
  auto along = [&](float f) { return car.facing_left ? car.x0 + (1.0f - f) * L : car.x0 + f * L; };
  float cab_b0 = along(car.cabin_back), cab_b1 = along(car.cabin_front);
  float cab_t0 = along(car.roof_back), cab_t1 = along(car.roof_front);
  if (cab_b0 > cab_b1) std::swap(cab_b0, cab_b1);
  if (cab_t0 > cab_t1) std::swap(cab_t0, cab_t1);
  const float frame = 0.022f * L;
  const float pillar = along(0.5f * (car.roof_back + car.roof_front));

  int xa = std::max(0, static_cast<int>(car.x0 - 1)), xb = std::min(canvas.width - 1, static_cast<int>(car.x0 + L + 1));
  int ya = std::max(0, static_cast<int>(roof - 1)), yb = std::min(canvas.height - 1, static_cast<int>(car.ground + 1));
  for (int y = ya; y <= yb; ++y) {
    float fy = static_cast<float>(y) + 0.5f;
    for (int x = xa; x <= xb; ++x) {
      float fx = static_cast<float>(x) + 0.5f;
      bool body = in_rounded_rect(fx, fy, car.x0, body_top, car.x0 + L, body_bottom, 0.07f * L);
      bool cabin = false, window = false;
      if (fy >= roof && fy < body_top + 0.02f * L) {
        float t = (body_top - fy) / (body_top - roof);  // 0 at the cabin's bottom, 1 at the roof
        float left = cab_b0 + (cab_t0 - cab_b0) * t, right = cab_b1 + (cab_t1 - cab_b1) * t;
        cabin = fx >= left && fx <= right;
        window = cabin && fy > roof + frame && fy < body_top - 0.3f * frame && fx > left + frame &&
                 fx < right - frame && std::fabs(fx - pillar) > 0.6f * frame;
      }
      int wheel = -1;
      float wheel_d2 = 0;
      for (int w = 0; w < 2; ++w) {
        float dx = fx - wheel_x[w], dy = fy - wheel_y;
        float d2 = dx * dx + dy * dy;
        if (d2 <= wheel_r * wheel_r) {
          wheel = w;
          wheel_d2 = d2;
        }
      }
      if (!body && !cabin && wheel < 0) continue;
      Rgb c;
      if (wheel >= 0) {  // tyre with a painted hub
        float d = std::sqrt(wheel_d2) / wheel_r;
        c = d < 0.55f ? car.paint * (0.8f + 0.2f * d) : gray(28) + Rgb{0, 0, 4} * d;
      } else if (window) {  // tinted glass with a soft diagonal reflection
        float streak = std::sin(((fx - car.x0) / L * 3.0f + (fy - roof) / L * 4.0f) * 3.14159f);
        c = car.glass * (0.9f + 0.25f * streak * streak);
      } else {  // paint: lighter on top, a soft highlight band, darker at the sills
        float v = (fy - roof) / (body_bottom - roof);
        float shade = 1.1f - 0.28f * v;
        float band = std::exp(-std::pow((v - 0.45f) / 0.07f, 2.0f));
        c = mix(car.paint * shade, Rgb{255, 255, 255}, 0.10f * band);
        bool light_zone = fy > body_top + 0.05f * L && fy < body_top + 0.11f * L;
        float end = car.facing_left ? fx - car.x0 : car.x0 + L - fx;  // distance to the front
        float back = car.facing_left ? car.x0 + L - fx : fx - car.x0;
        if (light_zone && end < 0.035f * L) c = Rgb{250, 236, 170};
        if (light_zone && back < 0.03f * L) c = Rgb{200, 30, 35};
      }
      canvas.at(x, y) = c;
      canvas.label[static_cast<size_t>(y) * canvas.width + x] = 1;
    }
  }
}

Car random_car(Rng& rng, const Canvas& canvas, float length, float horizon, float hue) {
  Car car;
  car.length = length;
  float room = canvas.width - 0.8f * length;
  car.x0 = room > -0.15f * length ? rng.range(-0.15f * length, room) : 0.5f * (canvas.width - length);
  float ground_low = horizon + 0.35f * (canvas.height - horizon);
  car.ground = rng.range(std::min(ground_low, canvas.height * 0.95f), canvas.height * 1.04f);
  car.facing_left = rng.chance(0.5f);
  // Saturated paint of any hue: each channel spans most of 0..255 across cars. The hue steps by the
  // golden ratio from car to car (plus jitter), so any handful of images shows hues all around the circle.
  car.paint = hsv(hue + rng.range(-0.06f, 0.06f), rng.range(0.6f, 0.95f), rng.range(0.5f, 0.95f));
  float glass_hue = rng.range(0.45f, 0.62f);
  car.glass = hsv(glass_hue, rng.range(0.55f, 0.8f), rng.range(0.3f, 0.45f));
  int type = rng.int_range(0, 2);  // sedan, hatchback, van
  if (type == 1) {
    car.cabin_back = 0.12f, car.roof_back = 0.15f, car.cabin_height = 0.2f;
  } else if (type == 2) {
    car.cabin_back = 0.05f, car.roof_back = 0.06f, car.roof_front = 0.62f, car.cabin_height = 0.24f;
    car.body_height = 0.28f;
  }
  return car;
}

// ---- occluders -------------------------------------------------------------------------------------------
void draw_pole(Canvas& canvas, Rng& rng) {
  float width = canvas.width * rng.range(0.015f, 0.035f);
  float x0 = rng.range(0.0f, canvas.width - width);
  float top = canvas.height * rng.range(-0.1f, 0.3f);
  float l = rng.range(90, 185);
  for (int y = std::max(0, static_cast<int>(top)); y < canvas.height; ++y) {
    for (int x = std::max(0, static_cast<int>(x0)); x < std::min(canvas.width, static_cast<int>(x0 + width) + 1); ++x) {
      float u = (x + 0.5f - x0) / width;  // 0..1 across: cylinder shading
      if (u < 0 || u > 1) continue;
      float shade = 0.65f + 0.45f * std::sin(u * 3.14159f);
      canvas.at(x, y) = gray(l * shade) + Rgb{0, 1, 3};
      canvas.label[static_cast<size_t>(y) * canvas.width + x] = 0;
    }
  }
}

void draw_bush(Canvas& canvas, Rng& rng) {
  const float g = canvas.grid;
  int blobs = rng.int_range(3, 6);
  float cx = rng.range(0.0f, static_cast<float>(canvas.width));
  struct Blob { float x, y, r; };
  std::vector<Blob> parts;
  for (int i = 0; i < blobs; ++i) {
    float r = canvas.width * rng.range(0.05f, 0.11f);
    parts.push_back({cx + rng.range(-1.5f, 1.5f) * r, canvas.height * rng.range(0.9f, 1.05f), r});
  }
  ValueNoise edge(rng, canvas.width, canvas.height, 4 * g);
  ValueNoise leaves(rng, canvas.width, canvas.height, 1.0f * g);
  ValueNoise clumps(rng, canvas.width, canvas.height, 3.0f * g);
  Rgb base = Rgb{62, 88, 48} * rng.range(0.8f, 1.2f);
  for (const Blob& b : parts) {
    int xa = std::max(0, static_cast<int>(b.x - 1.3f * b.r)), xb = std::min(canvas.width - 1, static_cast<int>(b.x + 1.3f * b.r));
    int ya = std::max(0, static_cast<int>(b.y - 1.3f * b.r)), yb = std::min(canvas.height - 1, static_cast<int>(b.y + 1.3f * b.r));
    for (int y = ya; y <= yb; ++y) {
      for (int x = xa; x <= xb; ++x) {
        float dx = x - b.x, dy = y - b.y;
        float radius = b.r * (1.0f + 0.25f * edge.at(static_cast<float>(x), static_cast<float>(y)));
        if (dx * dx + dy * dy > radius * radius) continue;
        float l = 26.0f * leaves.at(static_cast<float>(x), static_cast<float>(y)) +
                  14.0f * clumps.at(static_cast<float>(x), static_cast<float>(y)) + 14.0f * (rng.uniform() * 2 - 1);
        canvas.at(x, y) = base + gray(l);
        canvas.label[static_cast<size_t>(y) * canvas.width + x] = 0;
      }
    }
  }
}

uint8_t to_byte(float v) { return static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f)); }

}  // namespace

double SyntheticImage::car_fraction() const {
  if (label.empty()) return 0.0;
  int64_t cars = 0;
  for (uint8_t v : label) cars += v != 0;
  return static_cast<double>(cars) / static_cast<double>(label.size());
}

SyntheticImage render_synthetic_image(uint64_t seed, int64_t index) {
  Rng rng{image_seed(seed, index)};
  Canvas canvas;
  static const float kAspects[3] = {4.0f / 3.0f, 3.0f / 2.0f, 16.0f / 9.0f};
  float aspect = kAspects[rng.int_range(0, 2)];
  canvas.width = rng.int_range(160, 640) * 2;
  canvas.height = std::clamp(static_cast<int>(canvas.width / aspect) / 2 * 2, 240, 720);
  canvas.grid = canvas.width / 128.0f;
  canvas.pixels.resize(static_cast<size_t>(canvas.width) * canvas.height);
  canvas.label.assign(static_cast<size_t>(canvas.width) * canvas.height, 0);

  // Background: sky or a wall above a wavy horizon, one or two ground surfaces below it.
  float horizon = canvas.height * rng.range(0.12f, 0.5f);
  ValueNoise horizon_wave(rng, canvas.width, 1, 16 * canvas.grid);
  float wave_amp = canvas.height * 0.03f;
  auto horizon_at = [&](int x) { return horizon + wave_amp * horizon_wave.at(static_cast<float>(x), 0.0f); };
  SurfaceLook upper = pick_look(rng, rng.chance(0.6f) ? Surface::kSky : Surface::kWall);
  paint_surface(canvas, rng, upper, 0, static_cast<int>(horizon + wave_amp) + 1,
                [&](int x, int y) { return y < horizon_at(x); });
  static const Surface kGrounds[3] = {Surface::kRoad, Surface::kGrass, Surface::kGravel};
  SurfaceLook ground = pick_look(rng, kGrounds[rng.int_range(0, 2)]);
  float split = rng.chance(0.35f) ? rng.range(horizon, static_cast<float>(canvas.height)) : 1e9f;
  paint_surface(canvas, rng, ground, static_cast<int>(horizon - wave_amp), canvas.height,
                [&](int x, int y) { return y >= horizon_at(x) && y < split; });
  if (split < canvas.height) {
    SurfaceLook near = pick_look(rng, kGrounds[rng.int_range(0, 2)]);
    paint_surface(canvas, rng, near, static_cast<int>(split), canvas.height,
                  [&](int, int y) { return y >= split; });
  }

  // Cars: 1-3, sized so that together they cover about 12-38% of the frame; far ones first.
  int cars = rng.int_range(1, 3);
  float target = rng.range(0.12f, 0.38f);
  float area_each = target * canvas.width * canvas.height / cars;
  std::vector<Car> scene;
  Rng seed_rng{seed ^ 0x0C0102ull};
  const float hue_origin = seed_rng.uniform();  // per dataset
  for (int i = 0; i < cars; ++i) {
    float length = std::sqrt(area_each / 0.4f) * rng.range(0.85f, 1.15f);
    length = std::min(length, 0.95f * canvas.width);
    float hue = static_cast<float>(std::fmod(hue_origin + static_cast<double>(3 * index + i) * 0.6180339887, 1.0));
    scene.push_back(random_car(rng, canvas, length, horizon, hue));
  }
  std::sort(scene.begin(), scene.end(), [](const Car& a, const Car& b) { return a.ground < b.ground; });
  for (const Car& car : scene) {
    draw_shadow(canvas, car);
    draw_car(canvas, car);
  }

  // Foreground occluders.
  if (rng.chance(0.35f)) draw_pole(canvas, rng);
  if (rng.chance(0.4f)) draw_bush(canvas, rng);

  // Exposure and white balance of the "camera", then sensor noise (about 3 levels rms per channel).
  float exposure = rng.range(0.92f, 1.08f);
  Rgb balance{rng.range(0.96f, 1.04f), 1.0f, rng.range(0.96f, 1.04f)};
  SyntheticImage image;
  image.height = canvas.height;
  image.width = canvas.width;
  image.rgb.resize(static_cast<size_t>(canvas.width) * canvas.height * 3);
  // Triangular noise from two 10-bit uniforms: range [-1, 1], standard deviation 1/sqrt(6); scaled to 3.
  const float kNoiseScale = 3.0f * 2.449f / 1023.0f;
  for (size_t i = 0; i < canvas.pixels.size(); ++i) {
    uint64_t r = rng.next();
    float n[3];
    for (int c = 0; c < 3; ++c) {
      uint64_t bits = r >> (c * 20);
      n[c] = (static_cast<float>(bits & 0x3FF) + static_cast<float>((bits >> 10) & 0x3FF) - 1023.0f) * kNoiseScale;
    }
    const Rgb& p = canvas.pixels[i];
    image.rgb[3 * i + 0] = to_byte(p.r * exposure * balance.r + n[0]);
    image.rgb[3 * i + 1] = to_byte(p.g * exposure * balance.g + n[1]);
    image.rgb[3 * i + 2] = to_byte(p.b * exposure * balance.b + n[2]);
  }
  image.label = std::move(canvas.label);
  image.store_as_jpeg = ((static_cast<uint64_t>(index) + seed) & 1u) == 1u;
  return image;
}

SyntheticDatasetSummary write_synthetic_dataset(const std::string& dir, const SyntheticOptions& options,
                                                const SyntheticProgress& progress) {
  namespace fs = std::filesystem;
  if (options.images < 1 || options.shards < 1) {
    throw DataError(DataError::Kind::kInvalid, dir, -1, -1,
                    "make-dataset needs at least one image and one shard\nHINT: pass --images N --shards K with N, K >= 1");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw DataError(DataError::Kind::kIo, dir, -1, -1,
                    "cannot create folder " + dir + ": " + ec.message() + "\nHINT: check the path and permissions");
  }
  const int shards = static_cast<int>(std::min<int64_t>(options.shards, options.images));
  SyntheticDatasetSummary summary;
  summary.shards = shards;
  Manifest manifest;
  manifest.legend.push_back({"Model 3", 1});
  double fraction_sum = 0.0;
  int64_t next_image = 0;
  for (int shard = 0; shard < shards; ++shard) {
    char name[64];
    std::snprintf(name, sizeof(name), "synthetic-%05d-of-%05d.tfrecord", shard, shards);
    manifest.tfrecord_paths.push_back(name);
    const std::string path = (fs::path(dir) / name).string();
    TfRecordWriter writer(path);
    int64_t end = (static_cast<int64_t>(shard) + 1) * options.images / shards;
    for (; next_image < end; ++next_image) {
      SyntheticImage image = render_synthetic_image(options.seed, next_image);
      ExampleFields fields;
      fields.height = image.height;
      fields.width = image.width;
      fields.channels = 3;
      if (image.store_as_jpeg) {
        fields.image_encoded = encode_jpeg(image.rgb.data(), image.height, image.width, 3, options.jpeg_quality);
        fields.image_format = "jpeg";
        ++summary.jpeg_images;
      } else {
        fields.image_encoded = encode_png(image.rgb.data(), image.height, image.width, 3);
        fields.image_format = "png";
        ++summary.png_images;
      }
      fields.label_encoded = encode_png(image.label.data(), image.height, image.width, 1);
      char file[64];
      std::snprintf(file, sizeof(file), "synthetic_%05lld.%s", static_cast<long long>(next_image),
                    image.store_as_jpeg ? "jpg" : "png");
      fields.filename = file;
      fields.id = "synthetic-" + std::to_string(options.seed) + "-" + std::to_string(next_image);
      std::string record = encode_example(fields);
      writer.write(record);
      summary.bytes_written += static_cast<int64_t>(record.size()) + 16;
      fraction_sum += image.car_fraction();
      ++summary.images;
      if (progress) progress(summary.images, options.images);
    }
    writer.close();
  }
  summary.mean_car_fraction = fraction_sum / static_cast<double>(summary.images);
  summary.export_json = (fs::path(dir) / "export.json").string();
  write_manifest(summary.export_json, manifest);
  return summary;
}

}  // namespace fcn
