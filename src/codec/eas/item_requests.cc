// MoveItems, ItemOperations, Search and Settings request bodies. See
// item_requests.h.
#include "codec/eas/item_requests.h"

#include <charconv>
#include <cstdio>
#include <utility>

#include "codec/wbxml/code_pages.h"

namespace rampart::eas {
namespace {

using wbxml::Element;

// [MS-ASWBXML] 2.1.2.1: the code pages these commands use.
constexpr std::uint8_t kAirSync = 0;
constexpr std::uint8_t kEmail = 2;
constexpr std::uint8_t kMove = 5;
constexpr std::uint8_t kSearch = 15;
constexpr std::uint8_t kAirSyncBase = 17;
constexpr std::uint8_t kSettings = 18;
constexpr std::uint8_t kDocumentLibrary = 19;
constexpr std::uint8_t kItemOperations = 20;
constexpr std::uint8_t kRightsManagement = 24;

std::string qualified(const Element& e) {
  std::string_view ns = wbxml::pageNamespace(e.page);
  if (e.name.empty()) {
    return "unknown tag (page " + std::to_string(e.page) + ", token " + std::to_string(e.token) +
           ")";
  }
  return std::string(ns.empty() ? "?" : ns) + ":" + std::string(e.name);
}

bool is(const Element& e, std::uint8_t page, std::string_view name) {
  return e.page == page && e.name == name;
}

tl::unexpected<Error> invalid(std::string detail) {
  return fail(Errc::invalid_argument, std::move(detail));
}
tl::unexpected<Error> duplicate(const Element& e) {
  return invalid("duplicate element " + qualified(e));
}
tl::unexpected<Error> missing(std::string_view what, const Element& parent) {
  return invalid(std::string(what) + " missing in " + qualified(parent));
}

// The text of a leaf: no children, no opaque data, at most `max` bytes.
Result<std::string> leafText(const Element& e, std::size_t max) {
  if (!e.children.empty()) return invalid(qualified(e) + " must not have child elements");
  if (!e.opaque.empty()) return invalid(qualified(e) + " must not carry opaque data");
  if (e.text.size() > max) {
    return fail(Errc::limit_exceeded,
                qualified(e) + " is longer than " + std::to_string(max) + " bytes");
  }
  return e.text;
}

// A non-empty leaf of at most `max` bytes, stored once into `slot`.
Status setOnce(std::optional<std::string>& slot, const Element& e, std::size_t max) {
  if (slot) return duplicate(e);
  auto text = leafText(e, max);
  if (!text) return fail(text.error());
  if (text->empty()) return invalid(qualified(e) + " is empty");
  slot = std::move(*text);
  return {};
}

Result<std::int64_t> leafInteger(const Element& e, std::int64_t lo, std::int64_t hi) {
  auto text = leafText(e, 20);
  if (!text) return fail(text.error());
  std::int64_t value = 0;
  const std::string& s = *text;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || value < lo || value > hi) {
    return invalid(qualified(e) + " must be a number from " + std::to_string(lo) + " to " +
                   std::to_string(hi));
  }
  return value;
}

// An element that marks a flag by being there (DeepTraversal, DeleteSubFolders, ...).
Status emptyFlag(bool& flag, const Element& e) {
  if (flag) return duplicate(e);
  if (!e.children.empty() || !e.text.empty() || !e.opaque.empty()) {
    return invalid(qualified(e) + " must be empty");
  }
  flag = true;
  return {};
}

Status setRange(std::optional<Range>& slot, const Element& e) {
  if (slot) return duplicate(e);
  auto text = leafText(e, 41);
  if (!text) return fail(text.error());
  slot = parseRange(*text);
  if (!slot) return invalid(qualified(e) + " is not a range m-n");
  return {};
}

Status setMimeSupport(std::optional<int>& slot, const Element& e) {
  if (slot) return duplicate(e);
  auto v = leafInteger(e, 0, 2);  // MS-ASCMD 2.2.3.100.3
  if (!v) return fail(v.error());
  slot = static_cast<int>(*v);
  return {};
}

std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil (public domain algorithm).
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// --- MoveItems ------------------------------------------------------------------

Result<MoveRequest> readMove(const Element& move, const ItemLimits& limits) {
  std::optional<std::string> src, src_fld, dst_fld;
  for (const Element& c : move.children) {
    Status st;
    if (is(c, kMove, "SrcMsgId")) {
      st = setOnce(src, c, limits.max_id);
    } else if (is(c, kMove, "SrcFldId")) {
      st = setOnce(src_fld, c, limits.max_id);
    } else if (is(c, kMove, "DstFldId")) {
      st = setOnce(dst_fld, c, limits.max_id);
    }
    if (!st) return fail(st.error());
  }
  if (!src) return missing("SrcMsgId", move);
  if (!src_fld) return missing("SrcFldId", move);
  if (!dst_fld) return missing("DstFldId", move);
  return MoveRequest{std::move(*src), std::move(*src_fld), std::move(*dst_fld)};
}

// --- ItemOperations -------------------------------------------------------------

// rm:RightsManagementSupport (MS-ASRM 2.2.2.15): a boolean ([MS-ASDTYPE] 2.1:
// 0 or 1), once per Options.
Status setRightsSupport(bool& slot, bool& seen, const Element& e) {
  if (seen) return duplicate(e);
  seen = true;
  auto v = leafInteger(e, 0, 1);
  if (!v) return fail(v.error());
  slot = *v == 1;
  return {};
}

Status readFetchOptions(FetchRequest& f, const Element& options) {
  bool rights_seen = false;
  for (const Element& c : options.children) {
    Status st;
    if (is(c, kItemOperations, "Range")) {
      st = setRange(f.range, c);
    } else if (is(c, kAirSync, "MIMESupport")) {
      st = setMimeSupport(f.mime_support, c);
    } else if (is(c, kRightsManagement, "RightsManagementSupport")) {
      st = setRightsSupport(f.rights_management_support, rights_seen, c);
    }
    if (!st) return st;
  }
  f.options = options;
  return {};
}

Result<FetchRequest> readFetch(const Element& fetch, const ItemLimits& limits) {
  FetchRequest f;
  std::optional<std::string> store;
  bool have_options = false;
  for (const Element& c : fetch.children) {
    Status st;
    if (is(c, kItemOperations, "Store")) {
      st = setOnce(store, c, limits.max_reference);
    } else if (is(c, kAirSync, "CollectionId")) {
      st = setOnce(f.collection_id, c, limits.max_id);
    } else if (is(c, kAirSync, "ServerId")) {
      st = setOnce(f.server_id, c, limits.max_id);
    } else if (is(c, kSearch, "LongId")) {
      st = setOnce(f.long_id, c, limits.max_reference);
    } else if (is(c, kAirSyncBase, "FileReference")) {
      // MS-ASAIRS 2.2.2.24.2: an empty FileReference is answered with Status
      // 15, so it decodes (as an empty string) rather than failing.
      if (f.file_reference) return duplicate(c);
      auto text = leafText(c, limits.max_reference);
      if (!text) return fail(text.error());
      f.file_reference = std::move(*text);
    } else if (is(c, kDocumentLibrary, "LinkId")) {
      st = setOnce(f.link_id, c, limits.max_reference);
    } else if (is(c, kRightsManagement, "RemoveRightsManagementProtection")) {
      // MS-ASRM 2.2.2.11 (schema: airsyncbase:EmptyTag).
      st = emptyFlag(f.remove_rights_management_protection, c);
    } else if (is(c, kItemOperations, "Options")) {
      if (have_options) return duplicate(c);
      have_options = true;
      st = readFetchOptions(f, c);
    }
    if (!st) return fail(st.error());
  }
  if (!store) return missing("Store", fetch);
  f.store = std::move(*store);
  int targets = (f.server_id ? 1 : 0) + (f.long_id ? 1 : 0) + (f.file_reference ? 1 : 0) +
                (f.link_id ? 1 : 0);
  if (targets != 1) {
    return invalid("Fetch needs exactly one of ServerId, LongId, FileReference, LinkId");
  }
  if (f.server_id && !f.collection_id) return missing("CollectionId", fetch);
  return f;
}

Result<EmptyFolderContentsRequest> readEmptyFolderContents(const Element& e,
                                                           const ItemLimits& limits) {
  EmptyFolderContentsRequest r;
  std::optional<std::string> id;
  bool have_options = false;
  for (const Element& c : e.children) {
    Status st;
    if (is(c, kAirSync, "CollectionId")) {
      st = setOnce(id, c, limits.max_id);
    } else if (is(c, kItemOperations, "Options")) {
      if (have_options) return duplicate(c);
      have_options = true;
      for (const Element& o : c.children) {
        if (is(o, kItemOperations, "DeleteSubFolders")) {
          // MS-ASCMD 2.2.3.43: an empty element; some clients send a value.
          if (r.delete_subfolders) return duplicate(o);
          if (!o.children.empty()) return invalid(qualified(o) + " must not have child elements");
          r.delete_subfolders = true;
        }
      }
    }
    if (!st) return fail(st.error());
  }
  if (!id) return missing("CollectionId", e);
  r.collection_id = std::move(*id);
  return r;
}

Result<ConversationMoveRequest> readConversationMove(const Element& e, const ItemLimits& limits) {
  ConversationMoveRequest r;
  bool have_conversation = false;
  std::optional<std::string> dst;
  for (const Element& c : e.children) {
    Status st;
    if (is(c, kItemOperations, "ConversationId")) {
      if (have_conversation) return duplicate(c);
      if (!c.children.empty()) return invalid(qualified(c) + " must not have child elements");
      if (c.opaque.size() + c.text.size() > limits.max_reference) {
        return fail(Errc::limit_exceeded, qualified(c) + " is too long");
      }
      have_conversation = true;
      r.conversation_id = c.opaque;
      r.conversation_id.insert(r.conversation_id.end(), c.text.begin(), c.text.end());
    } else if (is(c, kItemOperations, "DstFldId")) {
      st = setOnce(dst, c, limits.max_id);
    } else if (is(c, kItemOperations, "Options")) {
      for (const Element& o : c.children) {
        if (is(o, kItemOperations, "MoveAlways")) r.move_always = true;
      }
    }
    if (!st) return fail(st.error());
  }
  if (!have_conversation) return missing("ConversationId", e);
  if (!dst) return missing("DstFldId", e);
  r.dst_fld_id = std::move(*dst);
  return r;
}

// --- Search ---------------------------------------------------------------------

Status readQuery(MailboxQuery& q, const Element& e, std::size_t depth, std::size_t& terms,
                 const ItemLimits& limits);

Status readComparison(MailboxQuery& q, const Element& e, bool greater) {
  // GreaterThan/LessThan: email:DateReceived (empty) and Value (MS-ASCMD
  // 2.2.3.82, 2.2.3.95).
  bool date_received = false;
  std::optional<std::string> value;
  for (const Element& c : e.children) {
    if (is(c, kEmail, "DateReceived")) {
      if (date_received) return duplicate(c);
      date_received = true;
    } else if (is(c, kSearch, "Value")) {
      if (auto st = setOnce(value, c, 64); !st) return st;
    } else {
      // A comparison on another property: well-formed, not searched here.
      q.unsupported = true;
    }
  }
  if (!value) return missing("Value", e);
  if (!date_received) {
    q.unsupported = true;
    return {};
  }
  auto t = parseDateTime(*value);
  if (!t) return invalid(qualified(e) + " Value is not a dateTime");
  auto& slot = greater ? q.received_after : q.received_before;
  // Two bounds on one side: the tighter one.
  if (!slot || (greater ? *t > *slot : *t < *slot)) slot = *t;
  return {};
}

Status readQuery(MailboxQuery& q, const Element& e, std::size_t depth, std::size_t& terms,
                 const ItemLimits& limits) {
  if (depth > limits.max_query_depth) {
    return fail(Errc::limit_exceeded,
                "Search query nested deeper than " + std::to_string(limits.max_query_depth));
  }
  for (const Element& c : e.children) {
    if (++terms > limits.max_query_terms) {
      return fail(Errc::limit_exceeded,
                  "Search query of more than " + std::to_string(limits.max_query_terms) + " terms");
    }
    if (is(c, kSearch, "And")) {
      if (auto st = readQuery(q, c, depth + 1, terms, limits); !st) return st;
    } else if (is(c, kSearch, "FreeText")) {
      auto text = leafText(c, limits.max_free_text);
      if (!text) return fail(text.error());
      if (!text->empty()) q.free_text.push_back(std::move(*text));
    } else if (is(c, kAirSync, "Class")) {
      auto text = leafText(c, limits.max_id);
      if (!text) return fail(text.error());
      q.classes.push_back(std::move(*text));
    } else if (is(c, kAirSync, "CollectionId")) {
      auto text = leafText(c, limits.max_id);
      if (!text) return fail(text.error());
      q.collection_ids.push_back(std::move(*text));
    } else if (is(c, kSearch, "GreaterThan") || is(c, kSearch, "LessThan")) {
      if (auto st = readComparison(q, c, c.name == "GreaterThan"); !st) return st;
    } else if (is(c, kSearch, "Or") || is(c, kSearch, "EqualTo") ||
               is(c, kSearch, "ConversationId")) {
      q.unsupported = true;
    }
  }
  return {};
}

Status readSearchOptions(SearchRequest& r, const Element& options) {
  bool rights_seen = false;
  for (const Element& c : options.children) {
    Status st;
    if (is(c, kSearch, "Range")) {
      st = setRange(r.range, c);
    } else if (is(c, kSearch, "DeepTraversal")) {
      st = emptyFlag(r.deep_traversal, c);
    } else if (is(c, kSearch, "RebuildResults")) {
      st = emptyFlag(r.rebuild_results, c);
    } else if (is(c, kAirSync, "MIMESupport")) {
      st = setMimeSupport(r.mime_support, c);
    } else if (is(c, kRightsManagement, "RightsManagementSupport")) {
      st = setRightsSupport(r.rights_management_support, rights_seen, c);
    }
    if (!st) return st;
  }
  r.options = options;
  return {};
}

// --- Settings -------------------------------------------------------------------

Result<OofMessageRequest> readOofMessage(const Element& e, const ItemLimits& limits) {
  OofMessageRequest m;
  int audiences = 0;
  for (const Element& c : e.children) {
    Status st;
    if (is(c, kSettings, "AppliesToInternal")) {
      m.audience = OofAudience::internal;
      ++audiences;
    } else if (is(c, kSettings, "AppliesToExternalKnown")) {
      m.audience = OofAudience::external_known;
      ++audiences;
    } else if (is(c, kSettings, "AppliesToExternalUnknown")) {
      m.audience = OofAudience::external_unknown;
      ++audiences;
    } else if (is(c, kSettings, "Enabled")) {
      if (m.enabled) return duplicate(c);
      auto v = leafInteger(c, 0, 1);
      if (!v) return fail(v.error());
      m.enabled = *v == 1;
    } else if (is(c, kSettings, "ReplyMessage")) {
      if (m.reply_message) return duplicate(c);
      auto text = leafText(c, limits.max_oof_message);
      if (!text) return fail(text.error());
      m.reply_message = std::move(*text);
    } else if (is(c, kSettings, "BodyType")) {
      st = setOnce(m.body_type, c, 16);
    }
    if (!st) return fail(st.error());
  }
  if (audiences != 1) return invalid("OofMessage needs exactly one AppliesTo element");
  return m;
}

Result<OofRequest> readOof(const Element& e, const ItemLimits& limits) {
  OofRequest r;
  for (const Element& c : e.children) {
    if (is(c, kSettings, "Get")) {
      if (r.get) return duplicate(c);
      r.get = true;
      for (const Element& g : c.children) {
        if (is(g, kSettings, "BodyType")) {
          auto text = leafText(g, 16);
          if (!text) return fail(text.error());
          r.get_body_type = std::move(*text);
        }
      }
    } else if (is(c, kSettings, "Set")) {
      if (r.set) return duplicate(c);
      OofSetRequest s;
      for (const Element& g : c.children) {
        if (is(g, kSettings, "OofState")) {
          if (s.state) return duplicate(g);
          auto v = leafInteger(g, 0, 2);
          if (!v) return fail(v.error());
          s.state = static_cast<int>(*v);
        } else if (is(g, kSettings, "StartTime") || is(g, kSettings, "EndTime")) {
          auto& slot = g.name == "StartTime" ? s.start_time : s.end_time;
          if (slot) return duplicate(g);
          auto text = leafText(g, 64);
          if (!text) return fail(text.error());
          slot = parseDateTime(*text);
          if (!slot) return invalid(qualified(g) + " is not a dateTime");
        } else if (is(g, kSettings, "OofMessage")) {
          if (s.messages.size() >= 3) return invalid("more than three OofMessage elements");
          auto m = readOofMessage(g, limits);
          if (!m) return fail(m.error());
          s.messages.push_back(std::move(*m));
        }
      }
      r.set = std::move(s);
    }
  }
  if (r.get == r.set.has_value()) return invalid("Oof needs exactly one of Get and Set");
  return r;
}

Result<DeviceInformation> readDeviceInformation(const Element& e) {
  const Element* set = nullptr;
  for (const Element& c : e.children) {
    if (is(c, kSettings, "Set")) {
      if (set) return duplicate(c);
      set = &c;
    }
  }
  if (!set) return missing("Set", e);
  DeviceInformation info;
  constexpr std::size_t kMax = 1024;  // MS-ASCMD 2.2.3.115: Model up to 1024 characters
  for (const Element& c : set->children) {
    Status st;
    if (is(c, kSettings, "Model")) {
      st = setOnce(info.model, c, kMax);
    } else if (is(c, kSettings, "IMEI")) {
      st = setOnce(info.imei, c, kMax);
    } else if (is(c, kSettings, "FriendlyName")) {
      st = setOnce(info.friendly_name, c, kMax);
    } else if (is(c, kSettings, "OS")) {
      st = setOnce(info.os, c, kMax);
    } else if (is(c, kSettings, "OSLanguage")) {
      st = setOnce(info.os_language, c, kMax);
    } else if (is(c, kSettings, "PhoneNumber")) {
      st = setOnce(info.phone_number, c, kMax);
    } else if (is(c, kSettings, "UserAgent")) {
      st = setOnce(info.user_agent, c, kMax);
    } else if (is(c, kSettings, "MobileOperator")) {
      st = setOnce(info.mobile_operator, c, kMax);
    } else if (is(c, kSettings, "EnableOutboundSMS")) {
      if (info.enable_outbound_sms) return duplicate(c);
      auto v = leafInteger(c, 0, 1);
      if (!v) return fail(v.error());
      info.enable_outbound_sms = *v == 1;
    }
    if (!st) return fail(st.error());
  }
  return info;
}

bool hasChild(const Element& e, std::uint8_t page, std::string_view name) {
  for (const Element& c : e.children) {
    if (is(c, page, name)) return true;
  }
  return false;
}

}  // namespace

