// Checkpoint save/load on top of engine/safetensors.
#include "engine/checkpoint.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/safetensors.h"
#include "io/json_input.h"

namespace fcn {

static constexpr const char* kFormat = "fcn.cu/1";

const char* reduction_name(LossReduction r) { return r == LossReduction::kMean ? "mean" : "sum"; }

LossReduction parse_reduction(const std::string& name) {
  if (name == "sum") return LossReduction::kSum;
  if (name == "mean") return LossReduction::kMean;
  throw std::invalid_argument("unknown loss reduction '" + name + "'\nHINT: use sum or mean");
}

const char* mapping_name(ResizeMapping m) { return m == ResizeMapping::kHalfPixel ? "half-pixel" : "legacy"; }

ResizeMapping parse_mapping(const std::string& name) {
  if (name == "legacy") return ResizeMapping::kLegacy;
  if (name == "half-pixel") return ResizeMapping::kHalfPixel;
  throw std::invalid_argument("unknown resize mapping '" + name + "'\nHINT: use legacy or half-pixel");
}

static nlohmann::json model_json(const ModelConfig& m) {
  return {{"in_channels", m.in_channels}, {"channels", m.channels}, {"layers", m.layers},
          {"kernel", m.kernel}, {"classes", m.classes}};
}

static std::map<std::string, std::string> settings_metadata(const RunSettings& s) {
  return {
      {"model", model_json(s.model).dump()},
      {"seed", std::to_string(s.seed)},
      {"batch", std::to_string(s.batch)},
      {"size", std::to_string(s.size)},
      {"adam", nlohmann::json{{"lr", s.adam.lr}, {"beta1", s.adam.beta1}, {"beta2", s.adam.beta2},
                              {"eps", s.adam.eps}}.dump()},
      {"weight_decay", nlohmann::json(s.weight_decay).dump()},
      {"loss_reduction", reduction_name(s.reduction)},
      {"resize", mapping_name(s.mapping)},
      {"nearest_targets", s.nearest_targets ? "true" : "false"},
      {"test_fraction", nlohmann::json(s.test_fraction).dump()},
      {"shuffle_buffer", std::to_string(s.shuffle_buffer)},
      {"class_values", nlohmann::json(s.class_values).dump()},
      {"class_names", nlohmann::json(s.class_names).dump()},
  };
}

std::string settings_text(const RunSettings& settings) {
  return nlohmann::json(settings_metadata(settings)).dump();
}

std::string first_non_finite(const CheckpointState& state) {
  const struct {
    const char* prefix;
    const std::vector<float>* values;
  } buffers[] = {{"", &state.params}, {"adam.m.", &state.adam_m}, {"adam.v.", &state.adam_v}};
  for (const auto& buffer : buffers) {
    for (const TensorInfo& t : parameter_layout(state.settings.model)) {
      for (int64_t i = 0; i < t.size && t.offset + i < int64_t(buffer.values->size()); ++i) {
        const float value = (*buffer.values)[size_t(t.offset + i)];
        if (std::isfinite(value)) continue;
        return std::string(buffer.prefix) + t.name + "[" + std::to_string(i) + "] = " +
               (std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
      }
    }
  }
  return "";
}

void save_checkpoint(const std::string& path, const CheckpointState& state) {
  const auto layout = parameter_layout(state.settings.model);
  const int64_t count = parameter_count(state.settings.model);
  if (int64_t(state.params.size()) != count || int64_t(state.adam_m.size()) != count ||
      int64_t(state.adam_v.size()) != count) {
    throw std::invalid_argument("save_checkpoint: buffers do not match the model's parameter count");
  }
  if (const std::string bad = first_non_finite(state); !bad.empty()) {
    throw std::runtime_error("not writing checkpoint " + path + " of step " + std::to_string(state.step) + ": " +
                             bad + " (the run diverged)\nHINT: resume from an earlier checkpoint, with a lower --lr");
  }
  std::vector<SafetensorsTensor> tensors;
  for (const TensorInfo& t : layout) tensors.push_back(make_f32_tensor(t.name, t.shape, &state.params[t.offset]));
  for (const TensorInfo& t : layout) {
    tensors.push_back(make_f32_tensor("adam.m." + t.name, t.shape, &state.adam_m[t.offset]));
  }
  for (const TensorInfo& t : layout) {
    tensors.push_back(make_f32_tensor("adam.v." + t.name, t.shape, &state.adam_v[t.offset]));
  }
  auto metadata = settings_metadata(state.settings);
  metadata["format"] = kFormat;
  metadata["step"] = std::to_string(state.step);
  metadata["loader"] = nlohmann::json{{"train_samples_produced", state.train_samples_produced}}.dump();
  if (!state.kernel_plan.empty()) metadata["kernel_plan"] = state.kernel_plan;
  write_safetensors(path, tensors, metadata);
}

static const std::string& need(const std::map<std::string, std::string>& meta, const std::string& key,
                               const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) {
    throw std::runtime_error("checkpoint " + path + ": __metadata__ has no \"" + key +
                             "\"\nHINT: the file was not written by this version of fcn.cu");
  }
  return it->second;
}

namespace {

// Reads a checkpoint's metadata fields as checked values: every failure names the file and the field.
struct MetadataReader {
  const std::map<std::string, std::string>& meta;
  const std::string& path;

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error("checkpoint " + path + ": damaged metadata: " + problem +
                             "\nHINT: use an earlier checkpoint of the run");
  }
  nlohmann::json json(const std::string& key) const {
    try {
      return parse_json_input<nlohmann::json>(need(meta, key, path));
    } catch (const JsonInputError& e) {
      fail("\"" + key + "\" is " + e.what());
    }
  }
  // An integer written as text ("step": "12"), within [lo, hi].
  template <class T = int64_t>
  T integer(const std::string& key, T lo, T hi) const {
    const std::string& text = need(meta, key, path);
    T value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) fail("\"" + key + "\" is not an integer");
    if (value < lo || value > hi) {
      fail("\"" + key + "\" = " + text + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return value;
  }
  // An integer field of a JSON object, within [lo, hi].
  int64_t integer(const nlohmann::json& object, const std::string& where, const std::string& key, int64_t lo,
                  int64_t hi) const {
    const auto it = object.is_object() ? object.find(key) : object.end();
    if (it == object.end() || !it->is_number_integer()) fail(where + "." + key + " is missing or not an integer");
    const int64_t value = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)
                              ? INT64_MAX
                              : it->get<int64_t>();
    if (value < lo || value > hi) {
      fail(where + "." + key + " = " + describe_json_value(*it) + " is outside " + std::to_string(lo) + ".." +
           std::to_string(hi));
    }
    return value;
  }
  // A finite number: a JSON text of its own, or a field of a JSON object.
  double number(const std::string& key) const { return finite(json(key), key); }
  double number(const nlohmann::json& object, const std::string& where, const std::string& key) const {
    const auto it = object.is_object() ? object.find(key) : object.end();
    if (it == object.end()) fail(where + "." + key + " is missing");
    return finite(*it, where + "." + key);
  }
  double finite(const nlohmann::json& value, const std::string& what) const {
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      fail(what + " is " + describe_json_value(value) + ", expected a finite number");
    }
    return value.get<double>();
  }
  // A finite number the run keeps as a float (the Adam settings, the weight decay): 1e39 is a finite
  // double but an infinite float.
  float single(const nlohmann::json& object, const std::string& where, const std::string& key) const {
    return to_float(number(object, where, key), where + "." + key);
  }
  float single(const std::string& key) const { return to_float(number(key), "\"" + key + "\""); }
  float to_float(double value, const std::string& what) const {
    if (std::fabs(value) > double(std::numeric_limits<float>::max())) {
      fail(what + " = " + nlohmann::json(value).dump() + " is outside a float's range");
    }
    return float(value);
  }
};

}  // namespace

