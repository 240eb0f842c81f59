// A real OpenLDAP slapd for tests: its own config, database and loopback
// port in a temporary directory, loaded with slapadd before it starts, killed
// when the object goes. Needs /usr/sbin/slapd (Debian package slapd).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace rampart::testing {

class Slapd {
 public:
  static constexpr const char* kBinary = "/usr/sbin/slapd";
  static constexpr const char* kSuffix = "dc=example,dc=org";
  static constexpr const char* kRootDn = "cn=admin,dc=example,dc=org";
  static constexpr const char* kRootPw = "root-secret";

  static bool available() {
    return access(kBinary, X_OK) == 0 &&
           std::filesystem::exists("/etc/ldap/schema/inetorgperson.schema");
  }

  // Writes slapd.conf (with TLS when cert_file is set: StartTLS on the
  // ldap:// port, and an ldaps:// port) and loads `ldif`.
  // Returns false (with why()) when slapadd fails.
  bool init(const std::string& ldif, const std::string& cert_file = {},
            const std::string& key_file = {}) {
    port_ = freePort();
    if (!cert_file.empty()) tls_port_ = freePort();
    std::filesystem::create_directories(dir_.path() / "db");
    std::ofstream conf(dir_.file("slapd.conf"));
    conf << "include /etc/ldap/schema/core.schema\n"
         << "include /etc/ldap/schema/cosine.schema\n"
         << "include /etc/ldap/schema/inetorgperson.schema\n"
         << "pidfile " << dir_.file("slapd.pid") << "\n"
         << "modulepath /usr/lib/ldap\n"
         << "moduleload back_mdb\n";
    if (!cert_file.empty()) {
      conf << "TLSCertificateFile " << cert_file << "\n"
           << "TLSCertificateKeyFile " << key_file << "\n";
    }
    conf << "database mdb\n"
         << "maxsize 10485760\n"
         << "suffix \"" << kSuffix << "\"\n"
         << "rootdn \"" << kRootDn << "\"\n"
         << "rootpw " << kRootPw << "\n"
         << "directory " << (dir_.path() / "db").string()
         << "\n"
         // Passwords are only for binding; only bound users may search.
         << "access to attrs=userPassword by anonymous auth by * none\n"
         << "access to * by users read by * none\n";
    conf.close();
    std::ofstream(dir_.file("data.ldif")) << ldif;
    int rc = runAndWait(
        {kBinary, "-T", "add", "-f", dir_.file("slapd.conf"), "-l", dir_.file("data.ldif")});
    if (rc != 0) {
      why_ = "slapadd failed: " + readFile(dir_.file("slapadd.log"));
      return false;
    }
    return true;
  }

  // Starts slapd in the foreground (-d 0) and waits until it accepts.
  bool start() {
    std::string url = "ldap://127.0.0.1:" + std::to_string(port_) + "/";
    if (tls_port_ != 0) url += " ldaps://127.0.0.1:" + std::to_string(tls_port_) + "/";
    pid_ = spawn({kBinary, "-f", dir_.file("slapd.conf"), "-h", url, "-d", "0"},
                 dir_.file("slapd.log"));
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      if (accepts()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    why_ = "slapd did not start: " + readFile(dir_.file("slapd.log"));
    return false;
  }

  // SIGKILL, as a crash would; waits until the port is closed.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGSTOP, returning once every thread of slapd has stopped (the signal is
  // delivered asynchronously): the kernel still accepts connections and
  // queues requests, but nothing answers.
  void pause() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGSTOP);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!allThreadsStopped() && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
  }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  ~Slapd() {
    resume();
    kill();
  }

  int port() const { return port_; }
  std::string uri() const { return "ldap://127.0.0.1:" + std::to_string(port_); }
  std::string ldapsUri() const { return "ldaps://127.0.0.1:" + std::to_string(tls_port_); }
  const std::string& why() const { return why_; }
  const TempDir& dir() const { return dir_; }

 private:
  static int freePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  bool accepts() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }

  bool allThreadsStopped() const {
    std::error_code ec;
    auto tasks = std::filesystem::path("/proc") / std::to_string(pid_) / "task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      // /proc/PID/task/TID/stat: "tid (comm) S ...", S being the state.
      std::string stat = readFile((task.path() / "stat").string());
      size_t paren = stat.rfind(')');
      if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
      char state = stat[paren + 2];
      if (state != 'T' && state != 't') return false;
    }
    return !ec;
  }

  static pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  int runAndWait(const std::vector<std::string>& args) {
    pid_t pid = spawn(args, dir_.file("slapadd.log"));
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir dir_{"rampart-slapd"};
  int port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = -1;
  std::string why_;
};

}  // namespace rampart::testing
