// RunLog on a resume: the metrics.jsonl lines of the steps the resume runs again are dropped (atomically),
// the earlier ones kept, and both events files start with a SessionLog START at the next step.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/run_log.h"
#include "tests/event_files.h"
#include "tests/tiny_export.h"

using namespace fcn;

namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("drop_superseded_metrics keeps the lines up to the resumed step and drops the rest", "[run_log]") {
  const std::string dir = test::temp_dir("metrics_drop");
  const std::string path = dir + "/metrics.jsonl";
  CHECK(drop_superseded_metrics(dir, 3) == 0);  // no file yet: nothing to do, nothing created
  CHECK_FALSE(std::filesystem::exists(path));

  const std::string early = "{\"step\":1,\"split\":\"train\"}\n{\"step\":2,\"split\":\"train\"}\n"
                            "{\"split\":\"test\",\"step\":2}\n";
  write_text(path, early + "{\"step\":3,\"split\":\"train\"}\n{\"step\":4,\"split\":\"train\"}\n");
  CHECK(drop_superseded_metrics(dir, 2) == 2);
  CHECK(read_text(path) == early);
  CHECK(drop_superseded_metrics(dir, 2) == 0);  // idempotent
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  // A last line cut short by a crash and a line that is not a step's are superseded too.
  write_text(path, early + "not json\n{\"step\":1,\"spl");
  CHECK(drop_superseded_metrics(dir, 10) == 2);
  CHECK(read_text(path) == early);
}

TEST_CASE("RunLog resumed at a step drops later lines and marks the restart for TensorBoard", "[run_log]") {
  const std::string dir = test::temp_dir("run_log_resume");
  {
    RunLog log(dir, -1);
    for (int step = 1; step <= 4; ++step) log.train_step(step, 1.0, 1e-4, 10.0, 5.0);
    CHECK(log.superseded_lines() == 0);
  }
  {
    RunLog log(dir, 2);  // a resume from step 2's checkpoint: steps 3 and 4 are run again
    CHECK(log.superseded_lines() == 2);
    log.train_step(3, 0.5, 1e-4, 10.0, 5.0);
  }
  std::vector<int64_t> steps;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line)["step"]);
  CHECK(steps == std::vector<int64_t>{1, 2, 3});

  int starts = 0;
  for (const char* sub : {"train", "test"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/" + sub)) {
      for (const tensorflow::Event& e : test::read_events(entry.path().string())) {
        if (!e.has_session_log()) continue;
        CHECK(e.session_log().status() == tensorflow::SessionLog::START);
        CHECK(e.step() == 3);
        ++starts;
      }
    }
  }
  CHECK(starts == 2);  // one per events file of the resumed run, none in the first run's
}
