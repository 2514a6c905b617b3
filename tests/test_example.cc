// tf.train.Example: wire format (packed and unpacked lists, negative int64), the seed's schema round
// trip, channel handling of images and labels, and a DataError naming the record for every bad input.
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "io/example.h"
#include "io/tfrecord.h"
#include "io_test_util.h"
#include "proto/example.pb.h"

using namespace fcn;
using namespace fcn::test;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

namespace {

const ExampleContext kWhere{"/data/train-00003.tfrecord", 7, 123456};

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Serialized Example from an edit of valid_fields() at the protobuf level.
std::string edited_example(const std::function<void(tensorflow::Example&)>& edit) {
  tensorflow::Example example;
  REQUIRE(example.ParseFromString(encode_example(valid_fields())));
  edit(example);
  return example.SerializeAsString();
}

// Expects decode_example to throw kInvalid naming kWhere and containing `needle`.
void expect_invalid(const std::string& serialized, const std::string& needle, const DecodeLimits& limits = {}) {
  try {
    decode_example(serialized, kWhere, limits);
    FAIL("decoded without error; expected: " << needle);
  } catch (const DataError& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(e.kind() == DataError::Kind::kInvalid);
    CHECK(e.record() == 7);
    CHECK(e.offset() == 123456);
    CHECK(e.file() == kWhere.file);
    CHECK(message.find("record 7 at byte offset 123456 in /data/train-00003.tfrecord") != std::string::npos);
    CHECK(message.find(needle) != std::string::npos);
    CHECK(message.find("\nHINT: ") != std::string::npos);
  }
}

// Writes one map entry of Features by hand: key and a Feature given as raw bytes.
void write_entry(CodedOutputStream& out, const std::string& key, const std::string& feature_bytes) {
  std::string entry;
  {
    StringOutputStream s(&entry);
    CodedOutputStream e(&s);
    e.WriteTag(1 << 3 | 2);  // key, length-delimited
    e.WriteVarint32(uint32_t(key.size()));
    e.WriteString(key);
    e.WriteTag(2 << 3 | 2);  // value (Feature), length-delimited
    e.WriteVarint32(uint32_t(feature_bytes.size()));
    e.WriteString(feature_bytes);
  }
  out.WriteTag(1 << 3 | 2);  // Features.feature
  out.WriteVarint32(uint32_t(entry.size()));
  out.WriteString(entry);
}

// Feature{int64_list{value: v...}} with each value as its own (unpacked) varint field.
std::string unpacked_int64_feature(const std::vector<int64_t>& values) {
  std::string list;
  {
    StringOutputStream s(&list);
    CodedOutputStream c(&s);
    for (int64_t v : values) {
      c.WriteTag(1 << 3 | 0);  // Int64List.value, varint
      c.WriteVarint64(uint64_t(v));
    }
  }
  std::string feature;
  {
    StringOutputStream s(&feature);
    CodedOutputStream c(&s);
    c.WriteTag(3 << 3 | 2);  // Feature.int64_list
    c.WriteVarint32(uint32_t(list.size()));
    c.WriteString(list);
  }
  return feature;
}

}  // namespace

TEST_CASE("example: packed encodings are TensorFlow's bytes", "[io][example]") {
  tensorflow::Int64List ints;
  ints.add_value(1);
  ints.add_value(300);
  CHECK(hex(ints.SerializeAsString()) == "0a03" "01" "ac02");  // tag 1 LEN, 3 bytes: 1, 300

  tensorflow::Int64List negative;
  negative.add_value(-1);
  // -1 as int64 is a 10-byte varint: nine 0xff and a final 0x01.
  CHECK(hex(negative.SerializeAsString()) == "0a0a" "ffffffffffffffffff01");

  tensorflow::FloatList floats;
  floats.add_value(1.0f);
  floats.add_value(-2.5f);
  CHECK(hex(floats.SerializeAsString()) == "0a08" "0000803f" "000020c0");

  tensorflow::BytesList bytes;
  bytes.add_value("ab");
  bytes.add_value("");
  CHECK(hex(bytes.SerializeAsString()) == "0a026162" "0a00");
}

