// The Search command (MS-ASCMD 2.2.1.16) for the Mailbox store: finds email
// in the user's folders by free text, class, folder and date received.
// Blocking (mail store); the EAS service runs it on its blocking pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.13 Status (Search) of the Store element, the values
// this server answers (the Search element's own Status is 1 whenever a
// response is written).
enum class SearchStoreStatus : std::uint8_t {
  success = 1,
  invalid_request = 2,  // malformed, or a store other than Mailbox (GAL, DocumentLibrary)
  too_complex = 8,      // Or, EqualTo, ConversationId, comparisons on other properties
};

// Our bounds: results of one response (Range is clipped to them) and items
// looked at per search, newest first in each folder.
inline constexpr std::size_t kMaxSearchResults = 100;
inline constexpr std::size_t kMaxSearchScanned = 10'000;
// Message bytes read per search to look for FreeText in bodies; past it,
// items are matched on their summary (subject, addresses, preview) only.
inline constexpr std::size_t kMaxSearchBodyBytes = std::size_t{64} << 20;

// Answers one Search request; returns the WBXML response body:
// Search { Status 1, Response { Store { Status, Result*, Range?, Total? } } }.
//
// The query is a conjunction (And): every FreeText must occur,
// case-insensitively (ASCII case folding), in the subject, sender,
// recipients, preview, an attachment name or the plain-text body (bodies are
// read while kMaxSearchBodyBytes lasts); airsync:Class restricts to "Email" (anything else matches
// nothing); airsync:CollectionId restricts to those folders (and their
// subfolders with DeepTraversal; folders of other mailboxes or unknown ids are
// ignored), else every folder is searched; GreaterThan/LessThan on
// email:DateReceived bound the date received (exclusively). Matches are sorted
// newest first; Options Range "m-n" (default 0-99) picks the slice; Total
// counts all matches. Each Result carries airsync:Class, search:LongId (the
// item's ServerId form, which ItemOperations Fetch takes), airsync:CollectionId
// and Properties written by detail/email_encoding.h with the request's
// BodyPreferences. RebuildResults is accepted: nothing is cached.
//
// Errors are storage failures (HTTP 500) and encoding errors.
Result<std::vector<std::uint8_t>> runSearch(CommandContext& ctx, const wbxml::Document& body);

}  // namespace rampart::server::eas
