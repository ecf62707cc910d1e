"""The optimization layer: the one loop every method uses (`loop`) and what a run costs in
memory (`memory`). Depends on canvas and core."""
