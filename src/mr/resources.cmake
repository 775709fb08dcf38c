# Device and host resources backed by CUDA or the C++ runtime: added by the resources work.
target_sources(gpumem PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cuda_async_managed_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_async_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/expandable_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_async_view_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/managed_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/new_delete_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pinned_host_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pinned_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sam_headroom_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/system_memory_resource.cpp)
