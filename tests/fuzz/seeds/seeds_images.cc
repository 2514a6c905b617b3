// Seeds of image and example: small PNG (gray, gray + alpha, RGB, RGBA, paletted, 1- and 16-bit), JPEG
// (baseline, gray, progressive, CMYK), GIF and BMP images, and Example records built from them; the broken
// ones are cut files, lying or impossible headers, images over the harnesses' pixel limits, and records
// with a feature missing, of the wrong kind, repeated, or disagreeing with the image.
#include <functional>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <stb_image_write.h>

#include "io/example.h"
#include "io/image_codec.h"
#include "proto/example.pb.h"
#include "tests/fuzz/seeds/seeds.h"
#include "tests/io_test_util.h"
#include "tests/jpeg_test_util.h"

namespace fcn::seeds {
namespace {

// A GIF89a of 2 x 2 pixels from a 2-colour table. The LZW codes (3 bits each) put a clear code before every
// pixel, so the code table never grows and the stream can be written by hand.
std::string tiny_gif() {
  std::string gif = test::gif_header_only(2, 2);
  gif[10] = char(0x80);                     // a global colour table of 2 entries
  gif += std::string("\x10\x20\x30\xf0\xe0\xd0", 6);
  gif += std::string("\x2c\0\0\0\0\x02\0\x02\0\0", 10);  // image descriptor: 2 x 2 at (0, 0)
  gif += char(2);                                         // LZW minimum code size: clear 4, end 5
  const int codes[] = {4, 0, 4, 1, 4, 1, 4, 0, 5};
  std::string packed;
  unsigned bits = 0, count = 0;
  for (int code : codes) {
    bits |= unsigned(code) << count;
    count += 3;
    while (count >= 8) {
      packed += char(bits & 0xFF);
      bits >>= 8;
      count -= 8;
    }
  }
  if (count > 0) packed += char(bits & 0xFF);
  gif += char(packed.size()) + packed + '\0';
  return gif + '\x3b';
}

std::string stb_bmp(const std::vector<uint8_t>& pixels, int width, int height, int channels) {
  std::string bytes;
  stbi_write_bmp_to_func(
      [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
      },
      &bytes, width, height, channels, pixels.data());
  return bytes;
}

// [h, w, channels] samples with a different value per pixel and channel.
std::vector<uint8_t> pattern(int height, int width, int channels) {
  std::vector<uint8_t> v(size_t(height) * width * channels);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(i * 29 + 7);
  return v;
}

// A record from `fields` with `change` applied to its features.
std::string changed_example(const ExampleFields& fields, const std::function<void(tensorflow::Features&)>& change) {
  tensorflow::Example example;
  example.ParseFromString(encode_example(fields));
  change(*example.mutable_features());
  std::string serialized;  // map entries sorted by key, as encode_example writes them: the same bytes each run
  {
    google::protobuf::io::StringOutputStream stream(&serialized);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    example.SerializeToCodedStream(&coded);
  }
  return serialized;
}

void write_image_files(const SeedWriter& out, std::string* jpeg, std::string* gif, std::string* bmp) {
  const int h = 6, w = 5;
  const std::string rows_gray(size_t(h) * w, '\x40');
  const std::string png_rgb = encode_png(pattern(h, w, 3).data(), h, w, 3);
  *jpeg = test::libjpeg_bytes(pattern(h, w, 3), h, w, 3, JCS_RGB, false);
  *gif = tiny_gif();
  *bmp = stb_bmp(pattern(h, w, 3), w, h, 3);
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"valid_png_rgb.png", png_rgb},
      {"valid_png_gray.png", encode_png(pattern(h, w, 1).data(), h, w, 1)},
      {"valid_png_gray_alpha.png", encode_png(pattern(h, w, 2).data(), h, w, 2)},
      {"valid_png_rgba.png", encode_png(pattern(h, w, 4).data(), h, w, 4)},
      {"valid_png_paletted.png", test::handmade_png(w, h, 8, 3, std::string(size_t(h) * w, '\1'),
                                                    {0, 0, 0, 200, 100, 50})},
      {"valid_png_16bit.png", test::handmade_png(w, h, 16, 0, std::string(size_t(h) * w * 2, '\x11'))},
      {"valid_png_1bit.png", test::handmade_png(w, h, 1, 0, std::string(size_t(h), '\xa0'))},
      {"valid_jpeg_stb.jpg", encode_jpeg(pattern(h, w, 3).data(), h, w, 3, 90)},
      {"valid_jpeg_rgb.jpg", *jpeg},
      {"valid_jpeg_gray.jpg", test::libjpeg_bytes(pattern(h, w, 1), h, w, 1, JCS_GRAYSCALE, false)},
      {"valid_jpeg_progressive.jpg", test::libjpeg_bytes(pattern(h, w, 3), h, w, 3, JCS_RGB, true)},
      {"valid_jpeg_cmyk.jpg", test::libjpeg_bytes(pattern(h, w, 4), h, w, 4, JCS_CMYK, false)},
      {"valid_gif.gif", *gif},
      {"valid_bmp_24bit.bmp", *bmp},
      {"valid_bmp_32bit.bmp", stb_bmp(pattern(h, w, 4), w, h, 4)},
      {"broken_png_over_pixel_limit.png", test::png_header_only(2000, 2000, 8, 2)},
      {"broken_png_colour_type_5.png", test::png_header_only(4, 4, 8, 5)},
      {"broken_png_cut.png", cut(png_rgb, png_rgb.size() / 2)},
      {"broken_jpeg_cut.jpg", cut(*jpeg, jpeg->size() * 2 / 3)},
      {"broken_jpeg_markers_only.jpg", cut(*jpeg, 20)},
      {"broken_gif_header_only.gif", test::gif_header_only(3, 3)},
      {"broken_bmp_header_only.bmp", test::bmp_header_only(4, -4, 24)},
      {"broken_bmp_zero_width.bmp", test::bmp_header_only(0, 4, 24)},
      {"broken_not_an_image", "not an image at all"},
  };
  for (const auto& [name, bytes] : seeds) out.put("image", name, bytes);
}

}  // namespace

