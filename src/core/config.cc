#include "core/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace rampart {

struct ConfigFile::State {
  std::string source;
  toml::table table;
  std::set<const toml::node*> read;  // every node some loader looked at
  std::vector<std::string> errors;
};

namespace {

const toml::table* asTable(const void* p) { return static_cast<const toml::table*>(p); }

std::string joinPath(const std::string& base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return base + "." + std::string(key);
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  std::int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || value < 0) {
    return fail(Errc::parse_error, "expected a duration like 30s, 5m, 250ms");
  }
  std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  using namespace std::chrono;
  std::int64_t ms_per_unit = 0;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s" || unit.empty()) ms_per_unit = 1000;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else if (unit == "d") ms_per_unit = 86'400'000;
  else return fail(Errc::parse_error, "unknown duration unit '" + std::string(unit) + "'");
  if (value > INT64_MAX / ms_per_unit) return fail(Errc::limit_exceeded, "duration too large");
  return milliseconds(value * ms_per_unit);
}

Result<std::uint64_t> parseByteSize(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc()) return fail(Errc::parse_error, "expected a size like 64KiB or 35MiB");
  std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB") mult = 1024ull;
  else if (unit == "MiB") mult = 1024ull * 1024;
  else if (unit == "GiB") mult = 1024ull * 1024 * 1024;
  else if (unit == "kB" || unit == "KB") mult = 1000ull;
  else if (unit == "MB") mult = 1000ull * 1000;
  else if (unit == "GB") mult = 1000ull * 1000 * 1000;
  else return fail(Errc::parse_error, "unknown size unit '" + std::string(unit) + "'");
  if (value > UINT64_MAX / mult) return fail(Errc::limit_exceeded, "size too large");
  return value * mult;
}

ConfigSection::ConfigSection(ConfigFile* file, const void* table, std::string path)
    : file_(file), table_(table), path_(std::move(path)) {}

namespace {

// Finds `key` in the section, marks it read, and returns it (or nullptr).
const toml::node* lookup(ConfigFile::State& st, const void* table, std::string_view key) {
  if (table == nullptr) return nullptr;
  const toml::node* n = asTable(table)->get(key);
  if (n != nullptr) st.read.insert(n);
  return n;
}

std::string where(const ConfigFile::State& st, const toml::node* n) {
  std::ostringstream out;
  out << st.source;
  if (n != nullptr && n->source().begin.line > 0) out << ":" << n->source().begin.line;
  return out.str();
}

}  // namespace

struct ConfigSection::Impl {
  static ConfigFile::State& state(ConfigSection& s) { return *s.file_->state_; }
  static void typeError(ConfigSection& s, const toml::node* n, std::string_view key,
                        std::string_view expected) {
    auto& st = state(s);
    st.errors.push_back(where(st, n) + ": " + joinPath(s.path_, key) + ": expected " +
                        std::string(expected));
  }
};

void ConfigSection::error(std::string_view key, std::string_view message) {
  auto& st = Impl::state(*this);
  const toml::node* n = table_ ? asTable(table_)->get(key) : nullptr;
  std::string name = key.empty() ? path_ : joinPath(path_, key);
  st.errors.push_back(where(st, n) + ": " + name + ": " + std::string(message));
}

bool ConfigSection::has(std::string_view key) const {
  return table_ != nullptr && asTable(table_)->contains(key);
}

void ConfigSection::read(std::string_view key, std::string& out) {
  const toml::node* n = lookup(Impl::state(*this), table_, key);
  if (n == nullptr) return;
  if (auto v = n->value<std::string>()) out = *v;
  else Impl::typeError(*this, n, key, "a string");
}

void ConfigSection::read(std::string_view key, bool& out) {
  const toml::node* n = lookup(Impl::state(*this), table_, key);
  if (n == nullptr) return;
  if (n->is_boolean()) out = n->as_boolean()->get();
  else Impl::typeError(*this, n, key, "true or false");
}

void ConfigSection::read(std::string_view key, std::int64_t& out, std::int64_t min,
                         std::int64_t max) {
  const toml::node* n = lookup(Impl::state(*this), table_, key);
  if (n == nullptr) return;
  if (!n->is_integer()) {
    Impl::typeError(*this, n, key, "an integer");
    return;
  }
  std::int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    Impl::typeError(*this, n, key,
                    "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return;
  }
  out = v;
}

void ConfigSection::read(std::string_view key, int& out, int min, int max) {
  std::int64_t v = out;
  read(key, v, min, max);
  out = static_cast<int>(v);
}

void ConfigSection::read(std::string_view key, std::chrono::milliseconds& out) {
  const toml::node* n = lookup(Impl::state(*this), table_, key);
  if (n == nullptr) return;
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    out = std::chrono::seconds(n->as_integer()->get());
    return;
  }
  if (auto s = n->value<std::string>()) {
    if (auto d = parseDuration(*s)) {
      out = *d;
      return;
    }
  }
  Impl::typeError(*this, n, key, "a duration such as \"30s\", \"5m\" or \"250ms\"");
}

