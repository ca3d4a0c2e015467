# Generates corral.conf(5): TEMPLATE with @PLUGIN_SECTIONS@ replaced by one
# subsection per plugin built in PLUGIN_DIR, from `corral plugins --json`.
#
#   cmake -DCORRAL=<corral binary> -DPLUGIN_DIR=<dir> -DTEMPLATE=<template>
#         -DOUT=<page> -DWORK=<scratch dir> -P gen-conf-man.cmake
#
# Only plugins whose file lies in PLUGIN_DIR are described (never ones that
# happen to be installed on the build machine), in a fixed order, and no path
# or date is written: the page is the same wherever and whenever it is built.
foreach(v CORRAL PLUGIN_DIR TEMPLATE OUT WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "gen-conf-man.cmake: -D${v}= is required")
  endif()
endforeach()

# A clean environment: no configuration file or plugin path of the machine
# that builds the page may change it.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/etc ${WORK}/xdg ${WORK}/home ${PLUGIN_DIR})
set(ENV{CORRAL_CONFIG_DIR} ${WORK}/etc)
set(ENV{XDG_CONFIG_HOME} ${WORK}/xdg)
set(ENV{HOME} ${WORK}/home)
unset(ENV{CORRAL_PLUGIN_PATH})
set(ENV{ASAN_OPTIONS} "detect_leaks=0")

execute_process(COMMAND ${CORRAL} --plugin-dir ${PLUGIN_DIR} plugins --json
                OUTPUT_VARIABLE json ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`corral plugins --json` failed (${rc}): ${err}")
endif()

# roff-escape one line of text: backslashes, and a leading . or ' that would
# be read as a request.
function(roff_escape in out)
  string(REPLACE "\\" "\\e" s "${in}")
  string(REPLACE "-" "\\-" s "${s}")
  if(s MATCHES "^[.']")
    set(s "\\&${s}")
  endif()
  set(${out} "${s}" PARENT_SCOPE)
endfunction()

# A sentence: the text with exactly one final period.
function(sentence in out)
  string(REGEX REPLACE "[. ]+$" "" s "${in}")
  set(${out} "${s}." PARENT_SCOPE)
endfunction()

file(REAL_PATH ${PLUGIN_DIR} plugin_dir_real)
string(JSON n LENGTH "${json}")
set(keys "")
if(n GREATER 0)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON status GET "${json}" ${i} status)
    string(JSON path GET "${json}" ${i} path)
    get_filename_component(dir "${path}" DIRECTORY)
    file(REAL_PATH "${dir}" dir)
    if(status STREQUAL "loaded" AND dir STREQUAL plugin_dir_real)
      string(JSON kind GET "${json}" ${i} kind)
      string(JSON name GET "${json}" ${i} name)
      list(APPEND keys "${kind}.${name}=${i}")
    endif()
  endforeach()
endif()
list(SORT keys)
# sandbox plugins first, then agents
set(ordered "")
foreach(k ${keys})
  if(k MATCHES "^sandbox\\.")
    list(APPEND ordered ${k})
  endif()
endforeach()
foreach(k ${keys})
  if(NOT k MATCHES "^sandbox\\.")
    list(APPEND ordered ${k})
  endif()
endforeach()

set(body "")
if(NOT ordered)
  string(APPEND body "No plugin was built with this copy of corral; see each plugin's own\n"
         "documentation, or its schema in\n.BR \"corral plugins \\-\\-json\" .\n")
endif()
foreach(k ${ordered})
  string(REGEX REPLACE "^.*=" "" i "${k}")
  string(JSON kind GET "${json}" ${i} kind)
  string(JSON name GET "${json}" ${i} name)
  string(JSON version GET "${json}" ${i} version)
  string(JSON desc ERROR_VARIABLE e GET "${json}" ${i} description)
  roff_escape("${desc}" desc)
  sentence("${desc}" desc)
  string(APPEND body ".SS \"${kind}.${name}\"\n"
         "Plugin file\n.IR ${kind}_${name}.so ,\nversion ${version}.\n${desc}\n"
         ".TP\n.B enabled\n(bool, default true)\n"
         "Set to false and the plugin is never loaded.\n")
  string(JSON nopt ERROR_VARIABLE e LENGTH "${json}" ${i} options)
  if(e OR nopt EQUAL 0)
    continue()
  endif()
  math(EXPR olast "${nopt} - 1")
  foreach(j RANGE ${olast})
    string(JSON oname GET "${json}" ${i} options ${j} name)
    string(JSON otype GET "${json}" ${i} options ${j} type)
    string(JSON odesc ERROR_VARIABLE e GET "${json}" ${i} options ${j} description)
    string(JSON osecret GET "${json}" ${i} options ${j} secret_env)
    string(JSON oreq GET "${json}" ${i} options ${j} required)
    string(JSON dtype ERROR_VARIABLE e TYPE "${json}" ${i} options ${j} default)
    if(e OR dtype STREQUAL "NULL")
      set(dflt "")
    else()
      # GET yields JSON text for arrays/objects, the bare value otherwise.
      string(JSON dval GET "${json}" ${i} options ${j} default)
      if(dtype STREQUAL "STRING")
        set(dval "\"${dval}\"")
      elseif(dtype STREQUAL "BOOLEAN")
        string(TOLOWER "${dval}" dval)  # CMake says ON/OFF
        if(dval STREQUAL "on")
          set(dval true)
        elseif(dval STREQUAL "off")
          set(dval false)
        endif()
      elseif(dtype STREQUAL "ARRAY")
        string(REGEX REPLACE "[ \t\n]+" " " dval "${dval}")
        string(REPLACE "[ " "[" dval "${dval}")
        string(REPLACE " ]" "]" dval "${dval}")
      endif()
      roff_escape("${dval}" dval)
      set(dflt ", default ${dval}")
    endif()
    roff_escape("${odesc}" odesc)
    sentence("${odesc}" odesc)
    roff_escape("${oname}" oname_r)
    string(APPEND body ".TP\n.B ${oname_r}\n(${otype}${dflt})\n${odesc}\n")
    if(oreq STREQUAL "ON" OR oreq STREQUAL "true")
      string(APPEND body "Required.\n")
    endif()
    if(osecret STREQUAL "ON" OR osecret STREQUAL "true")
      string(APPEND body "The value is the name of an environment variable holding the secret,\n"
             "never the secret itself.\n")
    endif()
  endforeach()
endforeach()

file(READ ${TEMPLATE} template)
string(REPLACE "@PLUGIN_SECTIONS@\n" "${body}" page "${template}")
file(WRITE ${OUT}.tmp "${page}")
file(RENAME ${OUT}.tmp ${OUT})
