// One LMTP connection (RFC 2033): greeting, LHLO, transactions, per-recipient
// replies after DATA, on an Asio coroutine over beast::tcp_stream.
//
// Flow: the parser (command_parser.h) turns buffered bytes into commands; all
// complete commands in the buffer are handled and their replies sent in one
// write (PIPELINING, RFC 2920 3.1). DATA switches to the DataReader
// (data_reader.h) until the terminator; the message then goes through
// LocalDelivery to the store, and each accepted recipient gets its own reply
// (RFC 2033 4.2) only after the store reports the commit durable.
//
// Deadlines (LmtpConfig): command_timeout from the start of each command line
// to its CRLF, and for each write; during DATA, data_timeout between chunks
// and data_total_timeout for the whole transfer. A deadline closes the
// connection without a reply (the socket is already gone).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/asio.h"
#include "server/delivery.h"
#include "server/lmtp/command_parser.h"

namespace rampart::server::lmtp {

struct SessionOptions {
  std::string hostname = "localhost";
  std::uint64_t max_message_size = 35ull * 1024 * 1024;
  std::size_t max_recipients = 1000;
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_total_timeout{std::chrono::minutes(30)};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `socket` must be bound to a strand (or a single-threaded executor): the
  // session's coroutine and shutdown()/abort() run on it.
  Session(net::tcp::socket socket, std::shared_ptr<LocalDelivery> delivery,
          std::shared_ptr<const SessionOptions> options);

  // Runs the conversation to its end (QUIT, peer close, deadline, abort).
  net::Task<void> run();

  // Thread-safe. shutdown(): a DATA transfer or store commit under way runs
  // to its replies; a session waiting for a command answers "421 4.3.2" and
  // closes (RFC 5321 3.8; the client retries what it had not sent). abort():
  // close now (a delivery already handed to the store still completes there,
  // unacknowledged).
  void shutdown();
  void abort();

 private:
  struct Recipient {
    std::string address;
    std::string user;
  };

  net::Task<bool> flush();
  net::Task<void> handle(const Command& command);
  net::Task<void> handleData();
  void handleLhlo(const Command& command);
  void handleMail(const Command& command);
  void handleRcpt(const Command& command);
  void reply(int code, std::string_view enhanced, std::string_view text);
  void resetTransaction();
  std::string receivedHeader() const;

  net::beast::tcp_stream stream_;
  std::shared_ptr<LocalDelivery> delivery_;
  std::shared_ptr<const SessionOptions> options_;
  CommandParser parser_;
  std::string peer_;

  std::string in_;   // received, not yet parsed
  std::string out_;  // replies not yet written
  std::array<char, 64 * 1024> chunk_{};

  bool closing_ = false;   // QUIT answered, peer gone or a fatal error
  bool stopping_ = false;  // shutdown() was called
  bool idle_ = false;      // waiting for the next command (safe to interrupt)
  std::string lhlo_domain_;  // empty until LHLO
  bool in_transaction_ = false;
  std::string sender_;
  std::vector<Recipient> recipients_;
  std::string transaction_id_;
};

}  // namespace rampart::server::lmtp
