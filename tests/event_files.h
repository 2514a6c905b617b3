// Test helper: the Events of one TensorBoard events file, read back with our TfRecordReader (so every
// record's CRCs are checked on the way).
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/tfrecord.h"
#include "proto/event.pb.h"

namespace fcn::test {

inline std::vector<tensorflow::Event> read_events(const std::string& path) {
  TfRecordReader reader(path);
  std::vector<tensorflow::Event> events;
  std::string payload;
  while (reader.next(payload)) {
    tensorflow::Event e;
    REQUIRE(e.ParseFromString(payload));
    events.push_back(e);
  }
  return events;
}

}  // namespace fcn::test
