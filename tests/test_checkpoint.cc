// Checkpoints: round trip, refusal of foreign or damaged files, and exact resume: N steps then a resume
// to N + M steps gives bit-identical weights, Adam moments and losses to N + M steps straight.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/safetensors.h"
#include "engine/trainer.h"
#include "tests/tiny_export.h"

using namespace fcn;

namespace {

RunSettings tiny_settings() {
  RunSettings s;
  s.model.channels = 4;
  s.model.classes = 1;
  s.batch = 2;
  s.size = 16;
  s.seed = 5;
  s.adam.lr = 1e-2f;
  s.test_fraction = 0.25;
  s.shuffle_buffer = 4;
  s.class_values = {1};
  s.class_names = {"car"};
  return s;
}

CheckpointState some_state() {
  CheckpointState st;
  st.settings = tiny_settings();
  st.step = 17;
  st.train_samples_produced = 34;
  const int64_t n = parameter_count(st.settings.model);
  for (int64_t i = 0; i < n; ++i) {
    st.params.push_back(0.001f * float(i) - 0.3f);
    st.adam_m.push_back(1e-5f * float(i));
    st.adam_v.push_back(1e-7f * float(i));
  }
  return st;
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> metrics_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a checkpoint round-trips parameters, moments and every setting", "[checkpoint]") {
  const std::string dir = test::temp_dir("ckpt_roundtrip");
  CheckpointState st = some_state();
  st.settings.reduction = LossReduction::kMean;
  st.settings.mapping = ResizeMapping::kHalfPixel;
  st.settings.weight_decay = 5e-4f;
  st.kernel_plan = "1x1:4>1=3,3,4;3x3:3>4=2,3,3";
  save_checkpoint(dir + "/a.safetensors", st);
  CheckpointState back = load_checkpoint(dir + "/a.safetensors");
  CHECK(back.params == st.params);
  CHECK(back.adam_m == st.adam_m);
  CHECK(back.adam_v == st.adam_v);
  CHECK(back.step == 17);
  CHECK(back.train_samples_produced == 34);
  CHECK(back.settings.model == st.settings.model);
  CHECK(back.settings.reduction == LossReduction::kMean);
  CHECK(back.settings.mapping == ResizeMapping::kHalfPixel);
  CHECK(back.settings.weight_decay == 5e-4f);
  CHECK(back.settings.adam.lr == st.settings.adam.lr);
  CHECK(back.settings.class_values == st.settings.class_values);
  CHECK(back.settings.class_names == st.settings.class_names);
  CHECK(back.settings.seed == 5);
  CHECK(back.kernel_plan == st.kernel_plan);
  // A CPU run has no kernel plan: nothing is written and nothing comes back.
  st.kernel_plan.clear();
  save_checkpoint(dir + "/cpu.safetensors", st);
  CHECK(read_safetensors(dir + "/cpu.safetensors").metadata.count("kernel_plan") == 0);
  CHECK(load_checkpoint(dir + "/cpu.safetensors").kernel_plan.empty());
  // The tensors are the ones the issue names, conv weights in HWIO.
  SafetensorsFile file = read_safetensors(dir + "/a.safetensors");
  REQUIRE(file.find("conv1.weight") != nullptr);
  CHECK(file.find("conv1.weight")->shape == std::vector<int64_t>{3, 3, 3, 4});
  CHECK(file.find("adam.m.logits.bias") != nullptr);
  CHECK(file.metadata.at("format") == "fcn.cu/1");
  CHECK(file.metadata.at("step") == "17");
}

TEST_CASE("loading refuses missing, foreign and damaged checkpoints with a hint", "[checkpoint]") {
  const std::string dir = test::temp_dir("ckpt_bad");
  CHECK_THROWS_WITH(load_checkpoint(dir + "/missing.safetensors"), Catch::Contains("missing.safetensors"));

  float value = 1.0f;
  write_safetensors(dir + "/foreign.safetensors", {make_f32_tensor("w", {1}, &value)}, {{"format", "pt"}});
  CHECK_THROWS_WITH(load_checkpoint(dir + "/foreign.safetensors"), Catch::Contains("not an fcn.cu checkpoint"));

  CheckpointState st = some_state();
  save_checkpoint(dir + "/good.safetensors", st);
  SafetensorsFile file = read_safetensors(dir + "/good.safetensors");
  file.metadata["model"] = "{not json";
  write_safetensors(dir + "/damaged.safetensors", file.tensors, file.metadata);
  CHECK_THROWS_WITH(load_checkpoint(dir + "/damaged.safetensors"), Catch::Contains("damaged metadata"));

  // Settings outside their ranges are refused by name before anything is allocated (before: undefined
  // behaviour, std::length_error, or a terabyte asked for).
  struct Damage {
    const char* key;
    std::string value;
    const char* needle;
  };
  const std::string model = R"({"in_channels":3,"channels":4,"layers":2,"kernel":3,"classes":1})";
  auto with = [&model](const std::string& from, const std::string& to) {
    std::string m = model;
    m.replace(m.find(from), from.size(), to);
    return m;
  };
  const Damage damages[] = {
      {"model", with("\"channels\":4", "\"channels\":-1"), "model.channels = -1 is outside 1..4096"},
      {"model", with("\"in_channels\":3", "\"in_channels\":1e10"), "model.in_channels is missing or not an integer"},
      {"model", with("\"layers\":2", "\"layers\":2000000000"), "model.layers = 2000000000 is outside 1..64"},
      {"model", with("\"kernel\":3", "\"kernel\":4"), "model.kernel = 4 is not odd"},
      {"model", with("\"channels\":4", "\"channels\":4096"), "needs"},  // fits the ranges, not the file
      {"model", "[" + model + "]", "model.in_channels is missing"},
      {"step", "99999999999999999999", "\"step\" is not an integer"},
      {"step", "12abc", "\"step\" is not an integer"},
      {"batch", "0", "\"batch\" = 0 is outside 1..1048576"},
      {"adam", R"({"lr":1e400,"beta1":0.9,"beta2":0.999,"eps":1e-8})", "\"adam\" is a number out of range"},
      // Finite doubles but infinite floats: loaded as inf before (fuzz_checkpoint's check of the settings).
      {"adam", R"({"lr":1e39,"beta1":0.9,"beta2":0.999,"eps":1e-8})", "adam.lr = 1e+39 is outside a float's range"},
      {"weight_decay", "-1e300", "\"weight_decay\" = -1e+300 is outside a float's range"},
      {"weight_decay", "NaN", "\"weight_decay\" is not valid JSON"},
      {"class_values", "[300]", "class 0 is not a pixel value 0..255"},
      {"class_names", "[\"car\", \"bus\"]", "not two arrays of the same length"},
      {"loader", R"({"train_samples_produced":-5})", "loader.train_samples_produced = -5 is outside"},
      {"resize", "sideways", "unknown resize mapping"},
  };
  for (const Damage& d : damages) {
    INFO(d.key << " = " << d.value);
    SafetensorsFile changed = read_safetensors(dir + "/good.safetensors");
    changed.metadata[d.key] = d.value;
    write_safetensors(dir + "/damaged.safetensors", changed.tensors, changed.metadata);
    CHECK_THROWS_WITH(load_checkpoint(dir + "/damaged.safetensors"),
                      Catch::Contains("damaged metadata") && Catch::Contains(d.needle) && Catch::Contains("HINT"));
  }

  // A run folder instead of its checkpoint (was std::bad_alloc): named, with the file to pass.
  save_checkpoint(dir + "/latest.safetensors", st);
  CHECK_THROWS_WITH(load_checkpoint(dir), Catch::Contains("is a directory") &&
                                              Catch::Contains(dir + "/latest.safetensors"));

  // A truncated file (a crash can't produce one, a bad copy can).
  std::filesystem::resize_file(dir + "/good.safetensors", 100);
  CHECK_THROWS(load_checkpoint(dir + "/good.safetensors"));
}

TEST_CASE("a non-finite state is never written, and a file holding one is never loaded", "[checkpoint]") {
  const std::string dir = test::temp_dir("ckpt_nan");
  CheckpointState st = some_state();
  CHECK(first_non_finite(st).empty());
  save_checkpoint(dir + "/latest.safetensors", st);
  const std::string good_bytes = read_file_bytes(dir + "/latest.safetensors");

  const std::vector<TensorInfo> layout = parameter_layout(st.settings.model);
  const TensorInfo& last = layout.back();
  CheckpointState nan_param = st;
  nan_param.params[size_t(last.offset + 0)] = NAN;
  CHECK(first_non_finite(nan_param) == last.name + "[0] = nan");
  CheckpointState inf_moment = st;
  inf_moment.adam_v[size_t(layout[0].offset + 5)] = -INFINITY;
  CHECK(first_non_finite(inf_moment) == "adam.v." + layout[0].name + "[5] = -inf");

  for (const CheckpointState* bad : {&nan_param, &inf_moment}) {
    CHECK_THROWS_WITH(save_checkpoint(dir + "/latest.safetensors", *bad),
                      Catch::Contains("not writing checkpoint") && Catch::Contains("diverged") &&
                          Catch::Contains("HINT"));
    CHECK(read_file_bytes(dir + "/latest.safetensors") == good_bytes);  // the good one is untouched
  }

  // Written by hand (as another tool could): the loader refuses it by name.
  SafetensorsFile file = read_safetensors(dir + "/latest.safetensors");
  for (SafetensorsTensor& t : file.tensors) {
    if (t.name != "adam.m." + layout[0].name) continue;
    const float nan = NAN;
    std::memcpy(t.bytes.data() + 8, &nan, sizeof nan);
  }
  write_safetensors(dir + "/nan.safetensors", file.tensors, file.metadata);
  CHECK_THROWS_WITH(load_checkpoint(dir + "/nan.safetensors"),
                    Catch::Contains("holds the state of a diverged run: adam.m." + layout[0].name + "[2] = nan") &&
                        Catch::Contains("HINT"));
}

TEST_CASE("check_resume_compatible names the setting that differs", "[checkpoint]") {
  RunSettings a = tiny_settings();
  RunSettings b = a;
  CHECK_NOTHROW(check_resume_compatible(a, b, "x.safetensors"));
  b.model.channels = 8;
  CHECK_THROWS_WITH(check_resume_compatible(a, b, "x.safetensors"), Catch::Contains("model"));
  b = a;
  b.size = 32;
  CHECK_THROWS_WITH(check_resume_compatible(a, b, "x.safetensors"), Catch::Contains("size"));
}

TEST_CASE("resuming from a checkpoint continues bit-identically", "[checkpoint][resume]") {
  const std::string dir = test::temp_dir("resume");
  TrainOptions o;
  o.export_path = test::write_tiny_export(dir, 12);
  o.settings = tiny_settings();
  o.device = "cpu";
  o.threads = 2;
  o.loader_threads = 2;
  o.eval_every = 3;
  o.save_every = 3;
  o.log_images = 1;
  o.quiet = true;

  o.steps = 7;
  o.run_dir = dir + "/straight";
  run_training(o);

  o.steps = 3;
  o.run_dir = dir + "/stopped";
  run_training(o);
  o.steps = 7;
  o.resume = dir + "/stopped/checkpoints/step-0000003.safetensors";
  run_training(o);

  CheckpointState straight = load_checkpoint(dir + "/straight/latest.safetensors");
  CheckpointState resumed = load_checkpoint(dir + "/stopped/latest.safetensors");
  CHECK(resumed.step == 7);
  CHECK(straight.params == resumed.params);  // bit-identical
  CHECK(straight.adam_m == resumed.adam_m);
  CHECK(straight.adam_v == resumed.adam_v);
  CHECK(straight.train_samples_produced == resumed.train_samples_produced);
  // The train losses logged after the resume equal the straight run's for the same steps.
  std::map<int64_t, double> straight_loss, resumed_loss;
  for (const auto& line : metrics_lines(dir + "/straight")) {
    auto j = nlohmann::json::parse(line);
    if (j["split"] == "train") straight_loss[j["step"]] = j["loss"];
  }
  for (const auto& line : metrics_lines(dir + "/stopped")) {
    auto j = nlohmann::json::parse(line);
    if (j["split"] == "train") resumed_loss[j["step"]] = j["loss"];
  }
  REQUIRE(resumed_loss.size() == 7);
  CHECK(straight_loss == resumed_loss);
}

TEST_CASE("a resume with another model shape is refused before anything is written", "[checkpoint][resume]") {
  const std::string dir = test::temp_dir("resume_shape");
  TrainOptions o;
  o.export_path = test::write_tiny_export(dir, 6);
  o.settings = tiny_settings();
  o.device = "cpu";
  o.threads = 1;
  o.steps = 1;
  o.quiet = true;
  o.run_dir = dir + "/a";
  run_training(o);
  o.settings.model.channels = 8;
  o.steps = 2;
  o.run_dir = dir + "/b";
  o.resume = dir + "/a/latest.safetensors";
  CHECK_THROWS_WITH(run_training(o), Catch::Contains("model"));
  CHECK_FALSE(std::filesystem::exists(dir + "/b"));
}
