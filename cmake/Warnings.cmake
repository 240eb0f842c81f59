# Applied per target through rampart_component(); third-party headers come in as SYSTEM.
function(rampart_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
    # A precompiled header GCC rejects is a silent slow build; -Werror makes it loud.
    $<$<CXX_COMPILER_ID:GNU>:-Winvalid-pch>
    # g++ 12 at -O2 flags Asio's coroutine-frame operator new/delete pair as
    # mismatched (a false positive on awaitable_frame_base's recycling allocator).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
  if(RAMPART_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# rampart_component(NAME SOURCES... DEPS ...) makes the static library rampart_NAME,
# includes rooted at src/.
function(rampart_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(rampart_${name} STATIC ${ARG_SOURCES})
  target_include_directories(rampart_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(rampart_${name} PUBLIC ${ARG_DEPS})
  rampart_warnings(rampart_${name})
  rampart_net_pch(rampart_${name} ${ARG_DEPS})
endfunction()

# One precompiled Asio/Beast header for the whole build. rampart_net makes it;
# every target above net reuses that one file instead of compiling its own copy
# (a PUBLIC header on rampart_net gave each of ~60 targets a private copy: about
# 100 MB and 20 s of CPU apiece under ASan). A target counts as "above net"
# when one of DEPS is rampart_net or another target that does.
function(rampart_net_pch target)
  if(NOT RAMPART_PCH OR target STREQUAL "rampart_net")
    return()
  endif()
  get_property(above_net GLOBAL PROPERTY RAMPART_ABOVE_NET)
  foreach(dep IN LISTS ARGN)
    if(dep STREQUAL "rampart_net" OR dep IN_LIST above_net)
      set_property(GLOBAL APPEND PROPERTY RAMPART_ABOVE_NET ${target})
      target_precompile_headers(${target} REUSE_FROM rampart_net)
      return()
    endif()
  endforeach()
endfunction()
