#include "core/log.h"

#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace rampart::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::text;

void applyFormat(spdlog::logger& logger) {
  if (g_format == Format::json) {
    logger.set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n","msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %-8n %v");
  }
  logger.set_level(g_level);
}

}  // namespace

void init(std::string_view level, Format format) {
  std::lock_guard lock(g_mutex);
  g_level = spdlog::level::from_str(std::string(level));
  g_format = format;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { applyFormat(*l); });
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  std::lock_guard lock(g_mutex);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(
      name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  applyFormat(*logger);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace rampart::log
