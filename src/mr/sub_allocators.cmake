# Sub-allocators built on the stream-ordered free lists: fixed-size blocks, and size bins.
target_sources(gpumem PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/binning_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fixed_size_memory_resource.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sanitizer_annotations.cpp)