void write_image_seeds(const SeedWriter& out) {
  std::string jpeg, gif, bmp;
  write_image_files(out, &jpeg, &gif, &bmp);

  const ExampleFields png = test::valid_fields(6, 5, 0);
  // The record of `png` with `change` made to its fields.
  auto record = [&png](const std::function<void(ExampleFields&)>& change) {
    ExampleFields fields = png;
    change(fields);
    return encode_example(fields);
  };
  const std::string valid = encode_example(png);
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"valid_png", valid},
      {"valid_jpeg", record([&](ExampleFields& f) { f.image_encoded = jpeg; f.image_format = "jpeg"; })},
      {"valid_gray_image", record([](ExampleFields& f) {
         f.image_encoded = encode_png(pattern(6, 5, 1).data(), 6, 5, 1);
         f.channels = 1;
       })},
      {"valid_gif_image", record([&](ExampleFields& f) {  // the GIF is 2 x 2
         f = test::valid_fields(2, 2, 1);
         f.image_encoded = gif;
         f.image_format = "gif";
       })},
      {"valid_bmp_image", record([&](ExampleFields& f) { f.image_encoded = bmp; f.image_format = "bmp"; })},
      {"valid_paletted_label", record([](ExampleFields& f) {
         f.label_encoded = test::handmade_png(5, 6, 8, 3, std::string(30, '\1'), {0, 0, 0, 1, 1, 1});
       })},
      {"valid_rgb_label",
       record([](ExampleFields& f) { f.label_encoded = encode_png(pattern(6, 5, 3).data(), 6, 5, 3); })},
      {"broken_label_16bit",
       record([](ExampleFields& f) { f.label_encoded = test::handmade_png(5, 6, 16, 0, std::string(60, '\0')); })},
      {"broken_height_disagrees", record([](ExampleFields& f) { f.height = 7; })},
      {"broken_label_size",
       record([](ExampleFields& f) { f.label_encoded = encode_png(pattern(5, 5, 1).data(), 5, 5, 1); })},
      {"broken_over_pixel_limit",
       record([](ExampleFields& f) { f.image_encoded = test::png_header_only(300, 300, 8, 2); })},
      {"broken_not_an_image", record([](ExampleFields& f) { f.image_encoded = "not an image"; })},
      {"broken_five_channels", record([](ExampleFields& f) { f.channels = 5; })},
      {"broken_missing_label", changed_example(png, [](tensorflow::Features& f) {
         f.mutable_feature()->erase("image/segmentation/class/encoded");
       })},
      {"broken_height_as_bytes", changed_example(png, [](tensorflow::Features& f) {
         (*f.mutable_feature())["image/height"].mutable_bytes_list()->add_value("6");
       })},
      {"broken_two_ids", changed_example(png, [](tensorflow::Features& f) {
         (*f.mutable_feature())["image/ID"].mutable_bytes_list()->add_value("second");
       })},
      {"broken_empty_feature", changed_example(png, [](tensorflow::Features& f) {
         (*f.mutable_feature())["image/width"].Clear();
       })},
      {"broken_not_protobuf", std::string("\xff\xff\xff\xff", 4)},
      {"broken_cut", cut(valid, valid.size() / 2)},
  };
  for (const auto& [name, bytes] : seeds) out.put("example", name, bytes);
}

}  // namespace fcn::seeds
