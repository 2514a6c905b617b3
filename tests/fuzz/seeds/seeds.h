// make_seeds (tests/fuzz/seeds): writes the committed seed corpora, tests/fuzz/corpus/<harness>/, a few
// valid inputs made with the project's own writers and a few broken ones, each named for what it is.
// One file per family of inputs; each family's function writes its harnesses' folders.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

namespace fcn::seeds {

// Writes files into <root>/<harness>/, creating the folders.
class SeedWriter {
 public:
  explicit SeedWriter(std::string root) : root_(std::move(root)) {}
  void put(const std::string& harness, const std::string& name, const std::string& bytes) const;
  // A scratch path under <root> for writers that take a path (removed by the caller).
  std::string scratch(const std::string& name) const { return root_ + "/." + name; }

 private:
  std::string root_;
};

// `bytes` with the byte at `index` inverted (index counted from the end when negative).
std::string flipped(std::string bytes, long index);
// The first `size` bytes of `bytes`.
std::string cut(const std::string& bytes, size_t size);

void write_tfrecord_seeds(const SeedWriter& out);     // tfrecord_index, tfrecord_read
void write_image_seeds(const SeedWriter& out);        // image, example
void write_text_seeds(const SeedWriter& out);         // manifest, kernel_plan
void write_safetensors_seeds(const SeedWriter& out);  // safetensors, checkpoint

}  // namespace fcn::seeds