std::optional<Range> parseRange(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size()) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<std::uint64_t> {
    if (s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
  };
  auto first = number(text.substr(0, dash));
  auto last = number(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return Range{*first, *last};
}

std::string formatRange(const Range& r) {
  return std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::optional<std::int64_t> parseDateTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...][Z]
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<unsigned> {
    unsigned v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) ++at;
  if (at != s.size()) return std::nullopt;
  std::int64_t days = daysFromCivil(*year, *month, *day);
  std::int64_t t = days * 86400 + *hour * 3600 + *minute * 60 + std::min(*second, 59u);
  if (t < 0) return std::nullopt;
  return t;
}

std::string formatDateTime(std::int64_t t) {
  if (t < 0) t = 0;
  std::int64_t days = t / 86400;
  std::int64_t secs = t % 86400;
  // Howard Hinnant's civil_from_days.
  days += 719468;
  const std::int64_t era = days / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.000Z",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

Result<MoveItemsRequest> decodeMoveItemsRequest(const wbxml::Document& doc,
                                                const ItemLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kMove, "MoveItems"))
    return invalid("root is " + qualified(root) + ", not Move:MoveItems");
  MoveItemsRequest r;
  for (const Element& c : root.children) {
    if (!is(c, kMove, "Move")) continue;
    if (r.moves.size() >= limits.max_moves) {
      return fail(Errc::limit_exceeded, "more than " + std::to_string(limits.max_moves) + " moves");
    }
    auto m = readMove(c, limits);
    if (!m) return fail(m.error());
    r.moves.push_back(std::move(*m));
  }
  if (r.moves.empty()) return missing("Move", root);
  return r;
}

