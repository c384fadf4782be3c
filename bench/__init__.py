"""lamina's benchmark against buildah: ``python3 bench/run.py`` regenerates docs/BENCHMARKS.md."""
