# Turns one OpenCL source file into a C file holding it as a byte array, so the library never
# reads kernel files at run time. Byte lists, not string literals: C caps literals at 4095
# characters under -Wpedantic.
#   cmake -DSOURCE=kernels/x.cl -DOUTPUT=gen/x.c -DNAME=x -DLINE_NAME=kernels/x.cl -P embed.cmake
file(READ "${SOURCE}" text)
set(text "#line 1 \"${LINE_NAME}\"\n${text}")
string(LENGTH "${text}" length)
file(WRITE "${OUTPUT}.tmp" "${text}")
file(READ "${OUTPUT}.tmp" hex HEX)
file(REMOVE "${OUTPUT}.tmp")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
       bytes "${bytes}")
file(WRITE "${OUTPUT}.new"
  "/* Generated from ${LINE_NAME} by cmake/embed.cmake; do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char relucl__kernel_${NAME}[] = {\n${bytes}0x00};\n"
  "const size_t relucl__kernel_${NAME}_size = sizeof relucl__kernel_${NAME} - 1;\n")
file(RENAME "${OUTPUT}.new" "${OUTPUT}")
