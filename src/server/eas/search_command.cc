#include "server/eas/search_command.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "codec/eas/item_requests.h"
#include "codec/mime/body.h"
#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/email_encoding.h"
#include "server/eas/detail/rights_info.h"
#include "server/eas/detail/item_ids.h"

namespace rampart::server::eas {
namespace {

namespace codec = rampart::eas;

void text(wbxml::Writer& w, std::string_view ns, std::string_view name, std::string_view value) {
  w.start(ns, name);
  w.content(value);
  w.end();
}

// ASCII case folding; other bytes (UTF-8 sequences) compare as they are.
std::string fold(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string summaryText(const store::Item& item) {
  const mime::Summary& s = item.summary;
  std::string haystack = s.subject + "\n" + s.from + "\n" + s.to + "\n" + s.cc + "\n" + s.preview;
  for (const auto& a : s.attachments) haystack += "\n" + a.filename;
  return fold(haystack);
}

bool containsAll(const std::string& haystack, const std::vector<std::string>& folded_terms) {
  return std::all_of(folded_terms.begin(), folded_terms.end(),
                     [&](const std::string& t) { return haystack.find(t) != std::string::npos; });
}

// Whether every term occurs in the item's summary fields or, while
// `body_budget` (bytes of messages still to read) lasts, in its text body.
Result<bool> matchesText(store::MailStore& mail, const store::Item& item,
                         const std::vector<std::string>& folded_terms, std::size_t& body_budget) {
  if (folded_terms.empty()) return true;
  std::string haystack = summaryText(item);
  if (containsAll(haystack, folded_terms)) return true;
  if (item.summary.size > body_budget) return false;
  auto bytes = mail.messageBytes(item.id);
  if (!bytes) {
    if (bytes.error().is(Errc::not_found)) return false;  // deleted meanwhile
    return fail(bytes.error());
  }
  body_budget -= std::min(body_budget, bytes->size());
  mime::Bodies bodies = mime::extractBodies(*bytes);
  haystack += "\n" + fold(bodies.plain);
  return containsAll(haystack, folded_terms);
}

// Writes the response with only a Store Status (no results).
Result<std::vector<std::uint8_t>> storeStatusOnly(SearchStoreStatus st) {
  wbxml::Writer w;
  w.start("Search", "Search");
  text(w, "Search", "Status", "1");
  w.start("Search", "Response");
  w.start("Search", "Store");
  text(w, "Search", "Status", std::to_string(static_cast<int>(st)));
  w.end();
  w.end();
  w.end();
  return std::move(w).finish();
}

// The folders to search: those named (with their subfolders on
// DeepTraversal), or all of the mailbox.
std::vector<store::FolderId> searchFolders(const std::vector<store::Folder>& all,
                                           const codec::SearchRequest& r) {
  std::vector<store::FolderId> out;
  if (r.query.collection_ids.empty()) {
    for (const auto& f : all) out.push_back(f.id);
    return out;
  }
  std::set<store::FolderId> chosen;
  for (const auto& text_id : r.query.collection_ids) {
    auto id = detail::parseCollectionId(text_id);
    if (!id) continue;
    bool own =
        std::any_of(all.begin(), all.end(), [&](const store::Folder& f) { return f.id == *id; });
    if (own) chosen.insert(*id);
  }
  if (r.deep_traversal) {
    // Add children until nothing changes (the hierarchy is small).
    bool grew = true;
    while (grew) {
      grew = false;
      for (const auto& f : all) {
        if (f.parent && chosen.contains(*f.parent) && chosen.insert(f.id).second) grew = true;
      }
    }
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace

Result<std::vector<std::uint8_t>> runSearch(CommandContext& ctx, const wbxml::Document& body) {
  auto logger = log::get("eas");
  auto request = codec::decodeSearchRequest(body);
  if (!request) {
    logger->info("Search from {}/{}: {}", ctx.user, ctx.device_id, request.error().message());
    return storeStatusOnly(SearchStoreStatus::invalid_request);
  }
  if (request->store_name != "Mailbox") {
    // The GAL and document libraries are not searched by this server.
    logger->info("Search from {}/{}: store {} not supported", ctx.user, ctx.device_id,
                 request->store_name);
    return storeStatusOnly(SearchStoreStatus::invalid_request);
  }
  const codec::MailboxQuery& q = request->query;
  if (q.unsupported) return storeStatusOnly(SearchStoreStatus::too_complex);

  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());
  auto folders = ctx.mail.listFolders(*mailbox);
  if (!folders) return fail(folders.error());

  bool email_wanted =
      q.classes.empty() || std::any_of(q.classes.begin(), q.classes.end(),
                                       [](const std::string& c) { return c == "Email"; });
  std::vector<std::string> terms;
  for (const auto& t : q.free_text) terms.push_back(fold(t));

  std::vector<store::Item> matches;
  if (email_wanted) {
    std::int64_t since = q.received_after ? *q.received_after + 1 : 0;
    std::size_t budget = kMaxSearchScanned;
    std::size_t body_budget = kMaxSearchBodyBytes;
    for (store::FolderId folder : searchFolders(*folders, *request)) {
      if (budget == 0) break;
      auto items = ctx.mail.listItems(folder, since, 0, budget);
      if (!items) {
        if (items.error().is(Errc::not_found)) continue;  // deleted meanwhile
        return fail(items.error());
      }
      budget -= std::min(budget, items->size());
      for (auto& item : *items) {
        if (q.received_before && item.received_at >= *q.received_before) continue;
        auto matched = matchesText(ctx.mail, item, terms, body_budget);
        if (!matched) return fail(matched.error());
        if (!*matched) continue;
        matches.push_back(std::move(item));
      }
    }
  }
  std::sort(matches.begin(), matches.end(), [](const store::Item& a, const store::Item& b) {
    return a.received_at != b.received_at ? a.received_at > b.received_at : a.id > b.id;
  });

  // MS-ASCMD 2.2.3.143.3: Range defaults to 0-99; we never return more than
  // kMaxSearchResults.
  codec::Range range = request->range.value_or(codec::Range{0, kMaxSearchResults - 1});
  std::size_t first =
      static_cast<std::size_t>(std::min<std::uint64_t>(range.first, matches.size()));
  std::uint64_t wanted = range.last - range.first + 1;
  std::size_t count = static_cast<std::size_t>(
      std::min<std::uint64_t>({wanted, kMaxSearchResults, matches.size() - first}));

  std::vector<detail::BodyPreference> prefs;
  if (request->options) prefs = detail::parseBodyPreferences(*request->options);
  detail::EmailEncodeOptions encode;
  encode.mime_support = request->mime_support.value_or(0);
  // MS-ASRM 2.2.2.14: results carry the rights this user has, as Sync does.
  std::optional<detail::RightsResolver> rights;
  if (request->rights_management_support) {
    rights.emplace(detail::RightsResolver::forContext(ctx));
    encode.rights = &*rights;
  }

  wbxml::Writer w;
  w.start("Search", "Search");
  text(w, "Search", "Status", "1");
  w.start("Search", "Response");
  w.start("Search", "Store");
  text(w, "Search", "Status", std::to_string(static_cast<int>(SearchStoreStatus::success)));
  std::size_t written = 0;
  for (std::size_t i = first; i < first + count; ++i) {
    const store::Item& item = matches[i];
    w.start("Search", "Result");
    text(w, "AirSync", "Class", "Email");
    text(w, "Search", "LongId", detail::formatItemServerId(item.folder, item.id));
    text(w, "AirSync", "CollectionId", std::to_string(item.folder));
    w.start("Search", "Properties");
    // An item deleted since the listing fails the whole search (the writer
    // holds half an element); the client searches again.
    if (auto st =
            detail::writeEmailProperties(w, item, ctx.mail, prefs, ctx.protocol_version, encode);
        !st) {
      return fail(st.error());
    }
    w.end();
    w.end();
    ++written;
  }
  if (written == 0) {
    // No match: an empty Result (MS-ASCMD 2.2.3.155.3).
    w.start("Search", "Result");
    w.end();
  } else {
    text(w, "Search", "Range", codec::formatRange({first, first + written - 1}));
  }
  text(w, "Search", "Total", std::to_string(matches.size()));
  w.end();
  w.end();
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
