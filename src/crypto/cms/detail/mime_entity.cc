#include "crypto/cms/detail/mime_entity.h"

#include <vector>

#include "core/ascii.h"
#include "core/base64.h"

namespace rampart::crypto::cms::detail {

namespace {

constexpr std::size_t kMaxHeaderFields = 1000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The header fields of a block, each with its continuation lines, CRLF kept.
std::vector<std::string_view> fields(std::string_view headers) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t start = pos;
    std::size_t end;
    do {
      end = headers.find("\r\n", pos);
      if (end == std::string_view::npos) {
        end = headers.size();
        pos = end;
        break;
      }
      pos = end + 2;
    } while (pos < headers.size() && (headers[pos] == ' ' || headers[pos] == '\t'));
    std::string_view field = headers.substr(start, pos - start);
    if (trim(field).empty()) break;  // the empty line ends the block
    out.push_back(field);
    if (out.size() > kMaxHeaderFields) break;
  }
  return out;
}

std::string_view fieldName(std::string_view field) {
  std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return {};
  return trim(field.substr(0, colon));
}

std::string unfold(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  return std::string(trim(out));
}

}  // namespace

std::string toCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::pair<std::string_view, std::string_view> headersAndBody(std::string_view entity) {
  if (entity.substr(0, 2) == "\r\n") return {entity.substr(0, 2), entity.substr(2)};
  std::size_t end = entity.find("\r\n\r\n");
  if (end == std::string_view::npos) return {entity, {}};
  return {entity.substr(0, end + 4), entity.substr(end + 4)};
}

Result<SplitMessage> splitMessage(std::string_view message) {
  if (message.size() > kMaxMessageBytes) return fail(Errc::limit_exceeded, "message over 64 MiB");
  std::size_t header_end;
  std::size_t body_start;
  if (message.substr(0, 2) == "\r\n") {
    header_end = 0;
    body_start = 2;
  } else {
    std::size_t blank = message.find("\r\n\r\n");
    if (blank == std::string_view::npos) {
      // Headers only (no body): the whole text is the header block.
      header_end = message.size();
      body_start = message.size();
    } else {
      header_end = blank + 2;
      body_start = blank + 4;
    }
  }
  std::string_view headers = message.substr(0, header_end);
  auto list = fields(headers);
  if (list.size() > kMaxHeaderFields) return fail(Errc::limit_exceeded, "over 1000 header fields");
  SplitMessage out;
  std::string content;
  for (std::string_view field : list) {
    std::string_view name = fieldName(field);
    if (name.empty() || name.find(' ') != std::string_view::npos) {
      return fail(Errc::parse_error, "a header line that is no field");
    }
    std::string f(field);
    if (f.size() < 2 || f.compare(f.size() - 2, 2, "\r\n") != 0) f += "\r\n";
    if (startsWithIgnoreCase(name, "Content-")) {
      if (equalsIgnoreCase(name, "Content-Type")) out.has_content_type = true;
      content += f;
    } else {
      out.outer += f;
    }
  }
  out.entity = content + "\r\n" + std::string(message.substr(body_start));
  return out;
}

std::optional<std::string> headerValue(std::string_view headers, std::string_view name) {
  for (std::string_view field : fields(headers)) {
    if (equalsIgnoreCase(fieldName(field), name)) return unfold(field.substr(field.find(':') + 1));
  }
  return std::nullopt;
}

ContentType parseContentType(std::string_view value) {
  ContentType out;
  std::size_t semi = value.find(';');
  out.type = lower(trim(value.substr(0, semi)));
  std::size_t pos = semi == std::string_view::npos ? value.size() : semi + 1;
  for (int count = 0; pos < value.size() && count < 64; ++count) {
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t' || value[pos] == ';'))
      ++pos;
    std::size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) break;
    std::string name = lower(trim(value.substr(pos, eq - pos)));
    pos = eq + 1;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    std::string val;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      while (pos < value.size() && value[pos] != '"') {
        if (value[pos] == '\\' && pos + 1 < value.size()) ++pos;
        val += value[pos++];
      }
      ++pos;  // closing quote
    } else {
      std::size_t end = value.find(';', pos);
      if (end == std::string_view::npos) end = value.size();
      val = std::string(trim(value.substr(pos, end - pos)));
      pos = end;
    }
    if (!name.empty() && out.params.count(name) == 0)
      out.params.emplace(std::move(name), std::move(val));
  }
  return out;
}