CheckpointState load_checkpoint(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  const auto& meta = file.metadata;
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kFormat) {
    throw std::runtime_error("checkpoint " + path + " is not an fcn.cu checkpoint (format \"" +
                             (format == meta.end() ? std::string("missing") : format->second) +
                             "\", expected \"" + kFormat + "\")\nHINT: pass a file that fcn train wrote");
  }
  CheckpointState state;
  RunSettings& s = state.settings;
  const MetadataReader read{meta, path};
  const nlohmann::json model = read.json("model");
  s.model.in_channels = int(read.integer(model, "model", "in_channels", 1, ModelLimits::kMaxInChannels));
  s.model.channels = int(read.integer(model, "model", "channels", 1, ModelLimits::kMaxChannels));
  s.model.layers = int(read.integer(model, "model", "layers", 1, ModelLimits::kMaxLayers));
  s.model.kernel = int(read.integer(model, "model", "kernel", 1, ModelLimits::kMaxKernel));
  s.model.classes = int(read.integer(model, "model", "classes", 1, ModelLimits::kMaxClasses));
  if (s.model.kernel % 2 == 0) read.fail("model.kernel = " + std::to_string(s.model.kernel) + " is not odd");
  s.seed = read.integer<uint64_t>("seed", 0, UINT64_MAX);
  s.batch = int(read.integer<int64_t>("batch", 1, 1 << 20));
  s.size = int(read.integer<int64_t>("size", 1, 1 << 20));
  const nlohmann::json adam = read.json("adam");
  s.adam.lr = read.single(adam, "adam", "lr");
  s.adam.beta1 = read.single(adam, "adam", "beta1");
  s.adam.beta2 = read.single(adam, "adam", "beta2");
  s.adam.eps = read.single(adam, "adam", "eps");
  s.weight_decay = read.single("weight_decay");
  s.test_fraction = read.number("test_fraction");
  try {
    s.reduction = parse_reduction(need(meta, "loss_reduction", path));
    s.mapping = parse_mapping(need(meta, "resize", path));
  } catch (const std::invalid_argument& e) {
    read.fail(e.what());
  }
  s.nearest_targets = need(meta, "nearest_targets", path) == "true";
  s.shuffle_buffer = read.integer<int64_t>("shuffle_buffer", 0, 1 << 30);
  const nlohmann::json values = read.json("class_values");
  const nlohmann::json names = read.json("class_names");
  if (!values.is_array() || !names.is_array() || values.size() != names.size() || values.size() > 255) {
    read.fail("class_values and class_names are not two arrays of the same length (at most 255)");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].is_number_integer() || values[i].get<int64_t>() < 0 || values[i].get<int64_t>() > 255 ||
        !names[i].is_string()) {
      read.fail("class " + std::to_string(i) + " is not a pixel value 0..255 with a name");
    }
    s.class_values.push_back(int(values[i].get<int64_t>()));
    s.class_names.push_back(names[i].get<std::string>());
  }
  state.step = read.integer<int64_t>("step", 0, INT64_MAX);
  state.train_samples_produced = read.integer(read.json("loader"), "loader", "train_samples_produced", 0, INT64_MAX);
  if (auto plan = meta.find("kernel_plan"); plan != meta.end()) state.kernel_plan = plan->second;  // optional

  // The tensors must be in the file before anything the model settings ask for is allocated.
  int64_t stored_bytes = 0;
  for (const SafetensorsTensor& t : file.tensors) stored_bytes += int64_t(t.bytes.size());
  const double wanted_bytes = 3.0 * 4.0 * double(parameter_count(s.model));  // params, Adam m and v
  if (wanted_bytes > double(stored_bytes)) {
    read.fail("the model " + s.model.describe() + " needs " + std::to_string(int64_t(wanted_bytes)) +
              " bytes of tensors, the file holds " + std::to_string(stored_bytes));
  }
  const auto layout = parameter_layout(s.model);
  const int64_t count = parameter_count(s.model);
  state.params.resize(count);
  state.adam_m.resize(count);
  state.adam_v.resize(count);
  for (const TensorInfo& t : layout) {
    auto copy = [&](const std::string& name, std::vector<float>& dst) {
      std::vector<float> values = file.as_floats(name, t.shape);
      std::copy(values.begin(), values.end(), dst.begin() + t.offset);
    };
    copy(t.name, state.params);
    copy("adam.m." + t.name, state.adam_m);
    copy("adam.v." + t.name, state.adam_v);
  }
  if (const std::string bad = first_non_finite(state); !bad.empty()) {
    throw std::runtime_error("checkpoint " + path + " holds the state of a diverged run: " + bad +
                             "\nHINT: resume from an earlier checkpoint of the run, with a lower --lr");
  }
  return state;
}

