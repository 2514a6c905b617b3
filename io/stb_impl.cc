// The one translation unit that compiles stb_image and stb_image_write (header-only libraries from the
// Debian stb package). Decoders for PNG, GIF and BMP only: JPEG goes to libjpeg-turbo (io/jpeg_decode),
// because stb_image 2.27's JPEG decoder has a heap overflow in its Huffman table parsing (CVE-2022-28042,
// reachable through stbi_info alone) and reads uninitialised memory in progressive files.
// Every allocation of stb_image is zeroed (io/zeroed_alloc.h), and decode_image checks the header's size
// against the pixel limit (io/image_header.h) before stb allocates anything.
// Nothing else in the project may define STB_IMAGE_IMPLEMENTATION or STB_IMAGE_WRITE_IMPLEMENTATION.
#include "io/zeroed_alloc.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif

#define STBI_ONLY_PNG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_NO_JPEG
#define STBI_MALLOC(size) fcn::zeroed_malloc(size)
#define STBI_REALLOC_SIZED(p, old_size, new_size) fcn::zeroed_realloc_sized(p, old_size, new_size)
#define STBI_FREE(p) fcn::zeroed_free(p)
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