Result<SignedParts> multipartSignedParts(std::string_view body, std::string_view boundary) {
  // RFC 2046 5.1.1: 1 to 70 characters.
  if (boundary.empty() || boundary.size() > 70)
    return fail(Errc::parse_error, "multipart/signed without a usable boundary");
  std::string dash = "--" + std::string(boundary);
  // A delimiter line: at the start of the body or after CRLF, then the
  // boundary, then (for the close) "--", then optional whitespace, CRLF.
  auto findDelimiter = [&](std::size_t from, std::size_t& line_start, std::size_t& next,
                           bool& close) {
    std::size_t pos = from;
    while (true) {
      std::size_t hit;
      if (pos == 0 && body.substr(0, dash.size()) == dash) {
        hit = 0;
      } else {
        std::size_t crlf = body.find("\r\n" + dash, pos == 0 ? 0 : pos - 2);
        if (crlf == std::string_view::npos) return false;
        hit = crlf + 2;
      }
      std::size_t after = hit + dash.size();
      close = body.substr(after, 2) == "--";
      if (close) after += 2;
      std::size_t eol = body.find("\r\n", after);
      std::string_view rest =
          body.substr(after, (eol == std::string_view::npos ? body.size() : eol) - after);
      if (trim(rest).empty()) {
        line_start = hit;
        next = eol == std::string_view::npos ? body.size() : eol + 2;
        return true;
      }
      pos = after;
    }
  };
  std::size_t l1, n1, l2, n2, l3, n3;
  bool c1, c2, c3;
  if (!findDelimiter(0, l1, n1, c1) || c1)
    return fail(Errc::parse_error, "multipart/signed without a first part");
  if (!findDelimiter(n1, l2, n2, c2) || c2)
    return fail(Errc::parse_error, "multipart/signed without a signature part");
  if (!findDelimiter(n2, l3, n3, c3))
    return fail(Errc::parse_error, "multipart/signed without a close delimiter");
  SignedParts out;
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
  if (l2 >= n1 + 2) out.content = body.substr(n1, l2 - 2 - n1);
  out.signature = body.substr(n2, l3 >= n2 + 2 ? l3 - 2 - n2 : 0);
  return out;
}

std::string sevenBitSafe(std::string_view entity) {
  auto [headers, body] = headersAndBody(entity);
  bool safe = true;
  std::size_t line = 0;
  for (char c : body) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u == 0) safe = false;
    line = c == '\n' ? 0 : line + 1;
    if (line > 998) safe = false;
  }
  if (safe) return std::string(entity);
  auto ct = parseContentType(headerValue(headers, "Content-Type").value_or("text/plain"));
  if (startsWithIgnoreCase(ct.type, "multipart/") || startsWithIgnoreCase(ct.type, "message/")) {
    return std::string(entity);
  }
  auto cte = headerValue(headers, "Content-Transfer-Encoding");
  if (cte && (equalsIgnoreCase(*cte, "base64") || equalsIgnoreCase(*cte, "quoted-printable"))) {
    return std::string(entity);
  }
  std::string out;
  for (std::string_view field : fields(headers)) {
    if (equalsIgnoreCase(fieldName(field), "Content-Transfer-Encoding")) continue;
    out += field;
  }
  out += "Content-Transfer-Encoding: base64\r\n\r\n";
  out += base64Encode(body, 76);  // RFC 2045 6.8: lines of 76
  return out;
}

std::string fromAddress(std::string_view headers) {
  auto value = headerValue(headers, "From");
  if (!value) return {};
  std::string_view v = *value;
  std::size_t lt = v.rfind('<');
  if (lt != std::string_view::npos) {
    std::size_t gt = v.find('>', lt);
    if (gt != std::string_view::npos) return lower(trim(v.substr(lt + 1, gt - lt - 1)));
  }
  // A bare addr-spec, perhaps with a (comment) or a list: take the first word with '@'.
  std::size_t comma = v.find(',');
  v = trim(v.substr(0, comma));
  std::size_t paren = v.find('(');
  return lower(trim(v.substr(0, paren)));
}

}  // namespace rampart::crypto::cms::detail