TEST_CASE("example: unpacked lists parse to the same values", "[io][example]") {
  // FloatList with two unpacked fixed32 fields.
  std::string unpacked_floats("\x0d\x00\x00\x80\x3f\x0d\x00\x00\x20\xc0", 10);
  tensorflow::FloatList floats;
  REQUIRE(floats.ParseFromString(unpacked_floats));
  REQUIRE(floats.value_size() == 2);
  CHECK(floats.value(0) == 1.0f);
  CHECK(floats.value(1) == -2.5f);

  tensorflow::Feature feature;
  REQUIRE(feature.ParseFromString(unpacked_int64_feature({5, -7, INT64_MIN, INT64_MAX})));
  REQUIRE(feature.kind_case() == tensorflow::Feature::kInt64List);
  REQUIRE(feature.int64_list().value_size() == 4);
  CHECK(feature.int64_list().value(0) == 5);
  CHECK(feature.int64_list().value(1) == -7);
  CHECK(feature.int64_list().value(2) == INT64_MIN);
  CHECK(feature.int64_list().value(3) == INT64_MAX);

  // A whole record with unpacked int64 features, built by hand, decodes like the packed one.
  ExampleFields fields = valid_fields(6, 5);
  std::string features;
  {
    StringOutputStream s(&features);
    CodedOutputStream out(&s);
    auto bytes_feature = [](const std::string& value) {
      tensorflow::Feature f;
      f.mutable_bytes_list()->add_value(value);
      return f.SerializeAsString();
    };
    write_entry(out, "image/encoded", bytes_feature(fields.image_encoded));
    write_entry(out, "image/filename", bytes_feature(fields.filename));
    write_entry(out, "image/ID", bytes_feature(fields.id));
    write_entry(out, "image/format", bytes_feature("png"));
    write_entry(out, "image/colorspace", bytes_feature("RGB"));
    write_entry(out, "image/segmentation/class/format", bytes_feature("png"));
    write_entry(out, "image/segmentation/class/encoded", bytes_feature(fields.label_encoded));
    write_entry(out, "image/height", unpacked_int64_feature({6}));
    write_entry(out, "image/width", unpacked_int64_feature({5}));
    write_entry(out, "image/channels", unpacked_int64_feature({3}));
  }
  std::string example;
  {
    StringOutputStream s(&example);
    CodedOutputStream out(&s);
    out.WriteTag(1 << 3 | 2);  // Example.features
    out.WriteVarint32(uint32_t(features.size()));
    out.WriteString(features);
  }
  Sample sample = decode_example(example, kWhere);
  CHECK(sample.height == 6);
  CHECK(sample.width == 5);
  CHECK(sample.id == fields.id);
  CHECK(sample.rgb == pattern_rgb(6, 5));
}

TEST_CASE("example: encode then decode gives the sample back", "[io][example]") {
  ExampleFields fields = valid_fields(6, 5, 3);
  std::string serialized = encode_example(fields);
  CHECK(serialized == encode_example(fields));  // deterministic bytes

  tensorflow::Example parsed;
  REQUIRE(parsed.ParseFromString(serialized));
  const auto& map = parsed.features().feature();
  CHECK(map.size() == 10);
  CHECK(map.at("image/colorspace").bytes_list().value(0) == "RGB");
  CHECK(map.at("image/segmentation/class/format").bytes_list().value(0) == "png");
  CHECK(map.at("image/channels").int64_list().value(0) == 3);

  Sample sample = decode_example(serialized, kWhere);
  CHECK(sample.height == 6);
  CHECK(sample.width == 5);
  CHECK(sample.rgb == pattern_rgb(6, 5, 3));
  CHECK(sample.label == box_label(6, 5, 1, 5, 1, 4, 1));
  CHECK(sample.id == "ck3");
  CHECK(sample.filename == "img_3.png");
  CHECK(sample.format == "png");
  CHECK(sample.channels == 3);
  CHECK(sample.record_index == 7);
}

