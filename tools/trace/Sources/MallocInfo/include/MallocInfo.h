// MallocInfo: glibc's count of bytes malloc has handed out (mallinfo2), for the memory probe.
// Zero where glibc is not the allocator.
#include <stddef.h>

size_t outpost_malloc_in_use(void);