Result<ItemOperationsRequest> decodeItemOperationsRequest(const wbxml::Document& doc,
                                                          const ItemLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kItemOperations, "ItemOperations")) {
    return invalid("root is " + qualified(root) + ", not ItemOperations:ItemOperations");
  }
  ItemOperationsRequest r;
  for (const Element& c : root.children) {
    bool fetch = is(c, kItemOperations, "Fetch");
    bool empty = is(c, kItemOperations, "EmptyFolderContents");
    bool move = is(c, kItemOperations, "Move");
    if (!fetch && !empty && !move) continue;
    if (r.operations.size() >= limits.max_operations) {
      return fail(Errc::limit_exceeded,
                  "more than " + std::to_string(limits.max_operations) + " operations");
    }
    if (fetch) {
      auto f = readFetch(c, limits);
      if (!f) return fail(f.error());
      r.operations.emplace_back(std::move(*f));
    } else if (empty) {
      auto e = readEmptyFolderContents(c, limits);
      if (!e) return fail(e.error());
      r.operations.emplace_back(std::move(*e));
    } else {
      auto m = readConversationMove(c, limits);
      if (!m) return fail(m.error());
      r.operations.emplace_back(std::move(*m));
    }
  }
  if (r.operations.empty()) return missing("Fetch, EmptyFolderContents or Move", root);
  return r;
}

