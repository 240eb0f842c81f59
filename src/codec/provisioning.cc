#include "codec/provisioning.h"
#include "codec/xml_text.h"

#include <expat.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

namespace rampart::codec {

namespace {

constexpr std::size_t kMaxElements = 4096;        // every element, known or not
constexpr std::size_t kMaxAttributeValue = 2048;  // URLs, names

// ---- writing ----

void element(std::string& out, std::string_view indent, std::string_view name,
             std::string_view text) {
  out += indent;
  out += '<';
  out += name;
  out += '>';
  appendXmlEscaped(out, text);
  out += "</";
  out += name;
  out += ">\n";
}

// ---- parsing ----

enum class Where { other, root, organization, eas, est, template_, description, root_pem };

bool isToken(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool isHttpsUrl(std::string_view url) {
  if (!url.starts_with("https://") || url.size() <= 8) return false;
  return std::none_of(url.begin(), url.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::strchr(" \t\r\n", s.front())) s.remove_prefix(1);
  while (!s.empty() && std::strchr(" \t\r\n", s.back())) s.remove_suffix(1);
  return s;
}

struct Parser {
  XML_Parser xml = nullptr;
  ProvisioningDoc doc;
  std::optional<Error> error;
  std::vector<Where> stack;
  std::size_t elements = 0;
  bool saw_est = false;
  bool saw_eas = false;
  bool saw_organization = false;
  std::string text;  // of the innermost text-collecting element

  void stop(Errc code, std::string detail) {
    if (!error) error = Error{make_error_code(code), "provisioning: " + std::move(detail)};
    XML_StopParser(xml, XML_FALSE);
  }

  // Splits expat's "namespace|local" name; nullopt when not ours.
  static std::optional<std::string_view> ours(const XML_Char* name) {
    std::string_view n(name);
    auto bar = n.find('|');
    if (bar == std::string_view::npos || n.substr(0, bar) != kProvisioningNamespace)
      return std::nullopt;
    return n.substr(bar + 1);
  }

  std::optional<std::string> attribute(const XML_Char** attrs, std::string_view want) {
    for (std::size_t i = 0; attrs[i] && attrs[i + 1]; i += 2) {
      // Unprefixed attributes carry no namespace (Namespaces in XML 6.3).
      if (std::string_view(attrs[i]) == want) {
        std::string_view v(attrs[i + 1]);
        if (v.size() > kMaxAttributeValue) {
          stop(Errc::limit_exceeded, "attribute " + std::string(want) + " is too long");
          return std::nullopt;
        }
        return std::string(v);
      }
    }
    return std::nullopt;
  }

  void start(const XML_Char* name, const XML_Char** attrs) {
    if (error) return;
    if (++elements > kMaxElements) return stop(Errc::limit_exceeded, "too many elements");
    if (stack.size() >= kMaxProvisioningDepth) return stop(Errc::limit_exceeded, "nested too deep");
    auto local = ours(name);
    Where parent = stack.empty() ? Where::other : stack.back();
    Where here = Where::other;
    if (stack.empty()) {
      if (!local || *local != "provisioning") {
        return stop(Errc::parse_error, "the root element is not <provisioning xmlns=\"" +
                                           std::string(kProvisioningNamespace) + "\">");
      }
      here = Where::root;
    } else if (local && parent == Where::root) {
      if (*local == "organization") {
        if (saw_organization) return stop(Errc::invalid_argument, "two <organization> elements");
        saw_organization = true;
        here = Where::organization;
        text.clear();
      } else if (*local == "eas" || *local == "est") {
        bool est = *local == "est";
        bool& seen = est ? saw_est : saw_eas;
        if (seen) return stop(Errc::invalid_argument, "two <" + std::string(*local) + "> elements");
        seen = true;
        auto url = attribute(attrs, "url");
        if (error) return;
        if (!url || !isHttpsUrl(*url)) {
          return stop(Errc::invalid_argument,
                      "<" + std::string(*local) + "> needs a url=\"https://...\"");
        }
        (est ? doc.est_url : doc.eas_url) = *url;
        here = est ? Where::est : Where::eas;
      } else if (*local == "template") {
        if (doc.templates.size() >= kMaxProvisioningTemplates)
          return stop(Errc::limit_exceeded, "too many templates");
        ProvisioningTemplate t;
        auto n = attribute(attrs, "name");
        auto kind = attribute(attrs, "kind");
        auto key = attribute(attrs, "key-type");
        if (error) return;
        if (!n || !isToken(*n, 64)) return stop(Errc::invalid_argument, "a template needs a name");
        if (kind && !isToken(*kind, 64)) return stop(Errc::invalid_argument, "bad template kind");
        if (key && !isToken(*key, 64)) return stop(Errc::invalid_argument, "bad template key-type");
        t.name = *n;
        t.kind = kind.value_or("");
        t.key_type = key.value_or("");
        doc.templates.push_back(std::move(t));
        here = Where::template_;
      } else if (*local == "root") {
        if (doc.root_pems.size() >= kMaxProvisioningRoots)
          return stop(Errc::limit_exceeded, "too many roots");
        here = Where::root_pem;
        text.clear();
      }
    } else if (local && parent == Where::template_ && *local == "description") {
      here = Where::description;
      text.clear();
    }
    stack.push_back(here);
  }

  void end() {
    if (error || stack.empty()) return;
    Where here = stack.back();
    stack.pop_back();
    switch (here) {
      case Where::organization:
        doc.organization = std::string(trim(text));
        break;
      case Where::description:
        doc.templates.back().description = std::string(trim(text));
        break;
      case Where::root_pem: {
        std::string_view pem = trim(text);
        if (!pem.starts_with("-----BEGIN CERTIFICATE-----") ||
            !pem.ends_with("-----END CERTIFICATE-----") ||
            pem.find("-----BEGIN", 1) != std::string_view::npos) {
          return stop(Errc::invalid_argument, "a <root> is not one PEM certificate");
        }
        doc.root_pems.emplace_back(pem);
        break;
      }
      default:
        break;
    }
  }

  void characters(const XML_Char* s, int len) {
    if (error || stack.empty()) return;
    Where here = stack.back();
    if (here != Where::organization && here != Where::description && here != Where::root_pem)
      return;
    if (text.size() + static_cast<std::size_t>(len) > kMaxProvisioningText)
      return stop(Errc::limit_exceeded, "an element's text is too long");
    text.append(s, static_cast<std::size_t>(len));
  }
};

void XMLCALL onStart(void* data, const XML_Char* name, const XML_Char** attrs) {
  static_cast<Parser*>(data)->start(name, attrs);
}
void XMLCALL onEnd(void* data, const XML_Char*) { static_cast<Parser*>(data)->end(); }
void XMLCALL onText(void* data, const XML_Char* s, int len) {
  static_cast<Parser*>(data)->characters(s, len);
}
// Any DOCTYPE is refused, so no entity can be declared (no XXE, no entity
// expansion bombs); the entity handler is a second lock.
void XMLCALL onDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<Parser*>(data)->stop(Errc::parse_error, "a DOCTYPE is not allowed");
}
void XMLCALL onEntity(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                      const XML_Char*, const XML_Char*, const XML_Char*) {
  static_cast<Parser*>(data)->stop(Errc::parse_error, "entity declarations are not allowed");
}

struct ParserFree {
  void operator()(XML_Parser p) const noexcept { XML_ParserFree(p); }
};

}  // namespace

std::string writeProvisioning(const ProvisioningDoc& doc) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<provisioning xmlns=\"";
  out += kProvisioningNamespace;
  out += "\">\n";
  if (!doc.organization.empty()) element(out, "  ", "organization", doc.organization);
  auto url = [&out](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    out += "  <";
    out += name;
    out += " url=\"";
    appendXmlEscaped(out, value, true);
    out += "\"/>\n";
  };
  url("eas", doc.eas_url);
  url("est", doc.est_url);
  for (const auto& t : doc.templates) {
    out += "  <template name=\"";
    appendXmlEscaped(out, t.name, true);
    out += '"';
    if (!t.kind.empty()) {
      out += " kind=\"";
      appendXmlEscaped(out, t.kind, true);
      out += '"';
    }
    if (!t.key_type.empty()) {
      out += " key-type=\"";
      appendXmlEscaped(out, t.key_type, true);
      out += '"';
    }
    if (t.description.empty()) {
      out += "/>\n";
    } else {
      out += ">\n";
      element(out, "    ", "description", t.description);
      out += "  </template>\n";
    }
  }
  for (const auto& pem : doc.root_pems) {
    std::string_view p = pem;
    while (!p.empty() && p.back() == '\n') p.remove_suffix(1);
    out += "  <root>\n";
    appendXmlEscaped(out, p);
    out += "\n  </root>\n";
  }
  out += "</provisioning>\n";
  return out;
}

