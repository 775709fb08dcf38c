# Allocators and Thrust integration: their headers are templates; the prefetch helper is
# compiled here.
target_sources(gpumem PRIVATE ${CMAKE_CURRENT_LIST_DIR}/prefetch.cpp)
