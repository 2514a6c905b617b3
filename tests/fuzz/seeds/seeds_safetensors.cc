// Seeds of safetensors and checkpoint: files written by write_safetensors and save_checkpoint (every dtype,
// a scalar, an empty tensor, metadata; a tiny model's checkpoint with and without a kernel plan), and
// hand-made headers that break one rule each: lengths past the end, holes, overlaps, duplicate keys,
// unknown dtypes, overflowing shapes; checkpoints with a damaged, missing or out-of-range metadata field,
// a tensor missing, a non-finite parameter, a cut file.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/safetensors.h"
#include "io/image_codec.h"
#include "tests/fuzz/seeds/seeds.h"

namespace fcn::seeds {
namespace {

// A safetensors file from a header text and the data section.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

std::string written(const SeedWriter& out, const std::vector<SafetensorsTensor>& tensors,
                    const std::map<std::string, std::string>& metadata) {
  const std::string path = out.scratch("file.safetensors");
  write_safetensors(path, tensors, metadata);
  std::string bytes = read_file(path);
  std::filesystem::remove(path);
  return bytes;
}

SafetensorsTensor tensor_of(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape) {
  SafetensorsTensor t{name, dtype, std::move(shape), {}};
  t.bytes.resize(size_t(t.element_count() * safetensors_dtype_size(dtype)), 0x3f);
  return t;
}

void write_plain_seeds(const SeedWriter& out) {
  std::vector<SafetensorsTensor> every_dtype;
  const SafetensorsDtype dtypes[] = {SafetensorsDtype::kBool, SafetensorsDtype::kU8,  SafetensorsDtype::kI8,
                                     SafetensorsDtype::kI16,  SafetensorsDtype::kU16, SafetensorsDtype::kF16,
                                     SafetensorsDtype::kBF16, SafetensorsDtype::kI32, SafetensorsDtype::kU32,
                                     SafetensorsDtype::kF32,  SafetensorsDtype::kI64, SafetensorsDtype::kU64,
                                     SafetensorsDtype::kF64};
  for (SafetensorsDtype d : dtypes) every_dtype.push_back(tensor_of(safetensors_dtype_name(d), d, {2}));
  const float values[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
  const std::string f32 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";
  const std::string data8(8, '\x01');
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"valid_two_f32_with_metadata",
       written(out, {make_f32_tensor("w", {2, 3}, values), make_f32_tensor("b", {1}, values)},
               {{"format", "pt"}, {"note", "two tensors"}})},
      {"valid_every_dtype", written(out, every_dtype, {})},
      {"valid_scalar_and_empty",
       written(out, {tensor_of("scalar", SafetensorsDtype::kF64, {}), tensor_of("empty", SafetensorsDtype::kF32, {0, 3})},
               {})},
      {"valid_no_tensors", safetensors_bytes("{}", "")},
      {"broken_shorter_than_8_bytes", std::string("\x02\0\0", 3)},
      {"broken_header_past_end", safetensors_bytes("{}", "").replace(0, 1, "\x40")},
      {"broken_header_not_json", safetensors_bytes("{\"a\":", "")},
      {"broken_header_not_object", safetensors_bytes("[1,2]", "")},
      {"broken_duplicate_key", safetensors_bytes("{\"a\":" + f32 + "[0,8]},\"a\":" + f32 + "[0,8]}}", data8)},
      {"broken_unknown_dtype", safetensors_bytes("{\"a\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}}", data8)},
      {"broken_offsets_not_two", safetensors_bytes("{\"a\":" + f32 + "[0]}}", data8)},
      {"broken_offsets_past_data", safetensors_bytes("{\"a\":" + f32 + "[0,16]}}", data8)},
      {"broken_span_not_shape", safetensors_bytes("{\"a\":" + f32 + "[0,4]}}", data8)},
      {"broken_hole", safetensors_bytes("{\"a\":" + f32 + "[8,16]}}", data8 + data8)},
      {"broken_overlap",
       safetensors_bytes("{\"a\":" + f32 + "[0,8]},\"b\":" + f32 + "[4,12]}}", data8 + data8)},
      {"broken_trailing_bytes", safetensors_bytes("{\"a\":" + f32 + "[0,8]}}", data8 + "tail")},
      {"broken_shape_overflow",
       safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", "")},
      {"broken_negative_dimension", safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", data8)},
      {"broken_metadata_not_string", safetensors_bytes("{\"__metadata__\":{\"step\":3}}", "")},
      {"broken_missing_shape", safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", data8)},
  };
  for (const auto& [name, bytes] : seeds) out.put("safetensors", name, bytes);
}

// The checkpoint at `path` written again with `key` set to `value` ("" removes it) in its metadata.
std::string with_metadata(const SeedWriter& out, const std::string& path, const std::string& key,
                          const std::string& value) {
  SafetensorsFile file = read_safetensors(path);
  if (value.empty()) {
    file.metadata.erase(key);
  } else {
    file.metadata[key] = value;
  }
  return written(out, file.tensors, file.metadata);
}

CheckpointState tiny_state() {
  CheckpointState state;
  state.settings.model = ModelConfig{1, 2, 1, 1, 1};
  state.settings.batch = 2;
  state.settings.size = 16;
  state.settings.class_values = {1};
  state.settings.class_names = {"car"};
  state.step = 3;
  state.train_samples_produced = 6;
  const size_t count = size_t(parameter_count(state.settings.model));
  for (size_t i = 0; i < count; ++i) {
    state.params.push_back(0.1f * float(i) - 0.2f);
    state.adam_m.push_back(0.01f * float(i));
    state.adam_v.push_back(0.001f * float(i));
  }
  return state;
}

void write_checkpoint_seeds(const SeedWriter& out) {
  const std::string path = out.scratch("checkpoint.safetensors");
  CheckpointState state = tiny_state();
  save_checkpoint(path, state);
  const std::string valid = read_file(path);
  std::vector<std::pair<std::string, std::string>> seeds = {
      {"valid_tiny", valid},
      {"broken_format", with_metadata(out, path, "format", "fcn.cu/0")},
      {"broken_no_step", with_metadata(out, path, "step", "")},
      {"broken_step_not_integer", with_metadata(out, path, "step", "3.5")},
      {"broken_model_not_json", with_metadata(out, path, "model", "{\"in_channels\": 1,")},
      {"broken_model_even_kernel",
       with_metadata(out, path, "model", "{\"in_channels\":1,\"channels\":2,\"layers\":1,\"kernel\":2,\"classes\":1}")},
      {"broken_model_larger_than_tensors",
       with_metadata(out, path, "model", "{\"in_channels\":64,\"channels\":4096,\"layers\":64,\"kernel\":31,\"classes\":255}")},
      {"broken_adam_null", with_metadata(out, path, "adam", "{\"lr\":null,\"beta1\":0.9,\"beta2\":0.999,\"eps\":1e-8}")},
      {"broken_classes_differ", with_metadata(out, path, "class_names", "[\"car\",\"truck\"]")},
      {"broken_reduction", with_metadata(out, path, "loss_reduction", "median")},
      {"broken_cut", cut(valid, valid.size() / 2)},
  };
  state.kernel_plan = "1x1:1>2=3,3,4;1x1:2>1=1,2,3";
  save_checkpoint(path, state);
  seeds.push_back({"valid_with_kernel_plan", read_file(path)});
  SafetensorsFile file = read_safetensors(path);
  file.tensors.back().bytes.assign(file.tensors.back().bytes.size(), char(0xff));  // NaN floats
  seeds.push_back({"broken_non_finite_moment", written(out, file.tensors, file.metadata)});
  file.tensors.pop_back();
  seeds.push_back({"broken_tensor_missing", written(out, file.tensors, file.metadata)});
  std::filesystem::remove(path);
  for (const auto& [name, bytes] : seeds) out.put("checkpoint", name, bytes);
}

}  // namespace

void write_safetensors_seeds(const SeedWriter& out) {
  write_plain_seeds(out);
  write_checkpoint_seeds(out);
}

}  // namespace fcn::seeds
