// Strict HTTP/1.1 request parser for the edge gateway, sans I/O.
//
// Bytes in, a ParsedRequest or an error (with the HTTP status to answer) out,
// or "need more". Every bound is set at construction (ParserLimits). The
// grammar is RFC 9112 sections 2-7 and RFC 9110 5.5/5.6, read strictly:
// where the RFCs let a server either reject or repair, this parser rejects,
// because the gateway re-serialises every request (serializeRequest) and an
// ambiguity it let through could be framed differently by a backend
// (request smuggling). What is refused, and with which status:
//
//   400  bare LF or bare CR anywhere in the head or chunked framing (RFC 9112
//        2.2); more than one empty line before the request-line (2.2);
//        request-line not exactly `method SP request-target SP HTTP-version`
//        (3); method not a token; request-target not origin-form (3.2.1),
//        asterisk-form for anything but OPTIONS (3.2.4), absolute-form unless
//        ParserLimits::allow_absolute_form (3.2.2), authority-form (3.2.3);
//        field name not a token or whitespace before the colon (5.1);
//        obs-fold or whitespace after the request-line (5.2, 2.2); a CTL other
//        than HTAB in a field value (RFC 9110 5.5); HTTP/1.1 without exactly
//        one valid Host, or any request with two Host lines (3.2); a
//        Content-Length that is not 1*DIGIT, overflows, is a list, or appears
//        twice (6.2, 6.3 item 5 - stricter than the RFC's "identical values"
//        allowance); Transfer-Encoding with Content-Length (6.1, 6.3 item 3),
//        in HTTP/1.0 (6.1), twice, empty, with chunked not last or applied
//        twice (6.3 item 4, 7), chunked with parameters (7); chunk-size not
//        1*HEXDIG of at most 16 digits, malformed or over-long chunk-ext
//        (7.1, 7.1.1), anything but CRLF after chunk-data (7.1), a non-empty
//        trailer section (7.1.2: we accept only an empty one); a Connection
//        value that is not a list of tokens (RFC 9110 7.6.1).
//   413  body longer than the body limit (declared Content-Length or the sum
//        of chunk sizes).
//   414  request-line over max_request_line while in the request-target
//        (RFC 9112 3: over-long targets are answered 414).
//   417  an Expect member other than 100-continue (RFC 9110 10.1.1).
//   431  a field line over max_header_line, more than max_headers fields, or
//        a header section over max_header_bytes (RFC 6585 5).
//   501  a transfer coding other than chunked before the final chunked
//        (RFC 9112 6.1: "a transfer coding it does not understand").
//   505  an HTTP-version that is well formed but not HTTP/1.0 or HTTP/1.1
//        (stricter than RFC 9110 2.5, which would treat 1.2 as 1.1).
//
// Every error is a framing error: answer it with `Connection: close` and
// close the connection; the parser stays in the error state until reset().
//
// Use, from a read loop (the parser buffers at most one line internally, so
// the caller always drops what feed() consumed):
//
//   RequestParser parser(limits);
//   for (;;) {
//     auto r = parser.feed(buffer);
//     if (!r) { answer(parser.errorStatus()); close(); }
//     buffer.erase(0, r->first);
//     if (r->second == ParseStatus::headers_done) {   // a body follows
//       parser.setBodyLimit(limitFor(parser.request()));  // optional
//       if (parser.request().expect_continue) send100();
//       continue;                                       // feed the rest
//     }
//     if (r->second == ParseStatus::done) { handle(parser.release()); parser.reset(); continue; }
//     read more into buffer;                            // need_more
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/error.h"

namespace rampart::http {

struct ParserLimits {
  std::size_t max_request_line = 8192;   // octets of the request-line, CRLF excluded (else 414/400)
  std::size_t max_header_line = 8192;    // octets of one field line, CRLF excluded (else 431)
  std::size_t max_header_bytes = 32768;  // the whole header section with its CRLFs (else 431)
  std::size_t max_headers = 64;          // field lines (else 431)
  std::uint64_t max_body = 1 << 20;      // default body limit; setBodyLimit() overrides (else 413)
  std::size_t max_chunk_ext = 256;       // octets of chunk-ext on one chunk-size line (else 400)
  bool allow_absolute_form = false;      // accept "http://host/path" targets (RFC 9112 3.2.2)
};

enum class ParseStatus {
  need_more,     // every byte was consumed; feed more
  headers_done,  // the head is parsed and a body follows; feed again for it
  done,          // a whole request; request()/release(), then reset() for the next
};

struct HeaderField {
  std::string name;   // as received (a validated token)
  std::string value;  // leading and trailing OWS removed (RFC 9112 5)
};

struct ParsedRequest {
  std::string method;  // a token, case as received (methods are case-sensitive, RFC 9110 9.1)
  std::string target;  // origin-form, "*", or (if allowed) absolute-form, as received
  int minor_version = 1;
  std::vector<HeaderField> headers;             // in order received
  std::string body;                             // de-chunked
  bool keep_alive = true;                       // RFC 9112 9.3
  bool chunked_in = false;                      // the body came chunked
  bool expect_continue = false;                 // HTTP/1.1 with Expect: 100-continue
  std::optional<std::uint64_t> content_length;  // as declared
  std::vector<std::string> connection_options;  // Connection tokens, lower-cased

