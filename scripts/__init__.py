"""Maintenance scripts, run from the repository root; a package so that benchmarks/gpu_suite.py imports
pack_for_device."""
