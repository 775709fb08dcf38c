#pragma once
// The types of a graph's nodes, for tests that check what a stream capture recorded.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace gpumem::test {

/**
 * @brief The types of `graph`'s nodes, sorted (CUDA promises no order); a failed query is a
 * test failure and leaves the list short.
 */
inline std::vector<cudaGraphNodeType> graph_node_types(cudaGraph_t graph) {
  std::size_t count = 0;
  EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &count), cudaSuccess);
  std::vector<cudaGraphNode_t> nodes(count);
  EXPECT_EQ(cudaGraphGetNodes(graph, nodes.data(), &count), cudaSuccess);
  nodes.resize(count);
  std::vector<cudaGraphNodeType> types;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type{};
    if (cudaGraphNodeGetType(node, &type) == cudaSuccess)
      types.push_back(type);
    else
      ADD_FAILURE() << "cudaGraphNodeGetType refused a node of the graph";
  }
  std::ranges::sort(types);
  return types;
}

}  // namespace gpumem::test