  // The value of the first field named `name` (ASCII case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  // How many field lines are named `name` (ASCII case-insensitive).
  std::size_t count(std::string_view name) const;
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Consumes bytes of `data` (any split, down to one byte at a time) and says
  // how many it took and where the request stands. It stops after the head
  // when a body follows (headers_done, consumed may be < size) and after the
  // end of the request (done, consumed < size when requests are pipelined).
  // In the done state it consumes nothing. Errors: Errc::parse_error (400),
  // Errc::limit_exceeded (413, 414, 431), Errc::protocol_error (417, 501, 505);
  // errorStatus() gives the status. A declared Content-Length over the body
  // limit is refused (413) on the first feed after headers_done, so a
  // setBodyLimit() made at headers_done applies.
  Result<std::pair<std::size_t, ParseStatus>> feed(std::string_view data);

  // Sets the body limit for the current request (reset() restores
  // ParserLimits::max_body).
  void setBodyLimit(std::uint64_t limit) { body_limit_ = limit; }

  // The request parsed so far (complete after done; head complete after headers_done).
  const ParsedRequest& request() const { return req_; }
  // Moves the request out; call reset() before feeding the next one.
  ParsedRequest release();
  // Starts over for the next request on a keep-alive connection.
  void reset();

  // The HTTP status for the last error (400, 413, 414, 417, 431, 501, 505), or 0.
  int errorStatus() const { return error_status_; }
  const ParserLimits& limits() const { return limits_; }

 private:
  enum class State {
    request_line,
    headers,
    body_start,
    body_length,
    chunk_size,
    chunk_data,
    chunk_data_cr,
    chunk_data_lf,
    trailers,
    done,
    error,
  };
  enum class LineResult { incomplete, complete };

  tl::unexpected<Error> failWith(int status, std::string detail);
  Result<LineResult> takeLine(std::string_view data, std::size_t& pos, std::size_t limit,
                              int over_status);
  Status parseRequestLine(std::string_view line);
  Status parseFieldLine(std::string_view line);
  Status finishHead();
  Status parseChunkSize(std::string_view line);
  int overlongRequestLineStatus() const;

  ParserLimits limits_;
  std::uint64_t body_limit_;
  State state_ = State::request_line;
  std::string line_;  // the line being assembled (bounded by the state's line limit)
  bool skipped_empty_line_ = false;
  std::size_t header_bytes_ = 0;
  std::uint64_t remaining_ = 0;  // of the Content-Length body or of the current chunk
  ParsedRequest req_;
  int error_status_ = 0;
  Error error_;
};

// Writes `req` again, canonically, for forwarding to a backend:
// `METHOD SP target SP HTTP/1.1` (the gateway speaks its own version, RFC 9110
// 2.5), then req.headers in order, then extra_headers, then Content-Length
// framing (never chunked; a Content-Length is written when the body is
// non-empty or the request had framing), then the body. Content-Length and
// Transfer-Encoding from req.headers are always dropped (the body is re-framed).
// With drop_hop_by_hop, also dropped: Connection and every field it names
// (but never Host), Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization
// (RFC 9110 7.6.1, 11.7.2), and Expect (the body is sent whole). To strip a
// field such as Authorization, erase it from a copy of req.headers first.
// Errors (Errc::invalid_argument): `target` not origin-form or "*" for
// OPTIONS, a header that is not a valid field line or is Content-Length /
// Transfer-Encoding in extra_headers, no Host in the result, a method that is
// not a token.
Result<std::string> serializeRequest(const ParsedRequest& req, std::string_view target,
                                     const std::vector<HeaderField>& extra_headers,
                                     bool drop_hop_by_hop = true);

// Grammar helpers, exposed for the gateway's rule checks and the tests.
bool isToken(std::string_view s);            // RFC 9110 5.6.2
bool isFieldValue(std::string_view s);       // RFC 9110 5.5, trimmed, no CTL but HTAB
bool isOriginForm(std::string_view target);  // RFC 9112 3.2.1
bool isValidHost(std::string_view host);     // RFC 9110 7.2 (uri-host [":" port])

}  // namespace rampart::http
