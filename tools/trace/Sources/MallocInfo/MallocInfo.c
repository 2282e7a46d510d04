// MallocInfo: see include/MallocInfo.h.
#include "MallocInfo.h"
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

size_t outpost_malloc_in_use(void) {
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}
