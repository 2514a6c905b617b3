// The one translation unit that compiles stb_image and stb_image_write (header-only libraries from the
// Debian stb package). Only the formats tf.image.decode_image accepts are compiled in: PNG, JPEG, GIF, BMP.
// Nothing else in the project may define STB_IMAGE_IMPLEMENTATION or STB_IMAGE_WRITE_IMPLEMENTATION.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
