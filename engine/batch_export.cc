// BatchExporter (see batch_export.h).
#include "engine/batch_export.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "engine/safetensors.h"
#include "io/loader.h"

namespace fcn {

static std::FILE* open_or_throw(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path + "\nHINT: check that the folder is writable");
  return f;
}

void BatchExporter::append(std::FILE* file, Backend& backend, const float* src, int64_t count) {
  std::vector<float> host(count);
  backend.download(host.data(), src, count);
  if (std::fwrite(host.data(), sizeof(float), host.size(), file) != host.size()) {
    throw std::runtime_error("writing exported batches to " + dir_ + " failed\nHINT: is the disk full?");
  }
}

BatchExporter::BatchExporter(const std::string& dir, const TrainOptions& options, Model& model,
                             Backend& backend, Loader& loader)
    : dir_(dir), options_(options) {
  const RunSettings& s = options.settings;
  std::filesystem::create_directories(dir);
  const auto params = model.get_params();
  std::vector<SafetensorsTensor> tensors;
  for (const TensorInfo& t : model.layout()) tensors.push_back(make_f32_tensor(t.name, t.shape, &params[t.offset]));
  write_safetensors(dir + "/init.safetensors", tensors);

  const int64_t pixels = int64_t(s.size) * s.size;
  std::FILE* test_x = open_or_throw(dir + "/test_x.f32");
  std::FILE* test_t = open_or_throw(dir + "/test_t.f32");
  loader.begin_test();
  while (const RawBatch* batch = loader.next_test()) {
    backend.prepare_batch(model.input(), model.targets(), *batch, s.size, s.class_values, s.mapping,
                          s.nearest_targets);
    append(test_x, backend, model.input(), batch->count * pixels * 3);
    append(test_t, backend, model.targets(), batch->count * pixels * s.model.classes);
    test_images_ += batch->count;
  }
  std::fclose(test_x);
  std::fclose(test_t);
  train_x_ = open_or_throw(dir + "/train_x.f32");
  train_t_ = open_or_throw(dir + "/train_t.f32");
}

void BatchExporter::add_train_batch(Backend& backend, Model& model, int batch) {
  const RunSettings& s = options_.settings;
  if (batch != s.batch) throw std::logic_error("exported train batches must be full");
  const int64_t pixels = int64_t(batch) * s.size * s.size;
  append(train_x_, backend, model.input(), pixels * 3);
  append(train_t_, backend, model.targets(), pixels * s.model.classes);
  ++steps_;
}

BatchExporter::~BatchExporter() {
  if (train_x_) std::fclose(train_x_);
  if (train_t_) std::fclose(train_t_);
  const RunSettings& s = options_.settings;
  nlohmann::json meta = {{"batch", s.batch},
                         {"size", s.size},
                         {"classes", s.model.classes},
                         {"channels", s.model.channels},
                         {"layers", s.model.layers},
                         {"kernel", s.model.kernel},
                         {"steps", steps_},
                         {"test_images", test_images_},
                         {"lr", s.adam.lr},
                         {"beta1", s.adam.beta1},
                         {"beta2", s.adam.beta2},
                         {"eps", s.adam.eps},
                         {"reduction", reduction_name(s.reduction)},
                         {"eval_every", options_.eval_every},
                         {"seed", s.seed}};
  std::ofstream(dir_ + "/meta.json") << meta.dump(2) << "\n";
}

}  // namespace fcn
