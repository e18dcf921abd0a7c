"""The .profils file (users and profiles): reading, writing and the fast path's faults."""
