# Applied per target through rampart_component(); third-party headers come in as SYSTEM.
function(rampart_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
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
endfunction()
