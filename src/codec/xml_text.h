// Escaping text for XML 1.0 documents the codecs and roles write
// (Autodiscover answers, the provisioning document, a WBXML dump), and plain
// text for HTML bodies. Pure.
#pragma once

#include <string>
#include <string_view>

namespace rampart::codec {

// Appends `value` escaped for element text (attribute = false) or a quoted
// attribute value (true): & < > " ' as entities; CR, and in attributes TAB
// and LF, as character references so that a parser's line-end and
// attribute-value normalisation (XML 1.0 2.11, 3.3.3) gives them back; other
// control characters dropped (XML 1.0 2.2 does not allow them).
void appendXmlEscaped(std::string& out, std::string_view value, bool attribute = false);
std::string xmlEscaped(std::string_view value, bool attribute = false);

// Plain text as HTML text: & < > " as entities, CR dropped and each LF
// written as `line_break` ("<br>", or "\r\n" inside <pre>).
std::string htmlFromText(std::string_view text, std::string_view line_break);

}  // namespace rampart::codec
