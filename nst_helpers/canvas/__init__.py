"""The canvas layer: how the optimized image is represented (`parameterizations`) and how it is
seen on each step (`transforms`, `schedules`). Depends on core only."""
