# Turns the program list in kernels/programs.cmake into sources of the library:
#  - one generated C file per kernel file, holding it as a byte array (cmake/embed.cmake),
#  - relucl_programs.h, the program ids, and relucl_programs.c, the table of their parts.
# relucl_add_programs(<out_var>) appends the generated sources to <out_var> and puts their
# folder in RELUCL_PROGRAMS_INCLUDE_DIR. Call it from the directory of the target that
# compiles them.
include(${PROJECT_SOURCE_DIR}/kernels/programs.cmake)

function(relucl__embed file out_var)
  get_filename_component(stem ${file} NAME_WE)
  set(src ${PROJECT_SOURCE_DIR}/kernels/${file})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/generated/kernel_${stem}.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DSOURCE=${src} -DOUTPUT=${out} -DNAME=${stem}
            -DLINE_NAME=kernels/${file} -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${src} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding kernels/${file}"
    VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

function(relucl_add_programs out_var)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/generated)
  file(MAKE_DIRECTORY ${gen})
  set(files constants.h)
  set(ids "")
  set(table "")
  set(max_parts 0)
  foreach(entry IN LISTS RELUCL_PROGRAMS)
    string(REGEX REPLACE " +" ";" words "${entry}")
    list(POP_FRONT words id)
    string(TOLOWER ${id} name)
    set(parts constants.h ${words})
    list(LENGTH parts count)
    if(count GREATER max_parts)
      set(max_parts ${count})
    endif()
    set(texts "")
    set(sizes "")
    foreach(part IN LISTS parts)
      list(APPEND files ${part})
      get_filename_component(stem ${part} NAME_WE)
      string(APPEND texts "relucl__kernel_${stem}, ")
      string(APPEND sizes "&relucl__kernel_${stem}_size, ")
    endforeach()
    string(APPEND ids "    RELUCL_PROGRAM_${id},\n")
    string(APPEND table "    [RELUCL_PROGRAM_${id}] = {\"${name}\", ${count}, {${texts}}, {${sizes}}},\n")
  endforeach()
  list(REMOVE_DUPLICATES files)

  set(declarations "")
  set(sources "")
  foreach(file IN LISTS files)
    relucl__embed(${file} out)
    list(APPEND sources ${out})
    get_filename_component(stem ${file} NAME_WE)
    string(APPEND declarations "extern const unsigned char relucl__kernel_${stem}[];\n"
                               "extern const size_t relucl__kernel_${stem}_size;\n")
  endforeach()

  set(note "/* Generated from kernels/programs.cmake by cmake/programs.cmake; do not edit. */\n")
  file(WRITE ${gen}/relucl_programs.h.new
    "${note}#ifndef RELUCL_PROGRAMS_H\n#define RELUCL_PROGRAMS_H\n\n#include <stddef.h>\n\n"
    "typedef enum relucl__program_id {\n${ids}    RELUCL_PROGRAM_COUNT\n} relucl__program_id;\n\n"
    "#define RELUCL__PROGRAM_MAX_PARTS ${max_parts}\n\n"
    "/* A program's name and its source files, in build order. */\n"
    "typedef struct relucl__program_source {\n    const char *name;\n    unsigned parts;\n"
    "    const unsigned char *text[RELUCL__PROGRAM_MAX_PARTS];\n"
    "    const size_t *size[RELUCL__PROGRAM_MAX_PARTS];\n} relucl__program_source;\n\n"
    "extern const relucl__program_source relucl__programs[RELUCL_PROGRAM_COUNT];\n\n"
    "#endif\n")
  file(WRITE ${gen}/relucl_programs.c.new
    "${note}#include \"relucl_programs.h\"\n\n${declarations}\n"
    "const relucl__program_source relucl__programs[RELUCL_PROGRAM_COUNT] = {\n${table}};\n")
  foreach(f relucl_programs.h relucl_programs.c)
    configure_file(${gen}/${f}.new ${gen}/${f} COPYONLY) # rewritten only when it changes
  endforeach()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PROJECT_SOURCE_DIR}/kernels/programs.cmake)
  set(${out_var} ${${out_var}} ${sources} ${gen}/relucl_programs.c PARENT_SCOPE)
  set(RELUCL_PROGRAMS_INCLUDE_DIR ${gen} PARENT_SCOPE)
endfunction()