Result<SearchRequest> decodeSearchRequest(const wbxml::Document& doc, const ItemLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kSearch, "Search"))
    return invalid("root is " + qualified(root) + ", not Search:Search");
  const Element* store = nullptr;
  for (const Element& c : root.children) {
    if (is(c, kSearch, "Store")) {
      // MS-ASCMD 2.2.3.178.3: more than one Store is undefined; we refuse it.
      if (store) return duplicate(c);
      store = &c;
    }
  }
  if (!store) return missing("Store", root);
  SearchRequest r;
  std::optional<std::string> name;
  const Element* query = nullptr;
  bool have_options = false;
  for (const Element& c : store->children) {
    if (is(c, kSearch, "Name")) {
      if (auto st = setOnce(name, c, limits.max_reference); !st) return fail(st.error());
    } else if (is(c, kSearch, "Query")) {
      if (query) return duplicate(c);
      query = &c;
    } else if (is(c, kSearch, "Options")) {
      if (have_options) return duplicate(c);
      have_options = true;
      if (auto st = readSearchOptions(r, c); !st) return fail(st.error());
    }
  }
  if (!name) return missing("Name", *store);
  if (!query) return missing("Query", *store);
  r.store_name = std::move(*name);
  if (query->text.size() > limits.max_free_text) {
    return fail(Errc::limit_exceeded, "Search Query text is too long");
  }
  r.query_text = query->text;
  if (r.store_name == "Mailbox") {
    std::size_t terms = 0;
    if (auto st = readQuery(r.query, *query, 1, terms, limits); !st) return fail(st.error());
    if (!query->text.empty()) r.query.free_text.push_back(query->text);
  }
  return r;
}