TEST_CASE("example: images become RGB, labels one channel", "[io][example]") {
  const int h = 4, w = 3;
  ExampleFields fields = valid_fields(h, w);

  SECTION("gray image is expanded") {
    std::vector<uint8_t> gray = box_label(h, w, 0, 2, 0, 3, 77);
    fields.image_encoded = encode_png(gray.data(), h, w, 1);
    fields.channels = 1;
    Sample s = decode_example(encode_example(fields), kWhere);
    CHECK(s.channels == 1);
    for (int i = 0; i < h * w; ++i) {
      CHECK(s.rgb[3 * i] == gray[i]);
      CHECK(s.rgb[3 * i + 2] == gray[i]);
    }
  }
  SECTION("RGBA image loses alpha") {
    std::vector<uint8_t> rgb = pattern_rgb(h, w), rgba;
    for (int i = 0; i < h * w; ++i) rgba.insert(rgba.end(), {rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], uint8_t(i)});
    fields.image_encoded = encode_png(rgba.data(), h, w, 4);
    CHECK(decode_example(encode_example(fields), kWhere).rgb == rgb);
  }
  SECTION("JPEG image") {
    std::vector<uint8_t> rgb = pattern_rgb(h, w);
    fields.image_encoded = encode_jpeg(rgb.data(), h, w, 3, 90);
    fields.image_format = "jpeg";
    Sample s = decode_example(encode_example(fields), kWhere);
    CHECK(s.format == "jpeg");
    CHECK(s.rgb.size() == size_t(h) * w * 3);
  }
  SECTION("paletted label: class value is the first channel of the palette colour") {
    std::vector<uint8_t> palette = {0, 0, 0, 1, 200, 50, 2, 10, 255};
    std::string rows = {0, 1, 2, 1, 1, 0, 2, 2, 2, 0, 0, 1};  // [4, 3] indices
    fields.label_encoded = handmade_png(w, h, 8, 3, rows, palette);
    Sample s = decode_example(encode_example(fields), kWhere);
    CHECK(s.label == std::vector<uint8_t>(rows.begin(), rows.end()));
  }
  SECTION("RGB label: first channel") {
    std::vector<uint8_t> label_rgb(size_t(h) * w * 3, 99), expected(size_t(h) * w);
    for (int i = 0; i < h * w; ++i) expected[i] = label_rgb[3 * i] = uint8_t(i % 3);
    fields.label_encoded = encode_png(label_rgb.data(), h, w, 3);
    CHECK(decode_example(encode_example(fields), kWhere).label == expected);
  }
  SECTION("gray + alpha label: the gray values") {
    std::vector<uint8_t> ga(size_t(h) * w * 2, 255), expected(size_t(h) * w);
    for (int i = 0; i < h * w; ++i) expected[i] = ga[2 * i] = uint8_t(i % 2);
    fields.label_encoded = encode_png(ga.data(), h, w, 2);
    CHECK(decode_example(encode_example(fields), kWhere).label == expected);
  }
}

