/* The static shim binary (built from shim.c by CMake, see CMakeLists.txt),
 * embedded in the plugin so sandbox_docker.so is one self-contained file:
 * create() copies these bytes to /.corral/shim in every container. */
#define DK_STR2(x) #x
#define DK_STR(x) DK_STR2(x)

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".global dk_shim_start\n"
        ".hidden dk_shim_start\n"
        "dk_shim_start:\n"
        ".incbin \"" DK_SHIM_FILE "\"\n"
        ".global dk_shim_end\n"
        ".hidden dk_shim_end\n"
        "dk_shim_end:\n"
        ".previous\n");
