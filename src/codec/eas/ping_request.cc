// The Ping request body (MS-ASCMD 2.2.1.13, 6.29). See ping_request.h.
#include "codec/eas/ping_request.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>
#include <utility>

#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/writer.h"

namespace rampart::eas {
namespace {

using wbxml::Element;

constexpr std::uint8_t kPingPage = 13;  // [MS-ASWBXML] 2.1.2.1.14
constexpr std::string_view kPingNs = "Ping";

// MS-ASCMD 2.2.3.27.4 Class (Ping): the valid values.
constexpr std::array<std::string_view, 5> kClasses = {"Email", "Calendar", "Contacts", "Tasks",
                                                      "Notes"};

std::string qualified(const Element& e) {
  if (e.name.empty()) {
    return "unknown tag (page " + std::to_string(e.page) + ", token " + std::to_string(e.token) +
           ")";
  }
  std::string_view ns = wbxml::pageNamespace(e.page);
  return std::string(ns.empty() ? "?" : ns) + ":" + std::string(e.name);
}

bool is(const Element& e, std::string_view name) { return e.page == kPingPage && e.name == name; }

tl::unexpected<Error> invalid(std::string detail) {
  return fail(Errc::invalid_argument, std::move(detail));
}

// The text of a leaf element of at most `max` bytes.
Result<std::string_view> leafText(const Element& e, std::size_t max) {
  if (!e.children.empty()) return invalid(qualified(e) + " must not have child elements");
  if (!e.opaque.empty()) return invalid(qualified(e) + " must not carry opaque data");
  if (e.text.size() > max) {
    return invalid(qualified(e) + " is longer than " + std::to_string(max) + " characters");
  }
  return std::string_view(e.text);
}

Result<PingFolder> decodeFolder(const Element& folder, const PingRequestLimits& limits) {
  std::optional<std::string> id;
  std::optional<std::string> folder_class;
  if (!folder.opaque.empty() || !folder.text.empty()) {
    return invalid("Ping:Folder must hold Id and Class, not text");
  }
  for (const Element& c : folder.children) {
    if (is(c, "Id")) {
      if (id) return invalid("duplicate element Ping:Id in one Ping:Folder");
      auto text = leafText(c, limits.max_id);
      if (!text) return fail(text.error());
      if (text->empty()) return invalid("Ping:Id is empty");
      id = std::string(*text);
    } else if (is(c, "Class")) {
      if (folder_class) return invalid("duplicate element Ping:Class in one Ping:Folder");
      auto text = leafText(c, 16);
      if (!text) return fail(text.error());
      if (std::find(kClasses.begin(), kClasses.end(), *text) == kClasses.end()) {
        return invalid("Ping:Class \"" + std::string(*text) +
                       "\" is not Email, Calendar, Contacts, Tasks or Notes");
      }
      folder_class = std::string(*text);
    } else {
      return invalid("unexpected element " + qualified(c) + " in Ping:Folder");
    }
  }
  if (!id) return invalid("Ping:Folder without Ping:Id");
  if (!folder_class) return invalid("Ping:Folder without Ping:Class");
  return PingFolder{std::move(*id), std::move(*folder_class)};
}

Result<std::vector<PingFolder>> decodeFolders(const Element& folders,
                                              const PingRequestLimits& limits) {
  if (!folders.opaque.empty() || !folders.text.empty()) {
    return invalid("Ping:Folders must hold Folder elements, not text");
  }
  std::vector<PingFolder> out;
  for (const Element& c : folders.children) {
    if (!is(c, "Folder")) return invalid("unexpected element " + qualified(c) + " in Ping:Folders");
    if (out.size() == limits.max_folders) {
      return fail(Errc::limit_exceeded,
                  "Ping:Folders has more than " + std::to_string(limits.max_folders) + " folders");
    }
    auto folder = decodeFolder(c, limits);
    if (!folder) return fail(folder.error());
    for (const PingFolder& seen : out) {
      // MS-ASCMD 2.2.3.90: the same Id twice is Status 4.
      if (seen.id == folder->id) return invalid("Ping:Id \"" + seen.id + "\" appears twice");
    }
    out.push_back(std::move(*folder));
  }
  if (out.empty()) return invalid("Ping:Folders without Ping:Folder");
  return out;
}

}  // namespace

Result<PingRequest> decodePingRequest(const wbxml::Document& doc, const PingRequestLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, "Ping"))
    return invalid("the root element is " + qualified(root) + ", not Ping:Ping");
  if (!root.opaque.empty() || !root.text.empty()) return invalid("Ping:Ping must not carry text");
  PingRequest request;
  for (const Element& c : root.children) {
    if (is(c, "HeartbeatInterval")) {
      if (request.heartbeat_interval) return invalid("duplicate element Ping:HeartbeatInterval");
      auto text = leafText(c, 10);
      if (!text) return fail(text.error());
      std::int64_t value = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < 0 ||
          value > 0x7fffffff) {
        return invalid("Ping:HeartbeatInterval \"" + std::string(*text) +
                       "\" is not a number of seconds");
      }
      request.heartbeat_interval = value;
    } else if (is(c, "Folders")) {
      if (request.folders) return invalid("duplicate element Ping:Folders");
      auto folders = decodeFolders(c, limits);
      if (!folders) return fail(folders.error());
      request.folders = std::move(*folders);
    } else {
      return invalid("unexpected element " + qualified(c) + " in Ping:Ping");
    }
  }
  return request;
}

Result<std::vector<std::uint8_t>> encodePingRequest(const PingRequest& request) {
  wbxml::Writer w;
  w.start(kPingNs, "Ping");
  if (request.heartbeat_interval) {
    w.start(kPingNs, "HeartbeatInterval");
    w.content(std::to_string(*request.heartbeat_interval));
    w.end();
  }
  if (request.folders) {
    if (request.folders->empty()) return invalid("a Ping request with an empty folder list");
    w.start(kPingNs, "Folders");
    for (const PingFolder& f : *request.folders) {
      w.start(kPingNs, "Folder");
      w.start(kPingNs, "Id");
      w.content(f.id);
      w.end();
      w.start(kPingNs, "Class");
      w.content(f.folder_class);
      w.end();
      w.end();
    }
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::eas
