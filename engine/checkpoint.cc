// Checkpoint save/load on top of engine/safetensors.
#include "engine/checkpoint.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/safetensors.h"

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

void save_checkpoint(const std::string& path, const CheckpointState& state) {
  const auto layout = parameter_layout(state.settings.model);
  const int64_t count = parameter_count(state.settings.model);
  if (int64_t(state.params.size()) != count || int64_t(state.adam_m.size()) != count ||
      int64_t(state.adam_v.size()) != count) {
    throw std::invalid_argument("save_checkpoint: buffers do not match the model's parameter count");
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
  try {
    auto m = nlohmann::json::parse(need(meta, "model", path));
    s.model.in_channels = m.at("in_channels");
    s.model.channels = m.at("channels");
    s.model.layers = m.at("layers");
    s.model.kernel = m.at("kernel");
    s.model.classes = m.at("classes");
    s.seed = std::stoull(need(meta, "seed", path));
    s.batch = std::stoi(need(meta, "batch", path));
    s.size = std::stoi(need(meta, "size", path));
    auto adam = nlohmann::json::parse(need(meta, "adam", path));
    s.adam.lr = adam.at("lr");
    s.adam.beta1 = adam.at("beta1");
    s.adam.beta2 = adam.at("beta2");
    s.adam.eps = adam.at("eps");
    s.weight_decay = nlohmann::json::parse(need(meta, "weight_decay", path)).get<float>();
    s.reduction = parse_reduction(need(meta, "loss_reduction", path));
    s.mapping = parse_mapping(need(meta, "resize", path));
    s.nearest_targets = need(meta, "nearest_targets", path) == "true";
    s.test_fraction = nlohmann::json::parse(need(meta, "test_fraction", path)).get<double>();
    s.shuffle_buffer = std::stoll(need(meta, "shuffle_buffer", path));
    s.class_values = nlohmann::json::parse(need(meta, "class_values", path)).get<std::vector<int>>();
    s.class_names = nlohmann::json::parse(need(meta, "class_names", path)).get<std::vector<std::string>>();
    state.step = std::stoll(need(meta, "step", path));
    state.train_samples_produced =
        nlohmann::json::parse(need(meta, "loader", path)).at("train_samples_produced").get<int64_t>();
    if (auto plan = meta.find("kernel_plan"); plan != meta.end()) state.kernel_plan = plan->second;  // optional
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("checkpoint " + path + ": damaged metadata (" + e.what() +
                             ")\nHINT: use an earlier checkpoint of the run");
  } catch (const std::logic_error& e) {  // stoi and friends
    throw std::runtime_error("checkpoint " + path + ": damaged metadata (" + e.what() +
                             ")\nHINT: use an earlier checkpoint of the run");
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
