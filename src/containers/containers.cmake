# Streams and containers (cuda_stream, cuda_stream_pool, device_buffer); device_uvector and
# device_scalar are header-only templates over device_buffer.
target_sources(gpumem PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cuda_stream.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_stream_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/device_buffer.cpp)
