// The "answered, then kill -9" durability check: what a store or server
// acknowledged must be there when the next process opens the same files.
#pragma once

#include <functional>
#include <string>

namespace rampart::testing {

// Forks; the child runs `work` (opening its own connections: the parent must
// hold none across fork()). When `work` returns 0 the child tells the parent
// and kills itself with SIGKILL at once (no destructor, no checkpoint); any
// other value is its exit status. The parent waits for the child. Returns ""
// when the child reached the kill, else what happened instead.
std::string runThenKill9(const std::function<int()>& work);

}  // namespace rampart::testing
