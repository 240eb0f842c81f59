#include "testing/kill9.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rampart::testing {

std::string runThenKill9(const std::function<int()>& work) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe() failed";
  pid_t pid = fork();
  if (pid < 0) return "fork() failed";
  if (pid == 0) {
    close(pipefd[0]);
    int status = work();
    if (status != 0) _exit(status);
    char ok = 'k';
    (void)!write(pipefd[1], &ok, 1);
    raise(SIGKILL);
    _exit(6);
  }
  close(pipefd[1]);
  char got = 0;
  bool told = read(pipefd[0], &got, 1) == 1;
  close(pipefd[0]);
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid) return "waitpid() failed";
  if (WIFEXITED(wstatus)) return "the child exited with status " + std::to_string(WEXITSTATUS(wstatus));
  if (!told || !WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL)
    return "the child did not reach its kill -9 (wait status " + std::to_string(wstatus) + ")";
  return "";
}

}  // namespace rampart::testing