Result<SettingsRequest> decodeSettingsRequest(const wbxml::Document& doc,
                                              const ItemLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kSettings, "Settings")) {
    return invalid("root is " + qualified(root) + ", not Settings:Settings");
  }
  SettingsRequest r;
  for (const Element& c : root.children) {
    if (is(c, kSettings, "Oof")) {
      if (r.oof) return duplicate(c);
      auto oof = readOof(c, limits);
      if (!oof) return fail(oof.error());
      r.oof = std::move(*oof);
    } else if (is(c, kSettings, "DevicePassword")) {
      if (r.device_password) return duplicate(c);
      const Element* set = nullptr;
      for (const Element& s : c.children) {
        if (is(s, kSettings, "Set")) set = &s;
      }
      if (!set) return missing("Set", c);
      std::optional<std::string> password;
      for (const Element& p : set->children) {
        if (is(p, kSettings, "Password")) {
          if (auto st = setOnce(password, p, 256); !st) return fail(st.error());
        }
      }
      if (!password) return missing("Password", *set);
      r.device_password = std::move(*password);
    } else if (is(c, kSettings, "DeviceInformation")) {
      if (r.device_information) return duplicate(c);
      auto info = readDeviceInformation(c);
      if (!info) return fail(info.error());
      r.device_information = std::move(*info);
    } else if (is(c, kSettings, "UserInformation")) {
      if (r.user_information_get) return duplicate(c);
      if (!hasChild(c, kSettings, "Get")) return missing("Get", c);
      r.user_information_get = true;
    } else if (is(c, kSettings, "RightsManagementInformation")) {
      if (r.rights_management_get) return duplicate(c);
      if (!hasChild(c, kSettings, "Get")) return missing("Get", c);
      r.rights_management_get = true;
    }
  }
  return r;
}

}  // namespace rampart::eas
