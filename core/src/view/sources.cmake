# corral view: one self-contained HTML report of results JSONL (view.c
# assembles the page, view_data.c the data it embeds), over the report
# library.  The page's HTML, CSS and JavaScript are files under assets/,
# embedded at build time by embed.cmake.  See docs/view.md.
set(CORRAL_VIEW_ASSETS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/view/assets/view.html
  ${CMAKE_CURRENT_SOURCE_DIR}/src/view/assets/view.css
  ${CMAKE_CURRENT_SOURCE_DIR}/src/view/assets/view.js)
set(CORRAL_VIEW_ASSETS_C ${CMAKE_BINARY_DIR}/core/view_assets.c)
string(REPLACE ";" "," CORRAL_VIEW_ASSETS_ARG "${CORRAL_VIEW_ASSETS}")
add_custom_command(OUTPUT ${CORRAL_VIEW_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -DASSETS=${CORRAL_VIEW_ASSETS_ARG} -DOUT=${CORRAL_VIEW_ASSETS_C}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/src/view/embed.cmake
  DEPENDS ${CORRAL_VIEW_ASSETS} ${CMAKE_CURRENT_SOURCE_DIR}/src/view/embed.cmake
  VERBATIM
  COMMENT "Embedding corral view's HTML, CSS and JavaScript")
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/view/view.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/view/view_data.c
  ${CORRAL_VIEW_ASSETS_C}
)