void check_resume_compatible(const RunSettings& c, const RunSettings& a, const std::string& path) {
  auto mismatch = [&](const std::string& what, const std::string& in_ckpt, const std::string& asked) {
    throw std::runtime_error("checkpoint " + path + " was trained with " + what + " " + in_ckpt +
                             ", but this run asks for " + asked +
                             "\nHINT: resume with the same settings, or start a new run without --resume");
  };
  if (!(c.model == a.model)) mismatch("model", c.model.describe(), a.model.describe());
  if (c.batch != a.batch) mismatch("batch", std::to_string(c.batch), std::to_string(a.batch));
  if (c.size != a.size) mismatch("size", std::to_string(c.size), std::to_string(a.size));
  if (c.seed != a.seed) mismatch("seed", std::to_string(c.seed), std::to_string(a.seed));
  if (c.class_values != a.class_values) {
    mismatch("legend values", nlohmann::json(c.class_values).dump(), nlohmann::json(a.class_values).dump());
  }
  if (c.test_fraction != a.test_fraction) {
    mismatch("test fraction", std::to_string(c.test_fraction), std::to_string(a.test_fraction));
  }
  if (c.shuffle_buffer != a.shuffle_buffer) {
    mismatch("shuffle buffer", std::to_string(c.shuffle_buffer), std::to_string(a.shuffle_buffer));
  }
}

}  // namespace fcn
