// Catch2 entry point for fcn_tests (the tests that run everywhere, no GPU needed).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