void ConfigSection::read(std::string_view key, std::chrono::seconds& out) {
  std::chrono::milliseconds ms = out;
  read(key, ms);
  out = std::chrono::duration_cast<std::chrono::seconds>(ms);
}

void ConfigSection::read(std::string_view key, ByteSize& out) {
  const toml::node* n = lookup(Impl::state(*this), table_, key);
  if (n == nullptr) return;
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    out.bytes = static_cast<std::uint64_t>(n->as_integer()->get());
    return;
  }
  if (auto s = n->value<std::string>()) {
    if (auto b = parseByteSize(*s)) {
      out.bytes = *b;
      return;
    }
  }
  Impl::typeError(*this, n, key, "a size such as \"64KiB\" or \"35MiB\"");
}

void ConfigSection::read(std::string_view key, std::vector<std::string>& out) {
  auto& st = Impl::state(*this);
  const toml::node* n = lookup(st, table_, key);
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    Impl::typeError(*this, n, key, "an array of strings");
    return;
  }
  std::vector<std::string> values;
  for (const toml::node& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) {
      Impl::typeError(*this, &item, key, "an array of strings");
      return;
    }
    values.push_back(*s);
  }
  out = std::move(values);
}

ConfigSection ConfigSection::section(std::string_view key) {
  auto& st = Impl::state(*this);
  const toml::node* n = lookup(st, table_, key);
  std::string sub = joinPath(path_, key);
  if (n == nullptr) return ConfigSection(file_, nullptr, sub);
  if (!n->is_table()) {
    Impl::typeError(*this, n, key, "a table");
    return ConfigSection(file_, nullptr, sub);
  }
  return ConfigSection(file_, n->as_table(), sub);
}

std::vector<ConfigSection> ConfigSection::sections(std::string_view key) {
  auto& st = Impl::state(*this);
  const toml::node* n = lookup(st, table_, key);
  std::vector<ConfigSection> out;
  if (n == nullptr) return out;
  const toml::array* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    Impl::typeError(*this, n, key, "an array of tables ([[" + std::string(key) + "]])");
    return out;
  }
  std::size_t i = 0;
  for (const toml::node& item : *arr) {
    st.read.insert(&item);
    out.push_back(ConfigSection(file_, item.as_table(),
                                joinPath(path_, key) + "[" + std::to_string(i++) + "]"));
  }
  return out;
}

ConfigFile::ConfigFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
ConfigFile::ConfigFile(ConfigFile&&) noexcept = default;
ConfigFile& ConfigFile::operator=(ConfigFile&&) noexcept = default;
ConfigFile::~ConfigFile() = default;

namespace {

// toml++ in Debian is built with exceptions; config loading happens at startup only.
Result<ConfigFile::State> parseToml(std::string_view text, const std::string& source) {
  ConfigFile::State st;
  st.source = source;
  try {
    st.table = toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return fail(Errc::config_error, source + ":" + std::to_string(err.source().begin.line) +
                                        ": " + std::string(err.description()));
  }
  return st;
}

}  // namespace

Result<ConfigFile> ConfigFile::parse(std::string_view text, std::string source_name) {
  auto st = parseToml(text, source_name);
  if (!st) return fail(st.error());
  return ConfigFile(std::make_unique<State>(std::move(*st)));
}

Result<ConfigFile> ConfigFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::config_error, path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

ConfigSection ConfigFile::root() { return ConfigSection(this, &state_->table, ""); }

namespace {

void collectUnread(const ConfigFile::State& st, const toml::table& table, const std::string& path,
                   std::vector<std::string>& errors) {
  for (const auto& [key, node] : table) {
    std::string name = joinPath(path, key.str());
    if (!st.read.count(&node)) {
      errors.push_back(where(st, &node) + ": unknown key '" + name + "'");
      continue;
    }
    if (const toml::table* sub = node.as_table()) collectUnread(st, *sub, name, errors);
    if (const toml::array* arr = node.as_array(); arr && arr->is_array_of_tables()) {
      std::size_t i = 0;
      for (const toml::node& item : *arr) {
        collectUnread(st, *item.as_table(), name + "[" + std::to_string(i++) + "]", errors);
      }
    }
  }
}

}  // namespace

Status ConfigFile::finish() {
  std::vector<std::string> errors = state_->errors;
  collectUnread(*state_, state_->table, "", errors);
  if (errors.empty()) return {};
  std::string all;
  for (const auto& e : errors) {
    if (!all.empty()) all += "\n";
    all += e;
  }
  return fail(Errc::config_error, all);
}

}  // namespace rampart
