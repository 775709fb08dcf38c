// The one instantiation of CCCL's equality function for references to a device_memory_resource
// (see the end of gpumem/mr/device_memory_resource.hpp): references made anywhere to the same
// resource compare equal.

#include "gpumem/mr/device_memory_resource.hpp"

#if !defined(CCCL_MAJOR_VERSION) || CCCL_MAJOR_VERSION != 3
#error \
    "gpumem: check that resource references still compare through _Resource_vtable_builder::_Equal"
#endif

template GPUMEM_EXPORT bool
cuda::mr::_Resource_vtable_builder::_Equal<gpumem::mr::device_memory_resource>(void*, void*);
