#include "server/lmtp/command_parser.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/ascii.h"

namespace rampart::server::lmtp {

namespace {

// RFC 5321 4.5.3.1: local-part 64, domain 255, path 256 octets.
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxDomain = 255;
constexpr std::size_t kMaxPath = 256;

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLetDig(char c) { return isAlpha(c) || isDigit(c); }

// RFC 5322 3.2.3 atext.
bool isAtext(char c) {
  if (isLetDig(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

ParseResult errorResult(int code, std::string enhanced, std::string text) {
  ParseResult r;
  r.kind = ParseResult::Kind::error;
  r.error = Reply{code, std::move(enhanced), std::move(text)};
  return r;
}

ParseResult commandResult(Command c) {
  ParseResult r;
  r.kind = ParseResult::Kind::command;
  r.command = std::move(c);
  return r;
}

// Dot-string = Atom *("." Atom)
bool isDotString(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!isAtext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; qtextSMTP is %d32-33 / %d35-91 /
// %d93-126, quoted-pairSMTP is "\" %d32-126.
bool isQuotedString(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      auto q = static_cast<unsigned char>(s[++i]);
      if (q < 32 || q > 126) return false;
    } else if (c < 32 || c > 126 || c == '"') {
      return false;
    }
  }
  return true;
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
// General-address-literal ) "]"; we check the shape, not the address itself.
bool isAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    // dcontent = %d33-90 / %d94-126
    if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
  }
  return true;
}

// The position of the '@' that separates local-part from domain, honouring a
// quoted local part; npos when there is none.
std::size_t findAt(std::string_view mailbox) {
  if (!mailbox.empty() && mailbox.front() == '"') {
    for (std::size_t i = 1; i < mailbox.size(); ++i) {
      if (mailbox[i] == '\\') {
        ++i;
      } else if (mailbox[i] == '"') {
        return (i + 1 < mailbox.size() && mailbox[i + 1] == '@') ? i + 1 : std::string_view::npos;
      }
    }
    return std::string_view::npos;
  }
  return mailbox.rfind('@');
}

// "<" [ A-d-l ":" ] Mailbox ">"; returns the mailbox, source route dropped.
std::optional<std::string_view> parsePath(std::string_view path) {
  if (path.size() < 2 || path.size() > kMaxPath || path.front() != '<' || path.back() != '>') {
    return std::nullopt;
  }
  std::string_view inner = path.substr(1, path.size() - 2);
  if (!inner.empty() && inner.front() == '@') {
    // A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain
    auto colon = inner.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view adl = inner.substr(0, colon);
    while (!adl.empty()) {
      auto comma = adl.find(',');
      std::string_view at_domain = adl.substr(0, comma);
      if (at_domain.size() < 2 || at_domain.front() != '@' || !isValidDomain(at_domain.substr(1))) {
        return std::nullopt;
      }
      if (comma == std::string_view::npos) break;
      adl.remove_prefix(comma + 1);
      if (adl.empty()) return std::nullopt;
    }
    inner = inner.substr(colon + 1);
  }
  return inner;
}

// esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2).
struct Param {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

bool parseParam(std::string_view text, Param& out) {
  auto eq = text.find('=');
  std::string_view key = text.substr(0, eq);
  if (key.empty() || !isLetDig(key.front())) return false;
  for (char c : key) {
    if (!isLetDig(c) && c != '-') return false;
  }
  out.keyword = key;
  out.value.reset();
  if (eq != std::string_view::npos) {
    std::string_view value = text.substr(eq + 1);
    if (value.empty()) return false;
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126 || u == '=') return false;
    }
    out.value = value;
  }
  return true;
}

// Splits "path params..." at single spaces. Returns false on empty fields
// (double spaces, trailing space), which RFC 5321's grammar does not allow.
bool splitArgs(std::string_view rest, std::string_view& path, std::vector<std::string_view>& params) {
  // The path ends at the first '>' outside a quoted local part (which may hold spaces).
  std::size_t end = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (quoted && rest[i] == '\\') {
      ++i;
    } else if (rest[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && rest[i] == '>') {
      end = i + 1;
      break;
    } else if (!quoted && rest[i] == ' ') {
      end = i;
      break;
    }
  }
  std::size_t sp = end;
  if (sp != std::string_view::npos && sp < rest.size() && rest[sp] != ' ') return false;
  if (sp == rest.size()) sp = std::string_view::npos;
  path = rest.substr(0, sp);
  if (path.empty()) return false;
  if (sp == std::string_view::npos) return true;
  rest.remove_prefix(sp + 1);
  while (true) {
    sp = rest.find(' ');
    std::string_view p = rest.substr(0, sp);
    if (p.empty()) return false;
    params.push_back(p);
    if (sp == std::string_view::npos) return true;
    rest.remove_prefix(sp + 1);
  }
}

ParseResult parseMail(std::string_view rest) {
  // RFC 5321 4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]
  if (!startsWithIgnoreCase(rest, "FROM:")) return errorResult(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  rest.remove_prefix(5);
  std::string_view path_text;
  std::vector<std::string_view> params;
  if (!splitArgs(rest, path_text, params)) return errorResult(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  auto mailbox = parsePath(path_text);
  if (!mailbox || (!mailbox->empty() && !isValidMailbox(*mailbox))) {
    return errorResult(501, "5.1.7", "Bad sender address syntax");
  }
  Command c;
  c.verb = Verb::mail;
  c.path = std::string(*mailbox);
  bool seen_size = false;
  bool seen_body = false;
  for (std::string_view text : params) {
    Param p;
    if (!parseParam(text, p)) return errorResult(501, "5.5.4", "Bad MAIL parameter syntax");
    if (equalsIgnoreCase(p.keyword, "SIZE")) {
      // RFC 1870 5: size-value = 1*20DIGIT
      if (seen_size || !p.value || p.value->size() > 20 ||
          !std::all_of(p.value->begin(), p.value->end(), isDigit)) {
        return errorResult(501, "5.5.4", "Bad SIZE parameter");
      }
      std::uint64_t size = 0;
      auto [ptr, ec] = std::from_chars(p.value->data(), p.value->data() + p.value->size(), size);
      // A value beyond 2^64 is certainly over our limit; saturate instead of failing.
      if (ec == std::errc::result_out_of_range) size = UINT64_MAX;
      else if (ec != std::errc() || ptr != p.value->data() + p.value->size()) {
        return errorResult(501, "5.5.4", "Bad SIZE parameter");
      }
      c.size = size;
      seen_size = true;
    } else if (equalsIgnoreCase(p.keyword, "BODY")) {
      // RFC 6152 2: BODY=7BIT / BODY=8BITMIME
      if (seen_body || !p.value) return errorResult(501, "5.5.4", "Bad BODY parameter");
      if (equalsIgnoreCase(*p.value, "7BIT")) c.body = Body::seven_bit;
      else if (equalsIgnoreCase(*p.value, "8BITMIME")) c.body = Body::eight_bit_mime;
      else return errorResult(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
      seen_body = true;
    } else {
      // RFC 5321 4.1.1.11 / 4.3.2: 555 for parameters not recognised.
      return errorResult(555, "5.5.4", "Unsupported MAIL parameter " + std::string(p.keyword));
    }
  }
  return commandResult(std::move(c));
}

ParseResult parseRcpt(std::string_view rest) {
  // RFC 5321 4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
  // Forward-path ) [SP Rcpt-parameters]
  if (!startsWithIgnoreCase(rest, "TO:")) return errorResult(501, "5.5.4", "Syntax: RCPT TO:<address>");
  rest.remove_prefix(3);
  std::string_view path_text;
  std::vector<std::string_view> params;
  if (!splitArgs(rest, path_text, params)) return errorResult(501, "5.5.4", "Syntax: RCPT TO:<address>");
  Command c;
  c.verb = Verb::rcpt;
  if (equalsIgnoreCase(path_text, "<Postmaster>")) {
    c.path = "postmaster";
  } else {
    auto mailbox = parsePath(path_text);
    if (!mailbox || !isValidMailbox(*mailbox)) {
      return errorResult(501, "5.1.3", "Bad recipient address syntax");
    }
    c.path = std::string(*mailbox);
  }
  for (std::string_view text : params) {
    Param p;
    if (!parseParam(text, p)) return errorResult(501, "5.5.4", "Bad RCPT parameter syntax");
    // We advertise no extension that defines RCPT parameters (no DSN).
    return errorResult(555, "5.5.4", "Unsupported RCPT parameter " + std::string(p.keyword));
  }
  return commandResult(std::move(c));
}

}  // namespace

std::string Reply::wire() const {
  std::string out = std::to_string(code);
  out += ' ';
  if (!enhanced.empty()) {
    out += enhanced;
    out += ' ';
  }
  out += text;
  out += "\r\n";
  return out;
}

bool isValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain) return false;
  while (true) {
    auto dot = domain.find('.');
    std::string_view label = domain.substr(0, dot);
    // sub-domain = Let-dig [Ldh-str]; Ldh-str ends in Let-dig.
    if (label.empty() || label.size() > 63 || !isLetDig(label.front()) || !isLetDig(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!isLetDig(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    domain.remove_prefix(dot + 1);
  }
}

bool isValidMailbox(std::string_view mailbox) {
  auto at = findAt(mailbox);
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = mailbox.substr(0, at);
  std::string_view domain = mailbox.substr(at + 1);
  if (local.size() > kMaxLocalPart) return false;
  if (!isDotString(local) && !isQuotedString(local)) return false;
  return isValidDomain(domain) || isAddressLiteral(domain);
}

ParseResult parseLine(std::string_view line) {
  // Verb: the first space-separated word, case-insensitive (RFC 5321 2.4).
  auto sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  bool has_args = sp != std::string_view::npos;
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    // Commands are US-ASCII; controls and 8-bit octets are never valid here.
    // (SMTPUTF8 is not advertised, so RFC 6531 addresses are not accepted.)
    if (u < 32 || u > 126) return errorResult(500, "5.5.2", "Syntax error: invalid character in command");
  }

  auto noArgs = [&](Verb v) -> ParseResult {
    if (has_args) return errorResult(501, "5.5.4", "Syntax error: no parameters allowed");
    Command c;
    c.verb = v;
    return commandResult(std::move(c));
  };

  if (equalsIgnoreCase(verb, "LHLO")) {
    // RFC 2033 4.1: LHLO SP Domain / address-literal
    if (rest.empty() || !(isValidDomain(rest) || isAddressLiteral(rest))) {
      return errorResult(501, "5.5.4", "Syntax: LHLO hostname");
    }
    Command c;
    c.verb = Verb::lhlo;
    c.domain = std::string(rest);
    return commandResult(std::move(c));
  }
  if (equalsIgnoreCase(verb, "MAIL")) return parseMail(rest);
  if (equalsIgnoreCase(verb, "RCPT")) return parseRcpt(rest);
  if (equalsIgnoreCase(verb, "DATA")) return noArgs(Verb::data);
  if (equalsIgnoreCase(verb, "RSET")) return noArgs(Verb::rset);
  if (equalsIgnoreCase(verb, "QUIT")) return noArgs(Verb::quit);
  if (equalsIgnoreCase(verb, "NOOP") || equalsIgnoreCase(verb, "VRFY") || equalsIgnoreCase(verb, "HELP")) {
    Command c;
    c.verb = equalsIgnoreCase(verb, "NOOP") ? Verb::noop : equalsIgnoreCase(verb, "VRFY") ? Verb::vrfy : Verb::help;
    c.argument = std::string(rest);
    if (c.verb == Verb::vrfy && c.argument.empty()) return errorResult(501, "5.5.4", "Syntax: VRFY address");
    return commandResult(std::move(c));
  }
  if (equalsIgnoreCase(verb, "HELO") || equalsIgnoreCase(verb, "EHLO")) {
    // RFC 2033 4.1: an LMTP server must not accept HELO or EHLO.
    return errorResult(500, "5.5.1", "This is LMTP; use LHLO");
  }
  return errorResult(500, "5.5.1", "Command unrecognized");
}

ParseResult CommandParser::parse(std::string_view input) {
  const std::size_t window = std::min(input.size(), limits_.max_line);
  const std::size_t lf = input.substr(0, discarding_ ? input.size() : window).find('\n');

  if (discarding_) {
    // The rest of an overlong line: drop it and answer once at its end.
    if (lf == std::string_view::npos) {
      ParseResult r;
      r.consumed = input.size();
      return r;
    }
    discarding_ = false;
    ParseResult r = errorResult(500, "5.5.2", "Line too long");
    r.consumed = lf + 1;
    return r;
  }

  if (lf == std::string_view::npos) {
    if (input.size() < limits_.max_line) return ParseResult{};  // need more
    // RFC 5321 4.5.3.1.4: 512 octets with the CRLF. Drop what we have and keep
    // dropping until the line ends; nothing of it is buffered.
    auto end = input.find('\n', window);
    if (end != std::string_view::npos) {
      ParseResult r = errorResult(500, "5.5.2", "Line too long");
      r.consumed = end + 1;
      return r;
    }
    discarding_ = true;
    ParseResult r;
    r.consumed = input.size();
    return r;
  }

  ParseResult r;
  if (lf == 0 || input[lf - 1] != '\r') {
    // RFC 5321 2.3.8: lines end in CRLF; a bare LF is refused, not guessed at.
    r = errorResult(500, "5.5.2", "Syntax error: bare LF; lines must end in CRLF");
  } else {
    r = parseLine(input.substr(0, lf - 1));
  }
  r.consumed = lf + 1;
  return r;
}

}  // namespace rampart::server::lmtp
