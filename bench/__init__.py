"""Side-by-side benchmarks of trove_dist against peers on the same machine, in the same run.

The machine is shared and noisy, so no figure is judged on its own: each measurement pairs our
figure with a peer's (or a hardware limit), both measured in one run with interleaved repeats,
and the verdict is on their ratio.  ``python -m bench --help`` for usage; ``bench/RESULTS.md``
for the latest figures.
"""
