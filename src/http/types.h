// HTTP message types: Beast's, with string bodies. Handlers see a parsed,
// size-bounded request and return a response; sockets stay in http/server.cc.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace rampart::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Status = bhttp::status;
using Verb = bhttp::verb;
using Field = bhttp::field;

// A response with a plain-text body, Content-Type and Content-Length set.
Response textResponse(const Request& req, Status status, std::string body,
                      std::string_view content_type = "text/plain; charset=utf-8");

}  // namespace rampart::http
