// Seeds of tfrecord_index and tfrecord_read: plain, GZIP and ZLIB files of small records (Examples among
// them), and the ways such files break: cuts in a header, a payload or the compressed stream, bad CRCs,
// a damaged deflate stream, a plain header that starts like the gzip magic.
#include <filesystem>
#include <string>
#include <vector>

#include "io/crc32c.h"
#include "io/tfrecord.h"
#include "tests/compress_test_util.h"
#include "tests/io_test_util.h"
#include "tests/fuzz/seeds/seeds.h"

namespace fcn::seeds {
namespace {

// The bytes of a plain TFRecord file holding `payloads`, as TfRecordWriter writes them.
std::string tfrecord_bytes(const SeedWriter& out, const std::vector<std::string>& payloads) {
  const std::string path = out.scratch("records.tfrecord");
  TfRecordWriter writer(path);
  for (const std::string& p : payloads) writer.write(p);
  writer.close();
  std::string bytes = read_file(path);
  std::filesystem::remove(path);
  return bytes;
}

}  // namespace

void write_tfrecord_seeds(const SeedWriter& out) {
  std::vector<std::string> examples;
  for (int i = 0; i < 3; ++i) examples.push_back(encode_example(test::valid_fields(4 + i, 3 + i, i)));
  const std::string three = tfrecord_bytes(out, examples);
  const std::string small = tfrecord_bytes(out, {"hello", "", std::string(40, 'x')});
  // A plain record 35615 bytes long: its header starts with 1f 8b, the gzip magic (cut after the header).
  std::string gzip_like(12, '\0');
  const uint64_t length = 35615;
  for (int i = 0; i < 8; ++i) gzip_like[size_t(i)] = char(length >> (8 * i));
  const uint32_t crc = crc32c_mask(crc32c(gzip_like.data(), 8));
  for (int i = 0; i < 4; ++i) gzip_like[size_t(8 + i)] = char(crc >> (8 * i));

  const std::string gz = test::gzip_bytes(three);
  const std::string zl = test::zlib_bytes(three);
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"empty", ""},
      {"valid_examples", three},
      {"valid_small_and_empty_records", small},
      {"valid_examples.gz", gz},
      {"valid_examples.zlib", zl},
      {"valid_two_gzip_members.gz", test::gzip_bytes(cut(small, 21)) + test::gzip_bytes(small.substr(21))},
      {"valid_stored_deflate.zlib", test::deflate_bytes(small, test::Wrapper::kZlib, 0)},
      {"broken_cut_in_header", cut(three, 7)},
      {"broken_cut_in_payload", cut(three, three.size() - 9)},
      {"broken_length_crc", flipped(small, 9)},
      {"broken_payload_crc", flipped(small, 13)},
      {"broken_footer_crc", flipped(small, -1)},
      {"broken_gzip_cut.gz", cut(gz, gz.size() - 10)},
      {"broken_gzip_flipped.gz", flipped(gz, long(gz.size() / 2))},
      {"broken_zlib_adler.zlib", flipped(zl, -2)},
      {"broken_gzip_trailing_garbage.gz", gz + "garbage"},
      {"broken_plain_header_like_gzip", gzip_like},
  };
  for (const auto& [name, bytes] : seeds) {
    out.put("tfrecord_index", name, bytes);
    out.put("tfrecord_read", name, bytes);
  }
}

}  // namespace fcn::seeds
