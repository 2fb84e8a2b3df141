# Every target of ours links csp::warnings; third-party headers are included as SYSTEM.
add_library(csp_warnings INTERFACE)
add_library(csp::warnings ALIAS csp_warnings)
target_compile_options(csp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wformat=2
  -Wimplicit-fallthrough)
