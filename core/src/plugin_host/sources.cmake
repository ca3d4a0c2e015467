# The plugin host: discovery and loading, the services table given to plugins, frozen ABI layouts, the HTTP and secret services.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/plugin_host/abi_layout.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/plugin_host/host.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/plugin_host/http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/plugin_host/loader.c
)