TEST_CASE("example: every bad input is a DataError naming the record and feature", "[io][example]") {
  const std::vector<std::string> keys = {
      "image/encoded", "image/filename", "image/ID", "image/format", "image/colorspace",
      "image/segmentation/class/format", "image/height", "image/width", "image/channels",
      "image/segmentation/class/encoded"};
  for (const std::string& key : keys) {
    SECTION("missing " + key) {
      expect_invalid(edited_example([&](tensorflow::Example& e) { e.mutable_features()->mutable_feature()->erase(key); }),
                     "missing feature '" + key + "'");
    }
  }
  SECTION("bytes feature stored as int64_list") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     (*e.mutable_features()->mutable_feature())["image/encoded"].mutable_int64_list()->add_value(1);
                   }),
                   "feature 'image/encoded' is int64_list, expected bytes_list");
  }
  SECTION("int64 feature stored as float_list") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     (*e.mutable_features()->mutable_feature())["image/height"].mutable_float_list()->add_value(6);
                   }),
                   "feature 'image/height' is float_list, expected int64_list");
  }
  SECTION("feature with no list set") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     (*e.mutable_features()->mutable_feature())["image/ID"].Clear();
                   }),
                   "feature 'image/ID' is empty");
  }
  SECTION("two values where one is expected") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     (*e.mutable_features()->mutable_feature())["image/width"].mutable_int64_list()->add_value(5);
                   }),
                   "'image/width' holds 2 values");
  }
  SECTION("unparseable protobuf") {
    expect_invalid(std::string("\x0a\xff\xff\xff\xff\x0f garbage", 14), "not a valid tf.train.Example");
    std::string valid = encode_example(valid_fields());
    expect_invalid(valid.substr(0, valid.size() / 2), "not a valid tf.train.Example");
  }
  SECTION("image bytes that are no image") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     (*e.mutable_features()->mutable_feature())["image/encoded"].mutable_bytes_list()->set_value(0, "xyz");
                   }),
                   "feature 'image/encoded' cannot be decoded");
  }
  SECTION("label bytes cut short") {
    expect_invalid(edited_example([](tensorflow::Example& e) {
                     auto& list = *(*e.mutable_features()->mutable_feature())["image/segmentation/class/encoded"]
                                       .mutable_bytes_list();
                     list.set_value(0, list.value(0).substr(0, 40));
                   }),
                   "feature 'image/segmentation/class/encoded' cannot be decoded");
  }
  SECTION("label size differs from the image") {
    ExampleFields fields = valid_fields(6, 5);
    std::vector<uint8_t> label(6 * 4, 1);
    fields.label_encoded = encode_png(label.data(), 6, 4, 1);
    expect_invalid(encode_example(fields), "is 4x6 but the image is 5x6");
  }
  SECTION("height feature differs from the decoded image") {
    ExampleFields fields = valid_fields(6, 5);
    fields.height = 7;
    expect_invalid(encode_example(fields), "say 5x7");
  }
  SECTION("negative width feature") {
    ExampleFields fields = valid_fields(6, 5);
    fields.width = -5;
    expect_invalid(encode_example(fields), "say -5x6");
  }
  SECTION("over the pixel limit") {
    DecodeLimits limits;
    limits.max_pixels = 29;  // the image is 6x5 = 30 pixels
    expect_invalid(encode_example(valid_fields(6, 5)), "over the limit of 29 pixels", limits);
  }
  SECTION("16-bit label") {
    ExampleFields fields = valid_fields(1, 2);
    fields.label_encoded = handmade_png(2, 1, 16, 0, std::string("\x00\x01\x00\x00", 4));
    expect_invalid(encode_example(fields), "16-bit");
  }
  SECTION("channels out of range") {
    ExampleFields fields = valid_fields();
    fields.channels = 0;
    expect_invalid(encode_example(fields), "'image/channels' is 0");
  }
}

TEST_CASE("example: random damage to a record is a DataError or a valid sample, never a crash", "[io][example]") {
  const std::string valid = encode_example(valid_fields(6, 5));
  std::mt19937 rng(99);
  int rejected = 0, accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string damaged = valid;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % damaged.size();
      switch (rng() % 3) {
        case 0: damaged[at] = char(damaged[at] ^ (1 << (rng() % 8))); break;  // bit flip
        case 1: damaged[at] = char(rng()); break;                            // byte replaced
        default: damaged.resize(at); break;                                  // cut short
      }
      if (damaged.empty()) break;
    }
    try {
      Sample s = decode_example(damaged, kWhere);
      // Accepted damage (e.g. inside a string value or PNG ancillary bytes) still gives a consistent sample.
      REQUIRE(s.rgb.size() == size_t(s.height) * s.width * 3);
      REQUIRE(s.label.size() == size_t(s.height) * s.width);
      ++accepted;
    } catch (const DataError& e) {
      REQUIRE(e.kind() == DataError::Kind::kInvalid);
      REQUIRE(e.record() == 7);
      ++rejected;
    }
  }
  CHECK(rejected > 1000);  // most damage must be caught (PNG chunk CRCs are not checked by stb_image)
  INFO("accepted " << accepted << " damaged records");
}
