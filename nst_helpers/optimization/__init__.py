"""The optimization layer: what is minimized (`objectives`), the one loop every method uses
(`loop`) and its optimizers (`optimizers`), and what a run costs in memory (`memory`).
Depends on canvas and core."""
