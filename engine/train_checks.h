// The ranges every training setting must lie in, checked before anything is read or allocated, with
// messages that name the flag and its valid range ("--lr must be a finite number > 0, got nan"). The same
// model ranges (ModelLimits, engine/model.h) bound what a checkpoint may ask for.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/raw_batch.h"

#include "engine/trainer.h"

namespace fcn {

// "" when every field of the model lies in its range, else what is wrong, naming the field by its flag
// ("--channels must be 1..4096, got -1").
std::string model_config_problem(const ModelConfig& model);

// Throws std::invalid_argument naming the first setting outside its range, with the range.
void check_train_options(const TrainOptions& options);

// Warnings (one line each, with a HINT) about a legend that does not fit the labels of the first batch:
// a legend value 0 (Labelbox reserves it for unlabeled pixels, so the "class" would be the background),
// and a legend value that no label of the batch holds (a wrong legend would train on empty targets).
// names, values: the legend; batch: the first training batch as the loader delivered it.
std::vector<std::string> legend_warnings(const std::vector<std::string>& names, const std::vector<int>& values,
                                         const RawBatch& batch, const std::string& export_path);

}  // namespace fcn
