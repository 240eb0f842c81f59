// Logging: spdlog underneath, one logger per component, never a secret in a line.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace rampart::log {

enum class Format { text, json };

// Configures the process-wide sink (stderr) and level ("trace".."off").
// Safe to call more than once; later calls replace the settings.
void init(std::string_view level, Format format = Format::text);

// A named logger sharing the process-wide sink; cheap to call repeatedly.
std::shared_ptr<spdlog::logger> get(std::string_view component);

}  // namespace rampart::log
