// WBXML <-> XML text, for debugging, logs and differential tests against
// libwbxml2 (wbxml2xml / xml2wbxml). Not used on the request path.
#pragma once

#include <string>
#include <string_view>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::wbxml {

// Renders a document the way `wbxml2xml -l ACTIVESYNC` does: an XML
// declaration and the ActiveSync DOCTYPE, one element per line, and
// xmlns="Namespace:" on the root and on every element whose code page
// differs from its parent's. Text is escaped; opaque data is written as
// base64 (libwbxml's rendering of OPAQUE differs and is not compared). An
// element whose (page, token) has no name is written as
// <Unknown.P.T xmlns="..."> with P and T in decimal.
std::string toXml(const Document& doc);

// Parses the simple XML that toXml() and wbxml2xml write (or the spec's
// examples, with prefixed namespaces): elements, text, entity and character
// references, xmlns / xmlns:prefix declarations, the XML declaration, a
// DOCTYPE and comments. Every element must resolve to a tag of
// code_pages.h; whitespace-only text beside child elements is dropped.
// Errors are Errc::parse_error (malformed, unknown tag) or limit_exceeded
// (nested deeper than max_depth).
Result<Document> parseXml(std::string_view xml, std::size_t max_depth = 64);

}  // namespace rampart::wbxml
