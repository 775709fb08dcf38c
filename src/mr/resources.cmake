# Device and host resources backed by CUDA or the C++ runtime: added by the resources work.
