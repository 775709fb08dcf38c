# Resource adaptors: added by the adaptors work. Each adaptor's algorithm is compiled here; its
# public header is a thin class template over it (see the conventions' class-template shell).
target_sources(gpumem PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/statistics_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/logging_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tracking_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/limiting_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/aligned_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/failure_callback_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/thread_safe_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/prefetch_resource_adaptor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/callback_memory_resource.cpp)
