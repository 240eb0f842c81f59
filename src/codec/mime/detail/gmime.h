// GLib/GMime ownership and initialisation shared by the MIME codec's files
// (summary, body, part content, compose). Internal to src/codec/mime.
#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <mutex>
#include <string>

namespace rampart::mime::detail {

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
// A GObject reference released when the pointer goes.
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

// Copies a g_malloc'ed string and frees it; empty for null.
inline std::string take(char* s) {
  std::unique_ptr<char, GFree> owned(s);
  return owned ? std::string(owned.get()) : std::string();
}

// g_mime_init() once per process, whichever file gets there first.
inline void initGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace rampart::mime::detail
