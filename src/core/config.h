// Typed configuration from TOML files.
//
// A role's config is a plain struct with defaults; its loader walks the file
// through ConfigSection, which records every key it reads. Anything left
// unread when a section is finished is an error naming the file, line and key,
// so a typo never silently falls back to a default. Code never sees raw TOML.
//
//   auto file = ConfigFile::load(path);          // Result<ConfigFile>
//   ConfigSection root = file->root();
//   root.read("data_dir", cfg.data_dir);
//   ConfigSection lmtp = root.section("lmtp");
//   lmtp.read("max_message_size", cfg.max_size); // "35MiB"
//   lmtp.read("command_timeout", cfg.timeout);   // "5m"
//   if (auto st = file->finish(); !st) ...       // all errors, one per line
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart {

// A byte count, written in files as an integer or "64KiB", "35MiB", "1GiB", "10MB".
struct ByteSize {
  std::uint64_t bytes = 0;
};

class ConfigFile;

class ConfigSection {
 public:
  // Each read() leaves `out` untouched when the key is absent; a present key of
  // the wrong type or out of range records an error with its line.
  void read(std::string_view key, std::string& out);
  void read(std::string_view key, bool& out);
  void read(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  void read(std::string_view key, int& out, int min, int max);
  // "250ms", "30s", "5m", "2h", "7d", or an integer number of seconds.
  void read(std::string_view key, std::chrono::milliseconds& out);
  void read(std::string_view key, std::chrono::seconds& out);
  void read(std::string_view key, ByteSize& out);
  void read(std::string_view key, std::vector<std::string>& out);

  bool has(std::string_view key) const;
  // A sub-table; an absent key gives an empty section (all defaults).
  ConfigSection section(std::string_view key);
  // An array of tables (`[[rule]]`), one section per element, named
  // "rule[0]", "rule[1]"...; absent key = none.
  std::vector<ConfigSection> sections(std::string_view key);
  // Records an error against `key` (or the section itself when empty), for
  // checks the loader makes across several values.
  void error(std::string_view key, std::string_view message);

  // Where this section lives, e.g. "server.lmtp".
  const std::string& path() const { return path_; }

 private:
  friend class ConfigFile;
  struct Impl;
  ConfigSection(ConfigFile* file, const void* table, std::string path);

  ConfigFile* file_;
  const void* table_;  // const toml::table*, or nullptr for an absent section
  std::string path_;
};

class ConfigFile {
 public:
  // Parses the file; a syntax error comes back with file and line.
  static Result<ConfigFile> load(const std::string& path);
  static Result<ConfigFile> parse(std::string_view text, std::string source_name);

  ConfigFile(ConfigFile&&) noexcept;
  ConfigFile& operator=(ConfigFile&&) noexcept;
  ~ConfigFile();

  ConfigSection root();

  // Checks that every key in the file was read, and returns every error found
  // so far, one "file:line: message" per line.
  Status finish();

  struct State;  // defined in config.cc

 private:
  friend class ConfigSection;
  explicit ConfigFile(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Parses "30s"-style durations and "35MiB"-style sizes; exposed for the CLI.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);
Result<std::uint64_t> parseByteSize(std::string_view text);

}  // namespace rampart