Result<ProvisioningDoc> parseProvisioning(std::string_view xml) {
  if (xml.size() > kMaxProvisioningBytes)
    return fail(Errc::limit_exceeded, "provisioning: the document is over 1 MiB");
  std::unique_ptr<XML_ParserStruct, ParserFree> owner(XML_ParserCreateNS(nullptr, '|'));
  if (!owner) return fail(Errc::internal, "provisioning: cannot create an XML parser");
  Parser p;
  p.xml = owner.get();
  XML_SetUserData(p.xml, &p);
  XML_SetElementHandler(p.xml, onStart, onEnd);
  XML_SetCharacterDataHandler(p.xml, onText);
  XML_SetStartDoctypeDeclHandler(p.xml, onDoctype);
  XML_SetEntityDeclHandler(p.xml, onEntity);
  XML_SetParamEntityParsing(p.xml, XML_PARAM_ENTITY_PARSING_NEVER);
  auto status = XML_Parse(p.xml, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (p.error) return fail(*p.error);
  if (status != XML_STATUS_OK) {
    return fail(Errc::parse_error, "provisioning: line " +
                                       std::to_string(XML_GetCurrentLineNumber(p.xml)) + ": " +
                                       XML_ErrorString(XML_GetErrorCode(p.xml)));
  }
  if (!p.saw_est) return fail(Errc::invalid_argument, "provisioning: no <est url=...>");
  return std::move(p.doc);
}

}  // namespace rampart::codec
