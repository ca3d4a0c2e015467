# Egress policies and the proxy that enforces them (docs/egress.md).
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_log.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_match.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_native.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_policy.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_proxy.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/egress/egress_wire.c
)
